#!/bin/bash
# kopt's w8a8 fp8 linear on the GPU (after bench/gpu/prepare_fp8.sh): the
# fp8 numerics cases, then each shape at 1 to 8192 rows (kopt-run
# --benchmark=50, L2 flushed clean before each run; random bf16
# activations, valid e4m3 weight codes and scales, written by fp8_peers.py
# --inputs), checked against torch's dequantized product, then
# torch._scaled_mm on the same shapes in the same run, and
# compute-sanitizer on the fp8 cases last. One line per run.
cd "$(dirname "$0")"; R=$PWD/kopt-run
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
source ./numerics.sh
echo "== fp8 numerics"
run_cases "."
python3 fp8_peers.py --inputs
for shape in 4096x4096 8192x8192 28672x8192; do
  k=${shape#*x}
  for m in 1 16 128 512 2048 4096 8192; do
    [ $shape = 28672x8192 ] && [ $m -gt 2048 ] && continue
    in="--input=@x${m}_$k.npy --input=@q_$shape.npy --input=@s_$shape.npy"
    cmp="--expected_output=@y${m}_$shape.npy --tolerance=2e-2,2e-2 --min_cosine=0.999"
    for v in $(cat variants); do
      out=$($R fp8_${shape}_$v.ptx $in $cmp --benchmark=50 --quiet 2>&1); rc=$?
      echo "kopt fp8 $v M=$m $shape rc=$rc $(echo "$out" | grep -o 'median [0-9.]* ms') $(echo "$out" | grep -o 'cosine [0-9.]*') $(echo "$out" | grep -o '([0-9]* of [0-9]* elements differ)')"
    done
  done
done
python3 fp8_peers.py
echo "== compute-sanitizer on the fp8 cases"
sanitize_cases "r[01]\\."
