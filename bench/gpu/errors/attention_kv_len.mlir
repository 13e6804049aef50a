// kv_len past the cache: a reported error on both attention paths
// (decode below 16 queries, FlashAttention from 16).
func.func @f(%q: tensor<1x?x4x64xbf16>, %k: tensor<1x100x2x64xbf16>, %v: tensor<1x100x2x64xbf16>, %l: tensor<1xi32>) -> tensor<1x?x4x64xbf16> {
  %o = kopt.attention %q, %k, %v, %l {causal = true} : (tensor<1x?x4x64xbf16>, tensor<1x100x2x64xbf16>, tensor<1x100x2x64xbf16>, tensor<1xi32>) -> tensor<1x?x4x64xbf16>
  return %o : tensor<1x?x4x64xbf16>
}
