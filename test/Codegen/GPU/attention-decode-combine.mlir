// Decode attention over a static number of key splits combines them in
// the block that finishes each column last: one launch, no combine
// kernel. Each block publishes its partials (fence, atomic add on its
// column's counter in a "zeroed" buffer); the last resets the counter and
// reads every split's partials from L2. A run-time key count (so a
// run-time split count) keeps the combine kernel.
// RUN: kopt %s -o %t.ptx
// RUN: python3 %S/Inputs/print_launches.py %t.plan.json | FileCheck %s
// RUN: FileCheck %s --check-prefix=BUFFERS < %t.plan.json
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}

// Buffers of @cached: 0-3 inputs, 4 = out, 5-7 partials, 8 = counters.
// CHECK:      cached attention_decode_{{[0-9]+}} guard=0..15 args=4,5,6,7,8,0,1,2,3,{{[0-9]+}},s0,2048,16
// CHECK-NOT:  cached attention_combine
// CHECK:      dynamic attention_decode_{{[0-9]+}} guard=0..15 args=
// CHECK-NEXT: dynamic attention_combine_{{[0-9]+}} guard=0..15

// BUFFERS:     "source": "zeroed"
// BUFFERS-NOT: "source": "zeroed"

// PTX-LABEL: .visible .entry attention_decode_
// PTX:       fence.acq_rel.gpu;
// PTX:       atom.global.add.u32
// PTX:       ld.global.cg.f32

func.func @cached(%q: tensor<1x?x32x64xbf16>, %k: tensor<1x2048x4x64xbf16>, %v: tensor<1x2048x4x64xbf16>, %len: tensor<1xi32>) -> tensor<1x?x32x64xbf16> {
  %o = kopt.attention %q, %k, %v, %len {causal = true} : (tensor<1x?x32x64xbf16>, tensor<1x2048x4x64xbf16>, tensor<1x2048x4x64xbf16>, tensor<1xi32>) -> tensor<1x?x32x64xbf16>
  return %o : tensor<1x?x32x64xbf16>
}

func.func @dynamic(%q: tensor<1x?x32x64xbf16>, %k: tensor<1x?x4x64xbf16>, %v: tensor<1x?x4x64xbf16>) -> tensor<1x?x32x64xbf16> {
  %o = kopt.attention %q, %k, %v {causal = true} : (tensor<1x?x32x64xbf16>, tensor<1x?x4x64xbf16>, tensor<1x?x4x64xbf16>) -> tensor<1x?x32x64xbf16>
  return %o : tensor<1x?x32x64xbf16>
}
