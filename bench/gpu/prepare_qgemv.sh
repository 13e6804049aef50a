#!/bin/bash
# Builds .gpu-q/ (git-ignored, ~25 MB): what bench/gpu/qgemv.sh needs to
# compare the quantized linear's kernels on the GPU machine: kopt-run, the
# qlinear numerics cases, and the int4 g128 / int8 per-channel bf16 linears
# of four shapes as PTX, one per tiling (kopt.qlinear_tile,
# kopt.dense_from_rows; "default" is what kopt emits without them). Then: device run with carry [".gpu-q"],
# command `bash .gpu-q/qgemv.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); K=$root/build/bin; D=$root/.gpu-q
rm -rf "$D"; mkdir -p "$D" && cd "$D"
cp "$root/bench/gpu/qgemv.sh" "$root/bench/gpu/quant_inputs.py" "$root/bench/gpu/quant_peers.py" "$root/bench/gpu/numerics.sh" "$root/bench/gpu/clean_flush.py" "$K/kopt-run" .
KOPT_EXPORT_GPU_CASES=$D/cases $K/kopt-e2e-tests --gtest_filter='Quantized/GpuNumerics.*' \
  --gtest_brief=1 >/dev/null
echo "exported $(wc -l < cases/cases.txt) qlinear numerics runs"
# Variants: "default" (what kopt emits), "packed" (the packed kernel at
# every band, kopt.dense_from_rows out of reach) and pRxWxU (that, with
# kopt.qlinear_tile = R row tiles per block, W warps splitting K, U chunks'
# loads in flight), sW_S_C[f] (the streamed kernel up to 16 tokens,
# kopt.gemv_tile = W warps, S ring stages, C chunks per stage, f factored
# scales). VARIANTS="..." builds only those.
variants="default packed p2x4x4 p4x2x4 p4x4x2 p8x2x2 p4x2x2 p2x8x2
  s4_4_4 s4_8_2 s4_4_2 s8_4_2 s8_4_4 s4_6_4 s2_8_4
  s4_4_4f s4_8_2f s4_4_2f s8_4_2f s8_4_4f s4_6_4f s2_8_4f"
variants=$(echo ${VARIANTS:-$variants})
echo "$variants" > variants
for shape in 4096x4096 14336x4096 8192x8192 28672x8192; do
  n=${shape%x*}; k=${shape#*x}
  for bits in 4 8; do
    if [ $bits = 4 ]; then g=128; st=i4; qb=$((k / 64 * 512)); else g=$k; st=i8; qb=$((k / 32 * 512)); fi
    q="tensor<$((n / 16))x${qb}xi8>"; sc="tensor<${n}x$((k / g))xbf16>"; w="tensor<${n}x${k}xbf16>"
    for v in $variants; do
      case $v in
        default) attr="";;
        packed) attr=" {kopt.dense_from_rows = 1000000}";;
        p*) t=${v#p}; attr=" {kopt.dense_from_rows = 1000000, kopt.qlinear_tile = array<i64: ${t//x/, }>}";;
        s*) t=${v#s}; f=""; [ "${t%f}" != "$t" ] && { t=${t%f}; f=", 4"; }
            attr=" {kopt.gemv_tile = array<i64: ${t//_/, }$f>}";;
      esac
      cat > ql.mlir <<MLIR
func.func @f(%x: tensor<?x${k}xbf16>, %q: $q, %s: $sc) -> tensor<?x${n}xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<${n}x${k}x${st}, group_size = $g, scale = bf16, layout = mma>} : ($q, $sc) -> $w
  %y = kopt.linear %x, %w$attr : (tensor<?x${k}xbf16>, $w) -> tensor<?x${n}xbf16>
  return %y : tensor<?x${n}xbf16>
}
MLIR
      $K/kopt ql.mlir -o ql_i${bits}_${shape}_$v.ptx
    done
  done
done
rm -f ql.mlir
du -sh "$D"
