// CPU benchmark: causal attention, B=1, H=8, S=1024, D=64, f32.
func.func @attention(%q: tensor<1x1024x8x64xf32>, %k: tensor<1x1024x8x64xf32>, %v: tensor<1x1024x8x64xf32>) -> tensor<1x1024x8x64xf32> {
  %o = kopt.attention %q, %k, %v {causal = true} : (tensor<1x1024x8x64xf32>, tensor<1x1024x8x64xf32>, tensor<1x1024x8x64xf32>) -> tensor<1x1024x8x64xf32>
  return %o : tensor<1x1024x8x64xf32>
}
