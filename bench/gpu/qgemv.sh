#!/bin/bash
# The quantized linear's kernels on the GPU (after bench/gpu/prepare_qgemv.sh):
# the qlinear numerics cases, then every variant of the four shapes at 1 to
# 512 tokens checked against the default kernels' output and timed
# (kopt-run --benchmark=50, L2 flushed clean before each run), the peers
# (cuBLAS bf16, tinygemm int4, copy bandwidth) in the same run, and
# compute-sanitizer on the row-tiled and dense-path cases last. One line per
# run.
cd "$(dirname "$0")"; R=$PWD/kopt-run
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
source ./numerics.sh
echo "== qlinear numerics (random packed codes, ragged N and K, every token band)"
run_cases "^qlinear"
python3 quant_inputs.py
for shape in 4096x4096 14336x4096 8192x8192 28672x8192; do
  k=${shape#*x}
  for bits in 4 8; do
    for m in ${MS:-1 16 32 64 128 512}; do
      in="--input=@qx${m}_$k.npy --input=@q${bits}_$shape.npy --input=@s${bits}_$shape.npy"
      $R ql_i${bits}_${shape}_default.ptx $in --output=@ref.npy --quiet >/dev/null 2>&1 || echo "default failed"
      for v in $(cat variants); do
        [ $m -ge 128 ] && [ $v != default ] && [ $v != packed ] && continue
        [ $m -gt 16 ] && [ "${v#s}" != "$v" ] && continue
        cmp="--expected_output=@ref.npy --tolerance=3e-2,3e-2"
        out=$($R ql_i${bits}_${shape}_$v.ptx $in $cmp --benchmark=50 --quiet 2>&1); rc=$?
        echo "kopt int$bits M=$m $shape $v rc=$rc $(echo "$out" | grep -o 'median [0-9.]* ms') $(echo "$out" | grep -o '([0-9]* of [0-9]* elements differ)')"
      done
    done
  done
done
python3 quant_peers.py
echo "== compute-sanitizer on the row-tiled and dense-path kernels"
sanitize_cases "^qlinear_(i4_f16_g32_asym_bias_rowtiles|i8_bf16_channel_rowtiles|i8_f16_g64_asym_dense|i4_bf16_g128_dense)[^ ]* .*r[01]\\."
