// With remarks, kopt-fuse says why each fusion it could have made was not.
// RUN: kopt-opt %s --kopt-fuse=remarks=true --split-input-file --verify-diagnostics

func.func @shared_output(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  // expected-remark @below {{stops here: this result has 2 readers, so it must be stored}}
  %l = kopt.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  %a = kopt.relu %l : tensor<?x4xf32>
  %b = kopt.tanh %l : tensor<?x4xf32>
  return %a, %b : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

func.func @grows_output(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>, %y: tensor<3x?x4xf32>) -> tensor<3x?x4xf32> {
  %l = kopt.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  // expected-remark @below {{not fused into the epilogue of the linear at}}
  %a = kopt.add %l, %y : (tensor<?x4xf32>, tensor<3x?x4xf32>) -> tensor<3x?x4xf32>
  return %a : tensor<3x?x4xf32>
}

// -----

func.func @reads_twice(%x: tensor<5x8xf32>, %w: tensor<4x8xf32>) -> tensor<5x4xf32> {
  %l = kopt.linear %x, %w : (tensor<5x8xf32>, tensor<4x8xf32>) -> tensor<5x4xf32>
  // expected-remark @below {{it reads the output twice}}
  %e = kopt.mul %l, %l : tensor<5x4xf32>
  return %e : tensor<5x4xf32>
}

// -----

func.func @middle_broadcast(%x: tensor<2x3x8xf32>, %w: tensor<4x8xf32>, %c: tensor<2x1x4xf32>) -> tensor<2x3x4xf32> {
  %l = kopt.linear %x, %w : (tensor<2x3x8xf32>, tensor<4x8xf32>) -> tensor<2x3x4xf32>
  // expected-remark @below {{its operand of shape 2x1x4 is not indexed by the output's token and feature}}
  %a = kopt.add %l, %c : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  return %a : tensor<2x3x4xf32>
}

// -----

func.func @integer_result(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) -> tensor<?x4xi32> {
  %l = kopt.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  // expected-remark @below {{its result is not a float tensor}}
  %i = kopt.cast %l : (tensor<?x4xf32>) -> tensor<?x4xi32>
  return %i : tensor<?x4xi32>
}

// -----

func.func @recomputed(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  // expected-remark @+2 {{fuse-remarks.mlir":54:8): its result has several readers and would be recomputed}}
  // expected-remark @+1 {{fuse-remarks.mlir":56:8): its result has several readers and would be recomputed}}
  %s = kopt.silu %a : tensor<?x4xf32>
  %m = kopt.mul %s, %b : tensor<?x4xf32>
  %n = kopt.neg %s : tensor<?x4xf32>
  %o = kopt.exp %n : tensor<?x4xf32>
  return %m, %o : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

func.func @norm_read_by_add(%x: tensor<?x8xf32>, %g: tensor<8xf32>, %w: tensor<4x8xf32>) -> (tensor<?x4xf32>, tensor<?x8xf32>) {
  // expected-remark @below {{not applied by the linears reading it: read by 'kopt.add' at}}
  %n = kopt.rmsnorm %x, %g : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %l = kopt.linear %n, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  %a = kopt.add %n, %x : tensor<?x8xf32>
  return %l, %a : tensor<?x4xf32>, tensor<?x8xf32>
}
