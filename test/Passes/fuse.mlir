// Each kopt-fuse rule, and what it leaves alone.
// RUN: kopt-opt %s --kopt-fuse --split-input-file | FileCheck %s
// RUN: kopt-opt %s --kopt-fuse=epilogues=false --split-input-file | FileCheck %s --check-prefix=NOEPI
// RUN: kopt-opt %s --kopt-fuse=norms=false --split-input-file | FileCheck %s --check-prefix=NONORM

// A linear's bias add, activation, residual add and cast: one epilogue.
// CHECK-LABEL: func.func @epilogue
// CHECK:      %[[F:.*]] = kopt.fused "linear_epilogue" -> tensor<?x128xf32> {
// CHECK-NEXT:   %[[L:.*]] = kopt.linear %arg0, %arg1
// CHECK-NEXT:   %[[B:.*]] = kopt.add %[[L]], %arg2
// CHECK-NEXT:   %[[G:.*]] = kopt.gelu %[[B]]
// CHECK-NEXT:   %[[R:.*]] = kopt.add %arg3, %[[G]]
// CHECK-NEXT:   %[[C:.*]] = kopt.cast %[[R]]
// CHECK-NEXT:   kopt.yield %[[C]] : tensor<?x128xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[F]]
// Without the epilogue rule the chain is an elementwise tree.
// NOEPI-LABEL: func.func @epilogue
// NOEPI:      kopt.linear
// NOEPI-NEXT: kopt.fused "elementwise"
func.func @epilogue(%x: tensor<?x64xbf16>, %w: tensor<128x64xbf16>, %b: tensor<128xbf16>, %r: tensor<?x128xbf16>) -> tensor<?x128xf32> {
  %l = kopt.linear %x, %w : (tensor<?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x128xbf16>
  %lb = kopt.add %l, %b : (tensor<?x128xbf16>, tensor<128xbf16>) -> tensor<?x128xbf16>
  %g = kopt.gelu %lb : tensor<?x128xbf16>
  %s = kopt.add %r, %g : tensor<?x128xbf16>
  %c = kopt.cast %s : (tensor<?x128xbf16>) -> tensor<?x128xf32>
  return %c : tensor<?x128xf32>
}

// -----

// SwiGLU: the up projection runs first; the gate projection's epilogue is
// silu and the product with it. The down projection takes the residual.
// (Linears take epilogues in program order: the first one reading into
// the product gets it.)
// CHECK-LABEL: func.func @swiglu
// CHECK:      %[[U:.*]] = kopt.linear %arg0, %arg2
// CHECK-NEXT: %[[H:.*]] = kopt.fused "linear_epilogue"
// CHECK-NEXT:   %[[G:.*]] = kopt.linear %arg0, %arg1
// CHECK-NEXT:   %[[S:.*]] = kopt.silu %[[G]]
// CHECK-NEXT:   %[[M:.*]] = kopt.mul %[[S]], %[[U]]
// CHECK-NEXT:   kopt.yield %[[M]]
// CHECK:      kopt.fused "linear_epilogue"
// CHECK-NEXT:   kopt.linear %[[H]], %arg3
// CHECK-NEXT:   kopt.add %arg0
func.func @swiglu(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>, %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %g = kopt.linear %x, %wg : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %u = kopt.linear %x, %wu : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %s = kopt.silu %g : tensor<?x96xf32>
  %h = kopt.mul %s, %u : tensor<?x96xf32>
  %d = kopt.linear %h, %wd : (tensor<?x96xf32>, tensor<64x96xf32>) -> tensor<?x64xf32>
  %o = kopt.add %x, %d : tensor<?x64xf32>
  return %o : tensor<?x64xf32>
}

// -----

// Per-token and scalar operands index the epilogue too.
// CHECK-LABEL: func.func @token_and_scalar
// CHECK:      kopt.fused "linear_epilogue"
// CHECK-NEXT:   kopt.linear
// CHECK-NEXT:   kopt.mul
// CHECK-NEXT:   kopt.sub
// CHECK-NEXT:   kopt.yield
func.func @token_and_scalar(%x: tensor<2x?x8xf32>, %w: tensor<4x8xf32>, %t: tensor<2x?x1xf32>, %c: tensor<f32>) -> tensor<2x?x4xf32> {
  %l = kopt.linear %x, %w : (tensor<2x?x8xf32>, tensor<4x8xf32>) -> tensor<2x?x4xf32>
  %m = kopt.mul %l, %t : (tensor<2x?x4xf32>, tensor<2x?x1xf32>) -> tensor<2x?x4xf32>
  %s = kopt.sub %c, %m : (tensor<f32>, tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  return %s : tensor<2x?x4xf32>
}

// -----

// An elementwise tree: every intermediate read once, inside the tree; the
// broadcast operand's own op joins it (recomputed per element).
// CHECK-LABEL: func.func @tree
// CHECK:      %[[F:.*]] = kopt.fused "elementwise" -> tensor<?x13xbf16> {
// CHECK-NEXT:   kopt.silu %arg0
// CHECK-NEXT:   kopt.mul
// CHECK-NEXT:   kopt.exp %arg2
// CHECK-NEXT:   kopt.add
// CHECK-NEXT:   kopt.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[F]]
func.func @tree(%g: tensor<?x13xbf16>, %u: tensor<?x13xbf16>, %c: tensor<13xbf16>) -> tensor<?x13xbf16> {
  %s = kopt.silu %g : tensor<?x13xbf16>
  %m = kopt.mul %s, %u : tensor<?x13xbf16>
  %e = kopt.exp %c : tensor<13xbf16>
  %o = kopt.add %m, %e : (tensor<?x13xbf16>, tensor<13xbf16>) -> tensor<?x13xbf16>
  return %o : tensor<?x13xbf16>
}

// -----

// Not fused: a value read twice stays in memory (the epilogue stops before
// it, the tree roots at it); a lone elementwise op is its own kernel.
// CHECK-LABEL: func.func @shared
// CHECK:      %[[L:.*]] = kopt.fused "linear_epilogue"
// CHECK-NEXT:   kopt.linear
// CHECK-NEXT:   kopt.relu
// CHECK-NEXT:   kopt.yield
// CHECK:      kopt.neg %[[L]]
// CHECK-NEXT: kopt.tanh %[[L]]
// CHECK-NOT:  kopt.fused
func.func @shared(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %l = kopt.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  %r = kopt.relu %l : tensor<?x4xf32>
  %a = kopt.neg %r : tensor<?x4xf32>
  %b = kopt.tanh %r : tensor<?x4xf32>
  return %a, %b : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// An rmsnorm read only as linears' activations (one of them in an epilogue
// group) is marked for them to apply; one also read by an add is not. With
// norms=false neither is.
// CHECK-LABEL: func.func @norms
// CHECK:      %[[N:.*]] = kopt.rmsnorm %arg0, %arg1 {epsilon = {{.*}}, kopt.into_readers}
// CHECK:      kopt.linear %[[N]], %arg2
// CHECK:      kopt.fused "linear_epilogue"
// CHECK-NEXT:   kopt.linear %[[N]], %arg3
// CHECK:      %[[M:.*]] = kopt.rmsnorm
// CHECK-NOT:  kopt.into_readers
// CHECK-SAME: -> tensor<?x64xbf16>
// NONORM-LABEL: func.func @norms
// NONORM-NOT:   kopt.into_readers
func.func @norms(%x: tensor<?x64xbf16>, %g: tensor<64xbf16>, %wq: tensor<32x64xbf16>, %wk: tensor<16x64xbf16>) -> (tensor<?x32xbf16>, tensor<?x16xbf16>, tensor<?x64xbf16>) {
  %n = kopt.rmsnorm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  %q = kopt.linear %n, %wq : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  %k = kopt.linear %n, %wk : (tensor<?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x16xbf16>
  %kr = kopt.relu %k : tensor<?x16xbf16>
  %m = kopt.rmsnorm %x, %g : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  %a = kopt.add %m, %x : tensor<?x64xbf16>
  return %q, %kr, %a : tensor<?x32xbf16>, tensor<?x16xbf16>, tensor<?x64xbf16>
}
