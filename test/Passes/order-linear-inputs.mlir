// kopt-order-linear-inputs makes every linear reading a named weight read
// its input's last dim through `<name>.input_order` (i32 [K]): the last
// dim moved first, gathered along axis 0, moved back; other linears are
// untouched (errors: order-linear-inputs-invalid.mlir).
// RUN: kopt-opt %s --kopt-order-linear-inputs="weights=up.weight,head" | FileCheck %s

// CHECK-LABEL: func.func @block
// CHECK: %[[O:.+]] = kopt.weight "up.weight.input_order" : tensor<128xi32>
// CHECK: %[[T:.+]] = kopt.transpose %arg0 {permutation = array<i64: 2, 0, 1>} : (tensor<1x?x128xbf16>) -> tensor<128x1x?xbf16>
// CHECK: %[[G:.+]] = kopt.gather %[[T]], %[[O]] {axis = 0 : i64} : (tensor<128x1x?xbf16>, tensor<128xi32>) -> tensor<128x1x?xbf16>
// CHECK: %[[X:.+]] = kopt.transpose %[[G]] {permutation = array<i64: 1, 2, 0>} : (tensor<128x1x?xbf16>) -> tensor<1x?x128xbf16>
// CHECK: kopt.linear %[[X]], %{{.+}} : (tensor<1x?x128xbf16>, tensor<256x128xbf16>)
// CHECK-NOT: input_order
// CHECK: kopt.linear %{{.+}}, %{{.+}} : (tensor<1x?x256xbf16>, tensor<128x256xbf16>)
// CHECK-LABEL: func.func @shared
// A rank-1 input is gathered directly; each read of a shared weight gets
// its own reordering.
// CHECK: %[[O1:.+]] = kopt.weight "head.input_order" : tensor<64xi32>
// CHECK: %[[G1:.+]] = kopt.gather %arg0, %[[O1]] {axis = 0 : i64} : (tensor<64xf32>, tensor<64xi32>) -> tensor<64xf32>
// CHECK: kopt.linear %[[G1]]
// CHECK: kopt.weight "head.input_order" : tensor<64xi32>
// CHECK: kopt.transpose %arg1 {permutation = array<i64: 1, 0>} : (tensor<?x64xf32>) -> tensor<64x?xf32>

func.func @block(%x: tensor<1x?x128xbf16>) -> tensor<1x?x128xbf16> {
  %up = kopt.weight "up.weight" : tensor<256x128xbf16>
  %h = kopt.linear %x, %up : (tensor<1x?x128xbf16>, tensor<256x128xbf16>) -> tensor<1x?x256xbf16>
  %down = kopt.weight "down.weight" : tensor<128x256xbf16>
  %y = kopt.linear %h, %down : (tensor<1x?x256xbf16>, tensor<128x256xbf16>) -> tensor<1x?x128xbf16>
  return %y : tensor<1x?x128xbf16>
}

func.func @shared(%a: tensor<64xf32>, %b: tensor<?x64xf32>) -> (tensor<8xf32>, tensor<?x8xf32>) {
  %w = kopt.weight "head" : tensor<8x64xf32>
  %ya = kopt.linear %a, %w : (tensor<64xf32>, tensor<8x64xf32>) -> tensor<8xf32>
  %yb = kopt.linear %b, %w : (tensor<?x64xf32>, tensor<8x64xf32>) -> tensor<?x8xf32>
  return %ya, %yb : tensor<8xf32>, tensor<?x8xf32>
}
