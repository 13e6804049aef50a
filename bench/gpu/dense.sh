#!/bin/bash
# kopt's dense bf16 linear on the GPU (after bench/gpu/prepare_dense.sh):
# the linear/matmul numerics cases, then each shape at 16 to 2048 rows
# (kopt-run --benchmark=50, L2 flushed clean before each run, random bf16
# inputs uploaded once) and cuBLAS (F.linear) on the same shapes in the
# same run. One line per run.
cd "$(dirname "$0")"; R=$PWD/kopt-run
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
source ./numerics.sh
echo "== linear / matmul numerics"
run_cases "."
for shape in 2048x2048 5632x2048 2048x5632 8192x8192 14336x4096; do
  n=${shape%x*}; k=${shape#*x}
  for m in 16 64 128 512 2048; do
    out=$($R linear_$shape.ptx --input=${m}x${k}xbf16 --input=${n}x${k}xbf16 --benchmark=50 --quiet 2>&1); rc=$?
    echo "kopt bf16 M=$m $shape rc=$rc $(echo "$out" | grep -o 'median [0-9.]* ms')"
  done
done
python3 dense_peers.py
