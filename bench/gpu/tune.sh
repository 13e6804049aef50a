#!/bin/bash
# The autotuner and a per-kernel profile on the GPU (after
# bench/gpu/prepare_tune.sh), TinyLlama-1.1B-shaped model, random weights:
#   tune   kopt-run --tune on decode and prefill (bf16, int4; whole-model
#          wall time), a second --tune that must hit the cache, a corrupt
#          cache (warning, then retuned), and decode/prefill timed with the
#          heuristic defaults, with the tuned cache, and without variants;
#   profile  one decode step and one 512-token prefill under ncu (each
#          kernel's duration, caches not flushed between kernels).
# `tune.sh tune` and `tune.sh profile` each fit one device call.
cd "$(dirname "$0")"; R=$PWD/kopt-run
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
part=${1:-tune}
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
if [ "$part" = tune ]; then
  export KOPT_CACHE_DIR=$PWD/cache; rm -rf cache
  for mode in bf16 int4; do
    for step in decode prefill; do
      args=${!step}
      echo "== tune $mode $step (first run)"
      s=$(date +%s.%N)
      $R tl1b_${mode}_tv.ptx --weights=w_$mode.safetensors $args --tune \
        --tune_log=tune_${mode}_$step.csv --print_max_element_count=0 > /dev/null 2> tune.err
      echo "rc=$? wall $(python3 -c "print(f'{$(date +%s.%N) - $s:.1f}')") s (load + tune + one call)"
      head -4 tune.err; echo "..."; tail -2 tune.err
      python3 kernel_profile.py tunelog tune_${mode}_$step.csv | tail -12
      echo "== tune $mode $step (second run: must hit the cache)"
      $R tl1b_${mode}_tv.ptx --weights=w_$mode.safetensors $args --tune \
        --print_max_element_count=0 2>&1 >/dev/null | tail -2
    done
  done
  ls -la cache/tuning
  echo "== corrupt cache"
  rm -rf cache_bad; cp -r cache cache_bad
  for f in cache_bad/tuning/*.json; do printf '{"broken' > "$f"; done
  KOPT_CACHE_DIR=$PWD/cache_bad $R tl1b_int4_tv.ptx --weights=w_int4.safetensors $decode --tune \
    --print_max_element_count=0 2>&1 >/dev/null | grep -v ': trial ' | tail -4
  echo "== timed: heuristic default / tuned (cache) / built without variants"
  for mode in bf16 int4; do
    for step in decode prefill; do
      args=${!step}; n=$([ $step = decode ] && echo 50 || echo 10)
      h=$($R tl1b_${mode}_tv.ptx --weights=w_$mode.safetensors $args --no_tuning_cache --benchmark=$n --quiet 2>&1 | median)
      t=$($R tl1b_${mode}_tv.ptx --weights=w_$mode.safetensors $args --benchmark=$n --quiet 2>&1 | median)
      p=$($R tl1b_${mode}.ptx --weights=w_$mode.safetensors $args --benchmark=$n --quiet 2>&1 | median)
      echo "tl1b $mode $step: heuristic $h ms, tuned $t ms, no variants $p ms"
    done
  done
  exit 0
fi
echo "== ncu profile"
for mode in bf16 int4; do
  for step in decode prefill; do
    args=${!step}
    ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
      $R tl1b_$mode.ptx --weights=w_$mode.safetensors $args --print_max_element_count=0 \
      > prof_${mode}_$step.csv 2> prof.err || { echo "ncu failed"; tail -5 prof.err; }
    python3 kernel_profile.py ncu prof_${mode}_$step.csv
  done
done
