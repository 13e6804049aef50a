// What the GPU backend cannot take is diagnosed at the op, not crashed on.
// RUN: kopt %s -o %t.ptx --verify-diagnostics --split-input-file

func.func @f(%q: tensor<1x?x2x?xf32>) -> tensor<1x?x2x?xf32> {
  // expected-error @+1 {{linear_attention on the GPU needs a static head dim of at most 256}}
  %o, %s = kopt.linear_attention %q, %q, %q : (tensor<1x?x2x?xf32>, tensor<1x?x2x?xf32>, tensor<1x?x2x?xf32>) -> (tensor<1x?x2x?xf32>, tensor<1x2x?x?xf32>)
  return %o : tensor<1x?x2x?xf32>
}

// -----

func.func @g(%x: tensor<2x?x8xf32>) -> tensor<2x?x4xf32> {
  // expected-error @+1 {{compressed weights are not in the host plan yet}}
  %w = kopt.weight "w" : !kopt.sparse<4x8xf32, "2:4">
  %y = kopt.linear %x, %w : (tensor<2x?x8xf32>, !kopt.sparse<4x8xf32, "2:4">) -> tensor<2x?x4xf32>
  return %y : tensor<2x?x4xf32>
}

// -----

func.func @h(%x: tensor<?x8xf32>, %r: tensor<4x8xf32>, %g: tensor<?x6x8xf32>, %u: tensor<4x6x8xf32>, %d: tensor<4x8x6xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{moe on the GPU needs static expert weight shapes}}
  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<?x6x8xf32>, tensor<4x6x8xf32>, tensor<4x8x6xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
