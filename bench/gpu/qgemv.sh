#!/bin/bash
# The quantized linear's kernels on the GPU (after bench/gpu/prepare_qgemv.sh):
# the qlinear numerics cases, then every tiling of the four shapes checked
# against the default kernel's output (probes only timed) and timed
# (kopt-run --benchmark=100, L2 flushed clean before each run), the peers
# (cuBLAS bf16, tinygemm int4, copy bandwidth) in the same run, and
# compute-sanitizer on streamed cases last. One line per run.
cd "$(dirname "$0")"; R=$PWD/kopt-run
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
source ./numerics.sh
echo "== qlinear numerics (random packed codes, ragged N and K, every token band)"
run_cases "^qlinear"
python3 - <<'PY'
import numpy as np
r = np.random.default_rng(5)
for n, k in ((4096, 4096), (14336, 4096), (8192, 8192), (28672, 8192)):
    np.save(f'q4_{n}x{k}.npy', r.integers(-128, 128, (n // 16, k // 64 * 512), dtype=np.int8))
    np.save(f'q8_{n}x{k}.npy', r.integers(-128, 128, (n // 16, k // 32 * 512), dtype=np.int8))
    np.save(f's4_{n}x{k}.npy', (r.random((n, k // 128)) * 0.01 + 0.001).astype(np.float32))
    np.save(f's8_{n}x{k}.npy', (r.random((n, 1)) * 0.001 + 0.0001).astype(np.float32))
for k in (4096, 8192):
    for m in (1, 16, 64):
        np.save(f'qx{m}_{k}.npy', r.standard_normal((m, k)).astype(np.float32))
PY
for shape in 4096x4096 14336x4096 8192x8192 28672x8192; do
  k=${shape#*x}
  for bits in 4 8; do
    for m in 1 16 64; do
      in="--input=@qx${m}_$k.npy --input=@q${bits}_$shape.npy --input=@s${bits}_$shape.npy"
      $R ql_i${bits}_${shape}_default.ptx $in --output=@ref.npy --quiet >/dev/null 2>&1 || echo "default failed"
      for v in $(cat variants); do
        [ $m = 64 ] && [ $v != default ] && continue
        cmp="--expected_output=@ref.npy --tolerance=3e-2,3e-2"
        case $v in *+1|*+2) cmp=""; [ $m = 1 ] || continue;; esac
        out=$($R ql_i${bits}_${shape}_$v.ptx $in $cmp --benchmark=100 --quiet 2>&1); rc=$?
        echo "kopt int$bits M=$m $shape $v rc=$rc $(echo "$out" | grep -o 'median [0-9.]* ms') $(echo "$out" | grep -o '([0-9]* of [0-9]* elements differ)')"
      done
    done
  done
done
python3 - <<'PY'
import torch, torch.nn.functional as F
from clean_flush import bench as clean
bench = lambda f: clean(f, rep=200) * 1e3
a = torch.empty(2**30, dtype=torch.float16, device='cuda'); b = torch.empty_like(a)
print(f'copy bandwidth {2 * 2**31 / bench(lambda: b.copy_(a)) / 1e6:.2f} TB/s'); del a, b
for n, k in ((4096, 4096), (14336, 4096), (8192, 8192), (28672, 8192)):
    w = torch.randn(n, k, dtype=torch.bfloat16, device='cuda') * 0.02
    packed = torch.ops.aten._convert_weight_to_int4pack(
        torch.randint(0, 16, (n, k // 2), dtype=torch.uint8, device='cuda'), 8)
    sz = torch.randn(k // 128, n, 2, dtype=torch.bfloat16, device='cuda')
    for m in (1, 16, 64):
        x = torch.randn(m, k, dtype=torch.bfloat16, device='cuda')
        t_bf16 = bench(lambda: F.linear(x, w))
        t_tg = bench(lambda: torch.ops.aten._weight_int4pack_mm(x, packed, 128, sz))
        print(f'peer M={m} {n}x{k}: cublas bf16 {t_bf16:.1f} us, tinygemm int4 g128 {t_tg:.1f} us')
PY
echo "== compute-sanitizer on the streamed kernels"
sanitize_cases "^qlinear_(i4_bf16_g128_streamed|i8_bf16_channel_streamed|i4_f16_g64_asym_bias_factored)[^ ]* .*r[01]\\."
