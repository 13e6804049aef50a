#!/bin/bash
# Weight-only int4 g128 / int8 linear on the CPU against the dense f32 and
# bf16 kopt kernels and NumPy/OpenBLAS f32 in the same run: N = K = 4096,
# M = 1 and 8, kopt-run --benchmark=20 medians. Run from the repository
# root after a build; writes scratch files to $TMPDIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); K=$root/build/bin
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT; cd "$d"
for t in f32 bf16; do
  cat > l_$t.mlir <<MLIR
func.func @f(%x: tensor<?x4096x$t>) -> tensor<?x4096x$t> {
  %w = kopt.weight "w" : tensor<4096x4096x$t>
  %y = kopt.linear %x, %w : (tensor<?x4096x$t>, tensor<4096x4096x$t>) -> tensor<?x4096x$t>
  return %y : tensor<?x4096x$t>
}
MLIR
  $K/kopt-weights l_$t.mlir --random --seed=1 -o w_$t.safetensors
  $K/kopt l_$t.mlir -o l_${t}_dense.so
  for q in int4 int8; do
    $K/kopt l_$t.mlir --weights=w_$t.safetensors --quantize=$q -o l_${t}_$q.so
  done
done
for m in 1 8; do
  for t in f32 bf16; do
    for v in dense int4 int8; do
      w=""; [ $v = dense ] && w=--weights=w_$t.safetensors
      echo "kopt $t $v M=$m: $($K/kopt-run l_${t}_$v.so $w --input=${m}x4096x$t=0.5 \
        --benchmark=20 --quiet 2>&1 | grep -o 'median [0-9.]* ms')"
    done
  done
done
py=${PYTHON:-python3}; $py -c 'import numpy' 2>/dev/null || py=/usr/bin/python3
$py - <<'PY'
import time, numpy as np
w = np.random.default_rng(0).standard_normal((4096, 4096), dtype=np.float32)
for m in (1, 8):
    x = np.full((m, 4096), 0.5, np.float32); x @ w.T
    t = []
    for _ in range(20):
        s = time.perf_counter(); x @ w.T; t.append(time.perf_counter() - s)
    print(f'numpy f32 M={m}: median {sorted(t)[10] * 1e3:.3f} ms')
PY
