#!/bin/bash
# Builds .gpu-d/ (git-ignored, ~12 MB): a TinyLlama-1.1B-shaped kopt model
# (22 layers, hidden 2048, 32 query / 4 kv heads of 64, FFN 5632, vocab
# 32000, 2048 cached positions, bf16) compiled for the GPU as bf16 and as
# int4 g128 (packed at load time), kopt-run, and the scripts. The GPU
# machine writes random checkpoints from the plans (random_checkpoint.py:
# 2.2 GB / 0.7 GB, too large to carry). Then: device run with carry
# [".gpu-d"], command `bash .gpu-d/decode.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); K=$root/build/bin; D=$root/.gpu-d
rm -rf "$D"; mkdir -p "$D" && cd "$D"
cp "$root/bench/gpu/decode.sh" "$root/bench/gpu/random_checkpoint.py" "$K/kopt-run" .
python3 "$root/models/gen_models.py" llama --name tl1b --layers 22 --hidden 2048 \
  --heads 32 --kv-heads 4 --head-dim 64 --ffn 5632 --vocab 32000 --max-len 2048 \
  --dtype bf16 > tl1b.mlir
$K/kopt tl1b.mlir -o tl1b_bf16.ptx
$K/kopt tl1b.mlir --quantize=int4 -o tl1b_int4.ptx
$K/kopt tl1b.mlir --quantize=int8 -o tl1b_int8.ptx
$K/kopt tl1b.mlir --quantize=fp8 -o tl1b_fp8.ptx
du -sh "$D"
