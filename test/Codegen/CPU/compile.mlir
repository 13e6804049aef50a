// kopt -o model.so writes a shared object exporting one entry point per
// function and a plan whose symbolic dims tie the inputs together.
// RUN: kopt %s -o %t.so
// RUN: nm -D %t.so | FileCheck %s --check-prefix=SYMBOLS
// SYMBOLS: T kopt_call_block
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// The size and digest the runtime checks before loading the artifact.
// PLAN: "artifact": {
// PLAN-NEXT: "bytes": {{[1-9][0-9]*}},
// PLAN-NEXT: "file": "{{.*}}.so",
// PLAN-NEXT: "fnv1a64": "{{[0-9a-f]{16}"}},
// PLAN-NEXT: "kind": "cpu-shared-object"
// Least traffic: inputs s0*128 + s0*4, weights 128 + 2048, output s0*64
// bytes; flops: the linear's 2 * s0 * 16 * 32.
// PLAN: "bytes": "s0 * 196 + 2176",
// PLAN: "call": [
// PLAN-NEXT: "input:0",
// PLAN-NEXT: "input:1",
// PLAN-NEXT: "weight:0",
// PLAN-NEXT: "weight:1",
// PLAN-NEXT: "output:0",
// PLAN-NEXT: "status"
// PLAN: "flops": "s0 * 1024",
// Both inputs share the symbol s0 (rope needs positions [B, S] of the input).
// PLAN: "inputs": [
// PLAN: "shape": [
// PLAN-NEXT: 1,
// PLAN-NEXT: "s0",
// PLAN-NEXT: 4,
// PLAN-NEXT: 8
// PLAN: "shape": [
// PLAN-NEXT: 1,
// PLAN-NEXT: "s0"
// The output's dynamic dim is derived from the reshape.
// PLAN: "outputs": [
// PLAN: "shape": [
// PLAN-NEXT: 1,
// PLAN-NEXT: "s0",
// PLAN-NEXT: 16
// PLAN: "name": "norm"
// PLAN: "graph":
// PLAN: "op": "kopt.rope"
// RUN: not kopt %s --target=sm_90 -o %t.bad.so 2>&1 | FileCheck %s --check-prefix=GPU
// GPU: kopt: error: --emit=obj is for --target=cpu; a GPU target writes PTX (-o model.ptx)

func.func @block(%x: tensor<1x?x4x8xf32>, %pos: tensor<1x?xi32>) -> tensor<1x?x16xf32> {
  %r = kopt.rope %x, %pos : (tensor<1x?x4x8xf32>, tensor<1x?xi32>) -> tensor<1x?x4x8xf32>
  %f = kopt.reshape %r : (tensor<1x?x4x8xf32>) -> tensor<1x?x32xf32>
  %n = kopt.weight "norm" : tensor<32xf32>
  %y = kopt.rmsnorm %f, %n : (tensor<1x?x32xf32>, tensor<32xf32>) -> tensor<1x?x32xf32>
  %w = kopt.weight "proj" : tensor<16x32xf32>
  %z = kopt.linear %y, %w : (tensor<1x?x32xf32>, tensor<16x32xf32>) -> tensor<1x?x16xf32>
  return %z : tensor<1x?x16xf32>
}
