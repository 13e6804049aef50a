#!/bin/bash
# Builds .gpu-g/ (git-ignored): what bench/gpu/dense.sh needs to time kopt's
# dense bf16 linear (GEMV up to 8 rows, then the wgmma GEMM with its tile
# width per row band) against cuBLAS on the GPU machine: kopt-run, the
# shapes as PTX, and the linear/matmul numerics cases. Then: device run
# with carry [".gpu-g"], command `bash .gpu-g/dense.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); K=$root/build/bin; D=$root/.gpu-g
rm -rf "$D"; mkdir -p "$D" && cd "$D"
cp "$root/bench/gpu/dense.sh" "$root/bench/gpu/dense_peers.py" "$root/bench/gpu/numerics.sh" \
  "$root/bench/gpu/clean_flush.py" "$K/kopt-run" .
KOPT_EXPORT_GPU_CASES=$D/cases $K/kopt-e2e-tests \
  --gtest_filter='LinearAlgebra/GpuNumerics.*:Quantized/GpuNumerics.*wide*' --gtest_brief=1 >/dev/null
# N x K: the 1.1B model's projections (bench/gpu/prepare_decode.sh) and two
# issue-5 shapes.
for shape in 2048x2048 5632x2048 2048x5632 8192x8192 14336x4096; do
  n=${shape%x*}; k=${shape#*x}
  cat > l.mlir <<MLIR
func.func @f(%x: tensor<?x${k}xbf16>, %w: tensor<${n}x${k}xbf16>) -> tensor<?x${n}xbf16> {
  %y = kopt.linear %x, %w : (tensor<?x${k}xbf16>, tensor<${n}x${k}xbf16>) -> tensor<?x${n}xbf16>
  return %y : tensor<?x${n}xbf16>
}
MLIR
  $K/kopt l.mlir -o linear_$shape.ptx
done
rm -f l.mlir
du -sh "$D"
