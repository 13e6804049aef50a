#!/bin/bash
# Builds .gpu-f/ (git-ignored): what bench/gpu/fused.sh checks and times on
# the GPU machine: the e2e GPU numerics cases of the kernels fusion touches
# (elementwise, the stores of every linear kernel), tiny_llama (f32) fused and unfused with random
# weights, the epilogue benchmark (epilogue_bf16.mlir) fused and unfused,
# and the TinyLlama-1.1B-shaped model in bf16 and int4, fused and unfused
# (random checkpoints written there by random_checkpoint.py). Then: device
# run with carry [".gpu-f"], command `bash .gpu-f/fused.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); K=$root/build/bin; D=$root/.gpu-f
rm -rf "$D"; mkdir -p "$D" && cd "$D"
cp "$root/bench/gpu/fused.sh" "$root/bench/gpu/numerics.sh" "$root/bench/gpu/clean_flush.py" \
   "$root/bench/gpu/fused_peers.py" "$root/bench/gpu/llama_peer.py" \
   "$root/bench/gpu/random_checkpoint.py" "$K/kopt-run" .
# The suites whose kernels fusion changed: elementwise, every linear and
# quantized linear kernel, the fused groups (attention and the rest run
# inside the models below).
KOPT_EXPORT_GPU_CASES=$D/cases $K/kopt-e2e-tests \
  --gtest_filter='Elementwise/GpuNumerics.*:LinearAlgebra/GpuNumerics.*:Quantized/GpuNumerics.*:Fused/GpuNumerics.*' \
  --gtest_brief=1 >/dev/null
echo "exported $(wc -l < cases/cases.txt) GPU numerics runs"
tar czf cases.tgz cases && rm -rf cases
# tiny_llama, f32: fused against unfused on one prompt (weights written
# there by random_checkpoint.py).
python3 "$root/test/e2e/Inputs/make_npy.py" tl_ids.npy 1x9 i32 randint:0:512 --seed=4
python3 "$root/test/e2e/Inputs/make_npy.py" tl_pos.npy 1x9 i32 iota
$K/kopt "$root/models/tiny_llama.mlir" -o tl_unfused.ptx
$K/kopt "$root/models/tiny_llama.mlir" --fuse -o tl_fused.ptx
$K/kopt "$root/bench/gpu/epilogue_bf16.mlir" -o epi_unfused.ptx
$K/kopt "$root/bench/gpu/epilogue_bf16.mlir" --fuse -o epi_fused.ptx
python3 "$root/models/gen_models.py" llama --name tl1b --layers 22 --hidden 2048 \
  --heads 32 --kv-heads 4 --head-dim 64 --ffn 5632 --vocab 32000 --max-len 2048 \
  --dtype bf16 > tl1b.mlir
for fuse in unfused fused; do
  flag=$([ $fuse = fused ] && echo --fuse || true)
  $K/kopt tl1b.mlir $flag -o tl1b_bf16_$fuse.ptx
  $K/kopt tl1b.mlir $flag --quantize=int4 -o tl1b_int4_$fuse.ptx
done
du -sh "$D"
