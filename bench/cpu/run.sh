#!/usr/bin/env bash
# CPU benchmarks of kopt beside NumPy/OpenBLAS on the same machine.
#   bench/cpu/run.sh [build-dir]
# Needs: a built kopt (scripts/bootstrap.sh) and Debian's python3-numpy with
# libopenblas0 (apt-get install python3-numpy libopenblas0-pthread).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../../build}" && pwd)"
bin="$build/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

median() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }

echo "# kopt CPU benchmarks ($(date -u +%Y-%m-%d), $(git -C "$here" rev-parse --short HEAD), $(nproc) cores, $(lscpu | sed -n 's/Model name: *//p'))"
"$bin/kopt" "$here/linear_128x2048x2048.mlir" -o "$work/linear.so"
linear=$("$bin/kopt-run" "$work/linear.so" --input=128x2048xf32=0.5 \
  --input=2048x2048xf32=0.25 --benchmark=10 --output=@/dev/null | median)
"$bin/kopt" "$here/attention_s1024.mlir" -o "$work/attention.so"
attention=$("$bin/kopt-run" "$work/attention.so" --input=1x1024x8x64xf32=0.01 \
  --input=1x1024x8x64xf32=0.02 --input=1x1024x8x64xf32=0.5 --benchmark=5 \
  --output=@/dev/null | median)
"$bin/kopt" "$here/../../models/tiny_llama.mlir" -o "$work/llama.so"
"$bin/kopt-weights" "$here/../../models/tiny_llama.mlir" --random --seed=0 \
  -o "$work/llama.safetensors"
generate=$("$bin/kopt-generate" "$work/llama.so" \
  --weights="$work/llama.safetensors" --prompt=1,2,3,4,5,6,7,8 \
  --max_new_tokens=64)

echo
echo "| benchmark | kopt ms | kopt GFLOP/s | NumPy ms | NumPy GFLOP/s | kopt / NumPy time |"
echo "|---|---|---|---|---|---|"
while read -r name ms gflops; do
  case "$name" in
  linear_128x2048x2048) ours=$linear flops=1073741824 ;;
  attention_s1024_causal) ours=$attention flops=1073741824 ;;
  esac
  awk -v n="$name" -v o="$ours" -v f="$flops" -v b="$ms" -v bg="$gflops" \
    'BEGIN { printf "| %s | %.2f | %.1f | %.2f | %s | %.2fx |\n", n, o, f / o / 1e6, b, bg, o / b }'
done < <(/usr/bin/python3 "$here/numpy_baseline.py")
echo
echo "tiny_llama (CPU, f32, random weights):"
echo "$generate" | sed 's/^/    /'
