// kopt.dequantize: the stored tensors of a quantized weight, in the shapes
// the encoding gives them, back to the logical weight.
// RUN: kopt-opt %s | kopt-opt | FileCheck %s
// RUN: kopt-opt %s --kopt-expand-quantized-weights | FileCheck %s --check-prefix=EXPAND

// CHECK-LABEL: func.func @layouts
// CHECK: kopt.dequantize %{{.+}}, %{{.+}} {encoding = !kopt.quantized<64x128xi4, group_size = 32, scale = bf16, layout = mma>} : (tensor<4x1024xi8>, tensor<64x4xbf16>) -> tensor<64x128xbf16>
// CHECK: kopt.dequantize %{{.+}}, %{{.+}}, %{{.+}} {encoding = !kopt.quantized<10x7xi4, group_size = 7, scale = f16, zero_point = i4>} : (tensor<10x4xi8>, tensor<10x1xf16>, tensor<10x1xi8>) -> tensor<10x7xf16>
// CHECK: kopt.dequantize %{{.+}}, %{{.+}} {encoding = !kopt.quantized<2x8x32xf8E4M3FN, group_size = 0, scale = f32>} : (tensor<2x8x32xf8E4M3FN>, tensor<2x1x1xf32>) -> tensor<2x8x32xf32>
func.func @layouts(%q: tensor<4x1024xi8>, %s: tensor<64x4xbf16>,
                   %p: tensor<10x4xi8>, %ps: tensor<10x1xf16>, %pz: tensor<10x1xi8>,
                   %f: tensor<2x8x32xf8E4M3FN>, %fs: tensor<2x1x1xf32>)
    -> (tensor<64x128xbf16>, tensor<10x7xf16>, tensor<2x8x32xf32>) {
  %a = kopt.dequantize %q, %s {encoding = !kopt.quantized<64x128xi4, group_size = 32, scale = bf16, layout = mma>} : (tensor<4x1024xi8>, tensor<64x4xbf16>) -> tensor<64x128xbf16>
  %b = kopt.dequantize %p, %ps, %pz {encoding = !kopt.quantized<10x7xi4, group_size = 7, scale = f16, zero_point = i4>} : (tensor<10x4xi8>, tensor<10x1xf16>, tensor<10x1xi8>) -> tensor<10x7xf16>
  %c = kopt.dequantize %f, %fs {encoding = !kopt.quantized<2x8x32xf8E4M3FN, group_size = 0, scale = f32>} : (tensor<2x8x32xf8E4M3FN>, tensor<2x1x1xf32>) -> tensor<2x8x32xf32>
  return %a, %b, %c : tensor<64x128xbf16>, tensor<10x7xf16>, tensor<2x8x32xf32>
}

// Code generation binds a quantized weight as its parts, tagged for the
// runtime's load-time packing.
// EXPAND-LABEL: func.func @expand
// EXPAND: %[[Q:.+]] = kopt.weight "w.qweight" {kopt.quantized_part = {encoding = !kopt.quantized<16x64xi8, group_size = 64, scale = f16, zero_point = i8, layout = mma>, part = "qweight", source = "w"}} : tensor<1x1024xi8>
// EXPAND: %[[S:.+]] = kopt.weight "w.scales" {{.+}} : tensor<16x1xf16>
// EXPAND: %[[Z:.+]] = kopt.weight "w.zeros" {{.+}} : tensor<16x1xi8>
// EXPAND: %[[W:.+]] = kopt.dequantize %[[Q]], %[[S]], %[[Z]]
// EXPAND: kopt.linear %{{.+}}, %[[W]]
func.func @expand(%x: tensor<?x64xf16>) -> tensor<?x16xf16> {
  %w = kopt.weight "w" : !kopt.quantized<16x64xi8, group_size = 64, scale = f16, zero_point = i8, layout = mma>
  %y = kopt.linear %x, %w : (tensor<?x64xf16>, !kopt.quantized<16x64xi8, group_size = 64, scale = f16, zero_point = i8, layout = mma>) -> tensor<?x16xf16>
  return %y : tensor<?x16xf16>
}
