#!/bin/bash
# Builds .gpu-t/ (git-ignored): what bench/gpu/tune.sh runs on the GPU
# machine: the TinyLlama-1.1B-shaped model (bf16 and int4 g128, fused) with
# tile variants (`kopt --tile-variants`) and without, for the autotuner
# (tune, cache hit, corrupt cache, heuristic against tuned) and for a
# per-kernel profile of one decode step under ncu. Then: device run with
# carry [".gpu-t"], command `bash .gpu-t/tune.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); K=$root/build/bin; D=$root/.gpu-t
rm -rf "$D"; mkdir -p "$D" && cd "$D"
cp "$root/bench/gpu/tune.sh" "$root/bench/gpu/random_checkpoint.py" \
   "$root/bench/gpu/kernel_profile.py" "$K/kopt-run" .
python3 "$root/models/gen_models.py" llama --name tl1b --layers 22 --hidden 2048 \
  --heads 32 --kv-heads 4 --head-dim 64 --ffn 5632 --vocab 32000 --max-len 2048 \
  --dtype bf16 > tl1b.mlir
$K/kopt tl1b.mlir --fuse -o tl1b_bf16.ptx
$K/kopt tl1b.mlir --fuse --quantize=int4 -o tl1b_int4.ptx
$K/kopt tl1b.mlir --fuse --tile-variants -o tl1b_bf16_tv.ptx
$K/kopt tl1b.mlir --fuse --quantize=int4 --tile-variants -o tl1b_int4_tv.ptx
du -sh "$D"
