#!/bin/bash
# Quantized linear on the GPU (after bench/gpu/prepare.sh): the qlinear
# numerics cases and sanitizers, tiny_llama int4/int8/fp8 packed at load
# time, then kopt's int4/int8 weight-only linear timed against cuBLAS bf16
# and torch's tinygemm int4 in the same run (L2 flushed clean before every
# run, for both: clean_flush.py).
cd "$(dirname "$0")"; R=$PWD/kopt-run
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
source ./numerics.sh
echo "== qlinear numerics (random packed codes, ragged N, every token band)"
run_cases "^qlinear"
# Two runs (M = 1 and a larger band) of each fused-kernel case.
sanitize_cases "^qlinear_(i4_bf16_g128|i4_f16_g32|i8_bf16|i8_f16)[^ ]* .*r[03]\\."
echo "== tiny_llama quantized, packed at load time on the GPU, vs the reference of the same model"
for mode in int4 int8 fp8; do
  $R tlq_$mode.ptx --weights=tlw.safetensors --input=@tl_ids.npy --input=@tl_pos.npy \
    --expected_output=@tlq_${mode}_ref.npy --tolerance=1e-3,1e-3 --poison_outputs; echo "$mode rc=$?"
done
echo "== tiny_llama calibrated int4 (AWQ input scales; 5-bit mixed int4/int8/f32), vs the reference"
for c in awq b5; do
  $R tlc_$c.ptx --input=@tl_ids.npy --input=@tl_pos.npy --expected_output=@tlc_${c}_ref.npy \
    --tolerance=1e-3,1e-3 --poison_outputs; echo "$c rc=$?"
  compute-sanitizer --tool memcheck --error-exitcode 9 $R tlc_$c.ptx --input=@tl_ids.npy \
    --input=@tl_pos.npy --expected_output=@tlc_${c}_ref.npy --tolerance=1e-3,1e-3 2>&1 | tail -1
  echo "$c memcheck rc=${PIPESTATUS[0]}"
done
echo "== GPTQ + AWQ int4 checkpoint imported at compile time, vs the exact expected output"
$R pq.ptx --input=@pq_x.npy --expected_output=@pq_expected.npy --tolerance=2e-3,2e-3 --poison_outputs; echo "import rc=$?"
compute-sanitizer --tool memcheck --error-exitcode 9 $R pq.ptx --input=@pq_x.npy \
  --expected_output=@pq_expected.npy --tolerance=2e-3,2e-3 2>&1 | tail -1
python3 quant_inputs.py
for shape in 4096x4096 14336x4096 8192x8192 28672x8192; do
  k=${shape#*x}
  for bits in 4 8; do
    for m in 1 16 64; do
      echo "== kopt int$bits M=$m ${shape}"
      $R ql_i${bits}_$shape.ptx --input=@qx${m}_$k.npy --input=@q${bits}_$shape.npy --input=@s${bits}_$shape.npy --benchmark=50 --quiet 2>&1 | grep -v rounding
    done
  done
done
python3 quant_peers.py
