// kopt-scale-linear-inputs multiplies the input of every linear reading a
// named weight by `<name>.input_scale` ([K], the input's dtype); other
// linears are untouched (errors: scale-linear-inputs-invalid.mlir).
// RUN: kopt-opt %s --kopt-scale-linear-inputs="weights=up.weight,head" | FileCheck %s

// CHECK-LABEL: func.func @block
// CHECK: %[[S:.+]] = kopt.weight "up.weight.input_scale" : tensor<128xbf16>
// CHECK: %[[X:.+]] = kopt.mul %arg0, %[[S]] : (tensor<1x?x128xbf16>, tensor<128xbf16>) -> tensor<1x?x128xbf16>
// CHECK: kopt.linear %[[X]], %{{.+}} : (tensor<1x?x128xbf16>, tensor<256x128xbf16>)
// CHECK-NOT: input_scale
// CHECK: kopt.linear %{{.+}}, %{{.+}} : (tensor<1x?x256xbf16>, tensor<128x256xbf16>)
// CHECK-LABEL: func.func @shared
// Each read of a shared weight gets its own scaling.
// CHECK-COUNT-2: kopt.weight "head.input_scale" : tensor<64xf32>


func.func @block(%x: tensor<1x?x128xbf16>) -> tensor<1x?x128xbf16> {
  %up = kopt.weight "up.weight" : tensor<256x128xbf16>
  %h = kopt.linear %x, %up : (tensor<1x?x128xbf16>, tensor<256x128xbf16>) -> tensor<1x?x256xbf16>
  %down = kopt.weight "down.weight" : tensor<128x256xbf16>
  %y = kopt.linear %h, %down : (tensor<1x?x256xbf16>, tensor<128x256xbf16>) -> tensor<1x?x128xbf16>
  return %y : tensor<1x?x128xbf16>
}

func.func @shared(%a: tensor<?x64xf32>, %b: tensor<?x64xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %w = kopt.weight "head" : tensor<8x64xf32>
  %ya = kopt.linear %a, %w : (tensor<?x64xf32>, tensor<8x64xf32>) -> tensor<?x8xf32>
  %yb = kopt.linear %b, %w : (tensor<?x64xf32>, tensor<8x64xf32>) -> tensor<?x8xf32>
  return %ya, %yb : tensor<?x8xf32>, tensor<?x8xf32>
}
