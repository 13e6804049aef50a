// A linear with an epilogue (bench/gpu/fused.sh): bias, tanh-gelu and a
// residual add after a bf16 4096 x 4096 projection, any number of tokens.
// `kopt --fuse` runs it as the GEMM alone; without, the GEMM writes its
// output and two elementwise kernels read it back.
func.func @f(%x: tensor<?x4096xbf16>, %w: tensor<4096x4096xbf16>, %b: tensor<4096xbf16>, %r: tensor<?x4096xbf16>) -> tensor<?x4096xbf16> {
  %l = kopt.linear %x, %w, %b : (tensor<?x4096xbf16>, tensor<4096x4096xbf16>, tensor<4096xbf16>) -> tensor<?x4096xbf16>
  %g = kopt.gelu %l {approximate = "tanh"} : tensor<?x4096xbf16>
  %o = kopt.add %g, %r : tensor<?x4096xbf16>
  return %o : tensor<?x4096xbf16>
}
