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
python3 quant_inputs.py
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
python3 quant_peers.py
echo "== compute-sanitizer on the streamed kernels"
sanitize_cases "^qlinear_(i4_bf16_g128_streamed|i8_bf16_channel_streamed|i4_f16_g64_asym_bias_factored)[^ ]* .*r[01]\\."
