#!/usr/bin/env bash
# The main job on the bundled model: compile models/tiny_llama.mlir for the
# host CPU, write random weights for it, and decode greedily from a prompt,
# printing the tokens and tokens/s. Each command is printed before it runs.
#   scripts/tiny_llama_demo.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
bin="$build/bin"
run() { echo "+ $*"; "$@"; }
run "$bin/kopt" models/tiny_llama.mlir -o "$build/tiny_llama.so"
run "$bin/kopt-weights" models/tiny_llama.mlir --random --seed=0 \
  -o "$build/tiny_llama.safetensors"
run "$bin/kopt-generate" "$build/tiny_llama.so" \
  --weights="$build/tiny_llama.safetensors" --prompt=1,2,3,4,5,6,7,8 \
  --max_new_tokens=32 --check_recompute
