// Mixtral MoE block: 8 experts, top-2, hidden 4096, FFN 14336, bf16
// (bench/gpu/run.sh runs it at 1, 16 and 512 tokens).
func.func @f(%x: tensor<?x4096xbf16>, %r: tensor<8x4096xbf16>, %g: tensor<8x14336x4096xbf16>, %u: tensor<8x14336x4096xbf16>, %d: tensor<8x4096x14336xbf16>) -> tensor<?x4096xbf16> {
  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64, normalize_topk = true} : (tensor<?x4096xbf16>, tensor<8x4096xbf16>, tensor<8x14336x4096xbf16>, tensor<8x14336x4096xbf16>, tensor<8x4096x14336xbf16>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
