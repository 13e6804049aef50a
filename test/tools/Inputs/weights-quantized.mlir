// A model with a compressed weight (kopt-weights --random refuses it).
func.func @f() -> !kopt.quantized<16x64xi4, group_size = 32, scale = f16> {
  %q = kopt.weight "q" : !kopt.quantized<16x64xi4, group_size = 32, scale = f16>
  return %q : !kopt.quantized<16x64xi4, group_size = 32, scale = f16>
}
