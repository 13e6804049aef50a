// Beyond 4096 experts moe_group's per-expert counters would not fit in
// static shared memory, so such a block keeps the GEMV-style kernels for
// every token count (no launch guards).
// RUN: kopt %s --target=sm_90 -o %t.ptx
// RUN: FileCheck %s < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}

// CHECK-NOT: moe_group
// CHECK-NOT: "guard"
// CHECK: "kernel": "moe_route
// CHECK: "kernel": "moe_up
// CHECK: "kernel": "moe_down
// CHECK-NOT: moe_gate_up
func.func @f(%x: tensor<?x8xbf16>, %r: tensor<4097x8xbf16>, %g: tensor<4097x8x8xbf16>, %u: tensor<4097x8x8xbf16>, %d: tensor<4097x8x8xbf16>) -> tensor<?x8xbf16> {
  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64} : (tensor<?x8xbf16>, tensor<4097x8xbf16>, tensor<4097x8x8xbf16>, tensor<4097x8x8xbf16>, tensor<4097x8x8xbf16>) -> tensor<?x8xbf16>
  return %y : tensor<?x8xbf16>
}
