// NumPy has no float8: kopt-run feeds a uint8 .npy to a float8 input as its
// bit patterns (0x38 is 1.0 in e4m3), and refuses an int8 one.
// RUN: kopt %s -o %t.so
// RUN: python3 %S/Inputs/full_npy.py %t.q.npy '|u1' 3 16 0x38
// RUN: python3 %S/Inputs/full_npy.py %t.i8.npy '|i1' 3 16 0x38
// RUN: kopt-run %t.so --input=2x16xf32=0.5 --input=@%t.q.npy --input=3x1xf32=2 --expected_output=2x3xf32=16 | FileCheck %s
// RUN: not kopt-run %t.so --input=2x16xf32=0.5 --input=@%t.i8.npy --input=3x1xf32=2 2>&1 | FileCheck %s --check-prefix=INT8
// CHECK: result[0]: ok
// INT8: kopt-run: error: {{.*}}input 1 has dtype i8 but the plan requires f8E4M3FN

func.func @forward(%x: tensor<2x16xf32>, %q: tensor<3x16xf8E4M3FN>, %s: tensor<3x1xf32>) -> tensor<2x3xf32> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<3x16xf8E4M3FN, group_size = 16, scale = f32>} : (tensor<3x16xf8E4M3FN>, tensor<3x1xf32>) -> tensor<3x16xf32>
  %y = kopt.linear %x, %w : (tensor<2x16xf32>, tensor<3x16xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
