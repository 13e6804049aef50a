#!/bin/bash
# Builds .gpu-8/ (git-ignored): what bench/gpu/fp8.sh needs to time kopt's
# w8a8 fp8 linear (fake_quant per token, then the e4m3 wgmma GEMM with
# per-channel weight scales) against torch._scaled_mm on the GPU machine:
# kopt-run, the shapes as PTX, and the fp8 / fake_quant numerics cases.
# Then: device run with carry [".gpu-8"], command `bash .gpu-8/fp8.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); K=$root/build/bin; D=$root/.gpu-8
rm -rf "$D"; mkdir -p "$D" && cd "$D"
cp "$root/bench/gpu/fp8.sh" "$root/bench/gpu/fp8_peers.py" "$root/bench/gpu/numerics.sh" \
  "$root/bench/gpu/clean_flush.py" "$K/kopt-run" .
KOPT_EXPORT_GPU_CASES=$D/cases $K/kopt-e2e-tests \
  --gtest_filter='*GpuNumerics.*fp8_w8a8*:*GpuNumerics.*fake_quant*:*GpuNumerics.*qlinear_f8*' --gtest_brief=1 >/dev/null
echo "exported $(wc -l < cases/cases.txt) fp8 numerics runs"
echo "default p512 fast" > variants
# Variants: "default" (sums promoted to f32 every 256 of K), pN (every N)
# and "fast" (the tensor cores' own accumulation; kopt.fp8_promote_every).
for shape in 4096x4096 8192x8192 28672x8192; do
  n=${shape%x*}; k=${shape#*x}
  q="tensor<${n}x${k}xf8E4M3FN>"; sc="tensor<${n}x1xbf16>"; w="tensor<${n}x${k}xbf16>"
  for v in $(cat variants); do
  case $v in default) attr="";; fast) attr=" {kopt.fp8_promote_every = 0}";;
    p*) attr=" {kopt.fp8_promote_every = ${v#p}}";; esac
  cat > l.mlir <<MLIR
func.func @f(%x: tensor<?x${k}xbf16>, %q: $q, %s: $sc) -> tensor<?x${n}xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<${n}x${k}xf8E4M3FN, group_size = $k, scale = bf16>} : ($q, $sc) -> $w
  %xq = kopt.fake_quant %x {dtype = f8E4M3FN} : tensor<?x${k}xbf16>
  %y = kopt.linear %xq, %w$attr : (tensor<?x${k}xbf16>, $w) -> tensor<?x${n}xbf16>
  return %y : tensor<?x${n}xbf16>
}
MLIR
  $K/kopt l.mlir -o fp8_${shape}_$v.ptx
  done
done
rm -f l.mlir
du -sh "$D"
