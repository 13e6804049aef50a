// kopt.linear over mma-packed weights on the CPU: up to 8 rows the
// contraction reads the packed parts (marked for the vector kernel), above
// that the weight is dequantized once and the dense contraction runs.
// kopt-quantized-linear-microkernel then reads each 16-byte lane block of
// codes once per pass: i4 nibbles split with andi/shrui, i8 even and odd
// bytes by shuffles, x shuffled into the layout's K order for i4, bf16
// weights rounded on their bits, f32 FMAs into one accumulator per row.
// RUN: kopt-opt %s --split-input-file --pass-pipeline='builtin.module(kopt-prepare-cpu-abi, convert-kopt-to-linalg)' | FileCheck %s --check-prefix=LINALG
// RUN: kopt-opt %s --split-input-file --pass-pipeline='builtin.module(kopt-prepare-cpu-abi, convert-kopt-to-linalg, one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}, func.func(kopt-linear-microkernel, kopt-quantized-linear-microkernel))' | FileCheck %s

// LINALG-LABEL: func.func @int4
// LINALG: arith.cmpi ule, %{{.+}}, %c8
// LINALG: scf.if
// LINALG: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<?x256xbf16>, tensor<4096xi8>, tensor<64xbf16>)
// LINALG-SAME: kopt.encoding = !kopt.quantized<32x256xi4, group_size = 128, scale = bf16, layout = mma>
// LINALG-SAME: kopt.microkernel = "qlinear"
// LINALG: } else {
// LINALG: linalg.generic
// LINALG: linalg.generic {{.+}}kopt.microkernel = "linear"

// CHECK-LABEL: func.func @int4
// CHECK-NOT: kopt.microkernel = "qlinear"
// CHECK: vector.load {{.+}} : memref<4096xi8>, vector<16xi8>
// CHECK: arith.andi {{.+}} : vector<16xi8>
// CHECK: arith.shrui {{.+}} : vector<16xi8>
// CHECK: arith.uitofp {{.+}} : vector<16xi8> to vector<16xf32>
// CHECK: arith.bitcast {{.+}} : vector<16xf32> to vector<16xi32>
// CHECK: vector.transfer_read {{.+}} : memref<?x256xbf16>, vector<16xbf16>
// CHECK: vector.shuffle {{.+}} [0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15]
// CHECK: vector.fma {{.+}} : vector<16xf32>
// CHECK: vector.reduction <add>
func.func @int4(%x: tensor<?x256xbf16>, %q: tensor<2x2048xi8>, %s: tensor<32x2xbf16>) -> tensor<?x32xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<32x256xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<2x2048xi8>, tensor<32x2xbf16>) -> tensor<32x256xbf16>
  %y = kopt.linear %x, %w : (tensor<?x256xbf16>, tensor<32x256xbf16>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// CHECK-LABEL: func.func @int8
// CHECK: vector.load {{.+}} : memref<4096xi8>, vector<16xi8>
// CHECK: vector.shuffle {{.+}} [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK: vector.shuffle {{.+}} [1, 3, 5, 7, 9, 11, 13, 15]
// CHECK: memref.load {{.+}} : memref<40xi8>
// CHECK: vector.fma {{.+}} : vector<8xf32>
func.func @int8(%x: tensor<?x128xf32>, %q: tensor<2x2048xi8>, %s: tensor<20x2xf32>, %z: tensor<20x2xi8>) -> tensor<?x20xf32> {
  %w = kopt.dequantize %q, %s, %z {encoding = !kopt.quantized<20x128xi8, group_size = 64, scale = f32, zero_point = i8, layout = mma>} : (tensor<2x2048xi8>, tensor<20x2xf32>, tensor<20x2xi8>) -> tensor<20x128xf32>
  %y = kopt.linear %x, %w : (tensor<?x128xf32>, tensor<20x128xf32>) -> tensor<?x20xf32>
  return %y : tensor<?x20xf32>
}
