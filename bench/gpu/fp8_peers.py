"""fp8 peers for bench/gpu/fp8.sh, timed like kopt-run --benchmark
(clean_flush.py): torch._scaled_mm (cuBLASLt e4m3, bf16 out) with per-tensor
scales and with row-wise scales, on pre-quantized operands, and the same
with torch's own dynamic per-token quantization of bf16 activations first
(what kopt's linear does); each also with use_fast_accum. With --inputs:
writes the benchmark's inputs and references instead (the product of the
dequantized operands, in f64)."""
import sys
import numpy as np
import torch
from clean_flush import bench

SHAPES = ((4096, 4096), (8192, 8192), (28672, 8192))
ROWS = (1, 16, 128, 512, 2048, 4096, 8192)
dev = 'cuda'
f8 = torch.float8_e4m3fn

if '--inputs' in sys.argv:
    g = torch.Generator(device=dev).manual_seed(8)
    xs = {}
    for k in sorted({k for _, k in SHAPES}):
        for m in ROWS:
            x = torch.randn(m, k, device=dev, generator=g).to(torch.bfloat16)
            xs[m, k] = x
            np.save(f'x{m}_{k}.npy', x.float().cpu().numpy())
    for n, k in SHAPES:
        w = (torch.randn(n, k, device=dev, generator=g) * 100).clamp(-448, 448).to(f8)
        s = (torch.rand(n, 1, device=dev, generator=g) * 1e-3 + 1e-4).to(torch.bfloat16)
        np.save(f'q_{n}x{k}.npy', w.view(torch.uint8).cpu().numpy())
        np.save(f's_{n}x{k}.npy', s.float().cpu().numpy())
        wd = w.double() * s.double()
        for m in ROWS:
            if n == 28672 and m > 2048:
                continue
            # Quantized on the host: on the device, torch's f32 -> e4m3
            # conversion of this expression disagreed with the host's (and
            # kopt's) in the first row.
            x = xs[m, k].float().cpu()
            amax = x.abs().amax(dim=1, keepdim=True)
            sx = torch.where(amax > 0, amax / 448, torch.ones_like(amax))
            xq = ((x / sx).to(f8).double() * sx.double()).to(dev)
            np.save(f'y{m}_{n}x{k}.npy', (xq @ wd.t()).float().cpu().numpy())
    sys.exit(0)

for n, k in SHAPES:
    w = (torch.randn(n, k, device=dev) * 100).clamp(-448, 448).to(f8)
    sw = torch.rand(1, n, device=dev) * 1e-3 + 1e-4
    one = torch.tensor(1.0, device=dev)
    for m in ROWS:
        if n == 28672 and m > 2048:
            continue
        xb = torch.randn(m, k, device=dev).to(torch.bfloat16)
        x = xb.to(f8)
        sx = torch.rand(m, 1, device=dev) + 0.5
        flops = 2 * m * n * k
        t = bench(lambda: torch._scaled_mm(x, w.t(), scale_a=one, scale_b=one,
                                           out_dtype=torch.bfloat16)) * 1e3
        line = f'peer M={m} {n}x{k}: scaled_mm tensor {t:.1f} us ({flops / t / 1e6:.0f} TFLOP/s)'
        tf = bench(lambda: torch._scaled_mm(x, w.t(), scale_a=one, scale_b=one,
                                            out_dtype=torch.bfloat16,
                                            use_fast_accum=True)) * 1e3
        line += f', fast_accum {tf:.1f} us'
        try:
            t2 = bench(lambda: torch._scaled_mm(x, w.t(), scale_a=sx, scale_b=sw,
                                                out_dtype=torch.bfloat16)) * 1e3
            line += f', rowwise {t2:.1f} us'

            def dynamic():
                s = xb.abs().amax(dim=1, keepdim=True).float() / 448
                q = (xb / s).to(f8)
                return torch._scaled_mm(q, w.t(), scale_a=s, scale_b=sw,
                                        out_dtype=torch.bfloat16)
            t3 = bench(dynamic) * 1e3
            line += f', dynamic per-token quant + rowwise {t3:.1f} us'
        except Exception as e:
            line += f' (rowwise failed: {repr(e)[:120]})'
        print(line, flush=True)
