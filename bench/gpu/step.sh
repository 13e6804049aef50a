#!/bin/bash
# After bench/gpu/prepare_step.sh: every e2e GPU numerics case (kernels
# launched early: dependent launch on), the in-place cache update cases
# under compute-sanitizer, then the TinyLlama-1.1B-shaped model's decode
# step (1 token over 512 cached) and 512-token prefill, bf16 and int4,
# with dependent launch on and off, and (`step.sh profile`) one decode
# step's kernels under ncu. kopt-run --benchmark: CUDA graph replays, L2
# flushed clean before each run.
cd "$(dirname "$0")"; export R=$PWD/kopt-run
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
source ./numerics.sh
for f in tl1b_*.gz; do [ -f "$f" ] && gunzip "$f"; done
if [ "${1:-}" = peer ]; then
  # PyTorch on the same weights (eager, torch.compile with CUDA graphs),
  # then one decode step's kernels under ncu.
  [ -f w_bf16.safetensors ] || python3 random_checkpoint.py tl1b_bf16.plan.json w_bf16.safetensors --seed 1 || exit 1
  python3 llama_peer.py w_bf16.safetensors
  set -- models-skip profile
fi
if [ "${1:-}" = all ]; then
  echo "== numerics"
  run_cases "."
  echo "== sanitizer"
  # SANITIZE (a case-name regex) narrows the sanitizer runs.
  sanitize_cases "^(${SANITIZE:-cache_update|cache_update_reread|cache_update_of_result|rmsnorm_resident_bf16_2048|attention_decode_splits[a-z_]*|merged_[a-z0-9_]*|norm_into_[a-z0-9_]*|moe_i4_i8_experts})\.ptx" | tee sanitizer.log | grep -v "SUMMARY: 0 "
  echo "sanitizer: $(grep -c 'SUMMARY: 0 ' sanitizer.log) clean runs of $(wc -l < sanitizer.log)"
fi
for mode in bf16 int4; do
  [ -f w_$mode.safetensors ] || python3 random_checkpoint.py tl1b_${mode}.plan.json w_$mode.safetensors --seed 1 || exit 1
done
caches=$(python3 -c "
import json; p = json.load(open('tl1b_bf16.plan.json'))
f = [f for f in p['functions'] if f['name'] == 'forward_cached'][0]
print(' '.join('--input=' + 'x'.join(map(str, i['shape'])) + 'x' + i['dtype'] for i in f['inputs'][4:]))")
python3 -c "import numpy as np; np.save('prompt.npy', np.arange(512, dtype=np.int32)[None] % 32000); np.save('positions.npy', np.arange(512, dtype=np.int32)[None])"
decode="--function=forward_cached --input=1x1xi32=7 --input=1x1xi32=512 --input=1xi32=512 --input=1xi32=513 $caches"
prefill="--function=forward_cached --input=@prompt.npy --input=@positions.npy --input=1xi32=0 --input=1xi32=512 $caches"
median() { grep -o 'median [0-9.]* ms' | grep -o '[0-9.]*'; }
echo "== tl1b"
for mode in bf16 int4; do
  [ "${1:-}" = models-skip ] && break
  $R tl1b_$mode.ptx --weights=w_$mode.safetensors $decode --output=@dec_$mode.npy --output=@kc_$mode.npy --output=@vc_$mode.npy --quiet
  KOPT_DEPENDENT_LAUNCH=0 $R tl1b_$mode.ptx --weights=w_$mode.safetensors $decode \
    --expected_output=@dec_$mode.npy --expected_output=@kc_$mode.npy --expected_output=@vc_$mode.npy \
    --tolerance=0,0 --quiet && echo "$mode decode: dependent launch on == off"
  # Dependent launch as the runtime decides (for calls of small launches),
  # forced off (KOPT_DEPENDENT_LAUNCH=0) and forced on (=1).
  for cfg in auto 0 1; do
    env=(KOPT_DEPENDENT_LAUNCH=$cfg)
    [ $cfg = auto ] && env=(KOPT_RUN=default)
    d=$(env "${env[@]}" $R tl1b_$mode.ptx --weights=w_$mode.safetensors $decode --benchmark=100 --quiet 2>&1 | median)
    p=$(env "${env[@]}" $R tl1b_$mode.ptx --weights=w_$mode.safetensors $prefill --benchmark=10 --quiet 2>&1 | median)
    echo "tl1b $mode ${env[*]}: decode $d ms, prefill 512 $p ms"
  done
  for v in unfused nonorm noreader nomerge; do
    [ -f tl1b_${mode}_$v.ptx ] || continue
    d=$($R tl1b_${mode}_$v.ptx --weights=w_$mode.safetensors $decode --benchmark=100 --quiet 2>&1 | median)
    p=$($R tl1b_${mode}_$v.ptx --weights=w_$mode.safetensors $prefill --benchmark=10 --quiet 2>&1 | median)
    echo "tl1b $mode variant $v: decode $d ms, prefill 512 $p ms"
  done
done
if [ "${1:-}" = profile ] || [ "${2:-}" = profile ]; then
  for mode in bf16 int4; do
    ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
      $R tl1b_$mode.ptx --weights=w_$mode.safetensors $decode --quiet > prof_$mode.csv 2>/dev/null
    python3 kernel_profile.py ncu prof_$mode.csv
  done
fi
