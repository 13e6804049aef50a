// Malformed input gives file:line:col: error, never a crash, from both tools.
// RUN: not kopt %s 2>&1 | FileCheck %s
// RUN: not kopt-opt %s 2>&1 | FileCheck %s
// RUN: kopt %s --verify-diagnostics -o /dev/null

func.func @truncated(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: malformed.mlir:[[@LINE+2]]:{{[0-9]+}}: error: expected ','
  // expected-error @+1 {{expected ','}}
  %y = kopt.add %x %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
