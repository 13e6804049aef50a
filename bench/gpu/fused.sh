#!/bin/bash
# Fusion on the GPU (after bench/gpu/prepare_fused.sh): every e2e numerics
# case (the fused ones also under compute-sanitizer), tiny_llama fused
# against unfused, the linear-with-epilogue benchmark against cuBLAS +
# elementwise and torch.compile, and the TinyLlama-1.1B-shaped model's
# decode and prefill, fused and unfused, against PyTorch eager and
# torch.compile on the same weights. kopt-run --benchmark: CUDA graph
# replays, L2 flushed clean before each run. Two parts, each within one
# device call: `fused.sh kernels` (numerics, sanitizer, tiny_llama, the
# epilogue benchmark) and `fused.sh models` (tl1b and its peers).
cd "$(dirname "$0")"; export R=$PWD/kopt-run
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
source ./numerics.sh
part=${1:-kernels}
if [ "$part" = kernels ]; then
echo "== numerics"
run_cases "."
echo "== sanitizer"
sanitize_cases "^fused_(linear_bias_gelu_residual_bf16|linear_scale_shift_cast_bf16|qlinear_i4_residual_relu_(dense|streamed)|elementwise_tree_i32)\.ptx"
echo "== tiny_llama f32, fused vs unfused"
python3 random_checkpoint.py tl_unfused.plan.json tl_w.safetensors --seed 11
$R tl_unfused.ptx --weights=tl_w.safetensors --input=@tl_ids.npy --input=@tl_pos.npy --output=@tl_unfused_out.npy
$R tl_fused.ptx --weights=tl_w.safetensors --input=@tl_ids.npy --input=@tl_pos.npy \
  --expected_output=@tl_unfused_out.npy --tolerance=0,0 --poison_outputs
echo "== linear 4096x4096 + bias + gelu + residual"
for m in 16 128 2048 4096; do
  for fuse in unfused fused; do
    out=$($R epi_$fuse.ptx --input=${m}x4096xbf16 --input=4096x4096xbf16 --input=4096xbf16 \
      --input=${m}x4096xbf16 --benchmark=50 --quiet 2>&1); rc=$?
    echo "kopt $fuse M=$m rc=$rc $(echo "$out" | grep -o 'median [0-9.]* ms')"
  done
done
python3 fused_peers.py
exit 0
fi
echo "== tl1b decode / prefill"
for mode in bf16 int4; do
  python3 random_checkpoint.py tl1b_${mode}_unfused.plan.json w_$mode.safetensors --seed 1 || exit 1
done
caches=$(python3 -c "
import json; p = json.load(open('tl1b_bf16_unfused.plan.json'))
f = [f for f in p['functions'] if f['name'] == 'forward_cached'][0]
print(' '.join('--input=' + 'x'.join(map(str, i['shape'])) + 'x' + i['dtype'] for i in f['inputs'][4:]))")
python3 -c "import numpy as np; np.save('prompt.npy', np.arange(512, dtype=np.int32)[None] % 32000); np.save('positions.npy', np.arange(512, dtype=np.int32)[None])"
for mode in bf16 int4; do
  for fuse in unfused fused; do
    decode=$($R tl1b_${mode}_$fuse.ptx --weights=w_$mode.safetensors --function=forward_cached \
      --input=1x1xi32=7 --input=1x1xi32=512 --input=1xi32=512 --input=1xi32=513 $caches \
      --benchmark=50 --quiet 2>&1 | grep -o 'median [0-9.]* ms' | grep -o '[0-9.]*')
    prefill=$($R tl1b_${mode}_$fuse.ptx --weights=w_$mode.safetensors --function=forward_cached \
      --input=@prompt.npy --input=@positions.npy --input=1xi32=0 --input=1xi32=512 $caches \
      --benchmark=10 --quiet 2>&1 | grep -o 'median [0-9.]* ms' | grep -o '[0-9.]*')
    python3 -c "print(f'tl1b $mode $fuse: decode {float(\"$decode\"):.3f} ms/token ({1e3 / float(\"$decode\"):.0f} tokens/s), prefill 512 {float(\"$prefill\"):.2f} ms ({512e3 / float(\"$prefill\"):.0f} tokens/s)')" 2>/dev/null \
      || echo "tl1b $mode $fuse: decode '$decode' prefill '$prefill' (failed)"
  done
done
python3 llama_peer.py w_bf16.safetensors
