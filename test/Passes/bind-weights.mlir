// kopt-bind-weights checks a checkpoint against the model, naming every
// weight that is missing or mismatched at its location, and records the
// checkpoint as the model's default weights in the plan.
// RUN: kopt-weights %s --random -o %t.good.safetensors
// RUN: kopt %s --weights=%t.good.safetensors -o %t.so
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// PLAN: "default_weights": "{{/.*}}good.safetensors"
// The plan's default is used when kopt-run gets no --weights.
// RUN: kopt-run %t.so '--input=2x4xf32=1' | FileCheck %s --check-prefix=OUT
// OUT: result[0]: 2x3xf32=
// RUN: kopt-weights %S/Inputs/bind-weights-other.mlir --random -o %t.bad.safetensors
// RUN: kopt %s --weights=%t.bad.safetensors --verify-diagnostics -o /dev/null

func.func @f(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{weight 'proj' is f32 [4x3] in '}}
  %w = kopt.weight "proj" : tensor<3x4xf32>
  // expected-error @+1 {{weight 'bias' is not in '}}
  %b = kopt.weight "bias" : tensor<3xf32>
  %y = kopt.linear %x, %w, %b : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}
