"""cuBLAS bf16 (F.linear) on bench/gpu/dense.sh's shapes and rows, timed
like kopt-run --benchmark (clean_flush.py)."""
import torch
import torch.nn.functional as F
from clean_flush import bench

for n, k in ((2048, 2048), (5632, 2048), (2048, 5632), (8192, 8192), (14336, 4096)):
    w = torch.randn(n, k, dtype=torch.bfloat16, device='cuda') * 0.02
    for m in (16, 64, 128, 512, 2048):
        x = torch.randn(m, k, dtype=torch.bfloat16, device='cuda')
        t = bench(lambda: F.linear(x, w), rep=100) * 1e3
        print(f'peer M={m} {n}x{k}: cublas bf16 {t:.1f} us ({2 * m * n * k / t / 1e6:.0f} TFLOP/s)')
