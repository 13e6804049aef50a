// Chunked linear attention: B=4, H=32, D=128, per-head decay, f32 final
// state (bench/gpu/run.sh runs it at S = 4096).
func.func @f(%q: tensor<4x?x32x128xbf16>, %k: tensor<4x?x32x128xbf16>, %v: tensor<4x?x32x128xbf16>) -> (tensor<4x?x32x128xbf16>, tensor<4x32x128x128xf32>) {
  %o, %s = kopt.linear_attention %q, %k, %v {decay = array<f32: 0.96875, 0.977903, 0.984375, 0.988951, 0.992188, 0.994476, 0.996094, 0.997238, 0.96875, 0.977903, 0.984375, 0.988951, 0.992188, 0.994476, 0.996094, 0.997238, 0.96875, 0.977903, 0.984375, 0.988951, 0.992188, 0.994476, 0.996094, 0.997238, 0.96875, 0.977903, 0.984375, 0.988951, 0.992188, 0.994476, 0.996094, 0.997238>} : (tensor<4x?x32x128xbf16>, tensor<4x?x32x128xbf16>, tensor<4x?x32x128xbf16>) -> (tensor<4x?x32x128xbf16>, tensor<4x32x128x128xf32>)
  return %o, %s : tensor<4x?x32x128xbf16>, tensor<4x32x128x128xf32>
}
