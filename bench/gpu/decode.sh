#!/bin/bash
# Decode and prefill of the TinyLlama-1.1B-shaped model (after
# bench/gpu/prepare_decode.sh) in bf16, int8, int4 and fp8 (w8a8), random
# weights:
# one forward_cached call per measurement, captured as a CUDA graph and
# replayed (kopt-run --benchmark, L2 flushed clean before each run), the
# inputs uploaded once. Decode = 1 new token over a 512-position cache;
# prefill = 512 tokens into empty caches. tokens/s = tokens / median.
cd "$(dirname "$0")"; R=$PWD/kopt-run
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
for mode in bf16 int8 int4 fp8; do
  python3 random_checkpoint.py tl1b_$mode.plan.json w_$mode.safetensors --seed 1 || exit 1
done
caches=$(python3 -c "
import json; p = json.load(open('tl1b_bf16.plan.json'))
f = [f for f in p['functions'] if f['name'] == 'forward_cached'][0]
print(' '.join('--input=' + 'x'.join(map(str, i['shape'])) + 'x' + i['dtype'] for i in f['inputs'][4:]))")
python3 -c "import numpy as np; np.save('prompt.npy', np.arange(512, dtype=np.int32)[None] % 32000); np.save('positions.npy', np.arange(512, dtype=np.int32)[None])"
for mode in bf16 int8 int4 fp8; do
  decode=$($R tl1b_$mode.ptx --weights=w_$mode.safetensors --function=forward_cached \
    --input=1x1xi32=7 --input=1x1xi32=512 --input=1xi32=512 --input=1xi32=513 $caches \
    --benchmark=50 --quiet 2>&1 | grep -o 'median [0-9.]* ms' | grep -o '[0-9.]*')
  prefill=$($R tl1b_$mode.ptx --weights=w_$mode.safetensors --function=forward_cached \
    --input=@prompt.npy --input=@positions.npy --input=1xi32=0 --input=1xi32=512 $caches \
    --benchmark=10 --quiet 2>&1 | grep -o 'median [0-9.]* ms' | grep -o '[0-9.]*')
  python3 -c "print(f'tl1b $mode: decode {float(\"$decode\"):.3f} ms/token ({1e3 / float(\"$decode\"):.0f} tokens/s), prefill 512 {float(\"$prefill\"):.2f} ms ({512e3 / float(\"$prefill\"):.0f} tokens/s)')" 2>/dev/null \
    || echo "tl1b $mode: decode '$decode' prefill '$prefill' (failed)"
done
