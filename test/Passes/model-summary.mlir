// kopt-model-summary counts ops per function and distinct weights (by name),
// including the storage of compressed weights.
// RUN: kopt-opt %s --kopt-model-summary -o /dev/null 2>&1 | FileCheck %s

// CHECK: kopt model summary: @m
// CHECK-NEXT: func @f : (tensor<?x512xf16>) -> tensor<?x256xf16>
// CHECK-NEXT: dynamic dims: arg0[0], result0[0]
// CHECK-NEXT: ops: 5
// CHECK-NEXT: func.return: 1
// CHECK-NEXT: kopt.linear: 2
// CHECK-NEXT: kopt.weight: 2
// CHECK-NEXT: func @g : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: dynamic dims: none
// The two reads of "q" count once: 256*512 int4 codes + 256*4 f16 scales
// = 67584 bytes, plus 256*512 f16 = 262144 bytes: 0.31 MiB.
// CHECK: weights: 2 tensors, 262144 parameters, 0.31 MiB
module @m {
  func.func @f(%x: tensor<?x512xf16>) -> tensor<?x256xf16> {
    %q = kopt.weight "q" : !kopt.quantized<256x512xi4, group_size = 128, scale = f16>
    %y = kopt.linear %x, %q : (tensor<?x512xf16>, !kopt.quantized<256x512xi4, group_size = 128, scale = f16>) -> tensor<?x256xf16>
    %d = kopt.weight "d" : tensor<256x512xf16>
    %z = kopt.linear %x, %d : (tensor<?x512xf16>, tensor<256x512xf16>) -> tensor<?x256xf16>
    return %z : tensor<?x256xf16>
  }
  func.func @g(%x: tensor<4xf32>) -> tensor<4xf32> {
    %q = kopt.weight "q" : !kopt.quantized<256x512xi4, group_size = 128, scale = f16>
    return %x : tensor<4xf32>
  }
}
