// SwiGLU with packed int4 projections: up to 8 tokens the gate GEMV
// applies only the head of its epilogue (silu), not the product with up,
// so it runs beside the up projection in one merged launch; the down GEMV
// reads both and multiplies them as it loads its activations. From 9
// tokens the gate kernels apply the whole epilogue as before. With --reader-epilogues=false, with
// dense (bf16) projections and where the product has a reader other than a
// linear, the gate kernels keep the epilogue.
// RUN: kopt %s --fuse --quantize=int4 -o %t.ptx
// RUN: python3 %S/Inputs/print_launches.py %t.plan.json | FileCheck %s
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}
// RUN: kopt %s --fuse --quantize=int4 --reader-epilogues=false -o %t.off.ptx
// RUN: python3 %S/Inputs/print_launches.py %t.off.plan.json | FileCheck %s --check-prefix=DENSE
// RUN: kopt %s --fuse -o %t.dense.ptx
// RUN: python3 %S/Inputs/print_launches.py %t.dense.plan.json | FileCheck %s --check-prefix=DENSE

// Buffers: 0 = x, 1 = r; up's part: out U, x, codes, scales, rows; the
// gate's: raw G, x, codes, scales, rows (no epilogue operand).
// CHECK:      mlp merged_{{[0-9]+}} guard=1..8 args=[[U:[0-9]+]],0,{{[0-9]+}},{{[0-9]+}},s0,[[G:[0-9]+]],0,{{[0-9]+}},{{[0-9]+}},s0,
// The gate's own band from 9 tokens reads up in its epilogue.
// CHECK:      mlp qlinear_{{[0-9]+}} guard=9..16 args=[[P:[0-9]+]],0,{{[0-9]+}},{{[0-9]+}},s0,[[U]]{{$}}
// The down GEMV: raw gate as x, up after rows, then the residual.
// CHECK:      mlp qlinear_{{[0-9]+}} guard=1..8 args={{[0-9]+}},[[G]],{{[0-9]+}},{{[0-9]+}},s0,[[U]],1{{$}}
// CHECK-NEXT: mlp qlinear_{{[0-9]+}} guard=9..16 args={{[0-9]+}},[[P]],{{[0-9]+}},{{[0-9]+}},s0,1{{$}}
// CHECK:      other qlinear_{{[0-9]+}} guard=1..8 args={{[0-9]+}},0,{{[0-9]+}},{{[0-9]+}},s0,{{[0-9]+}}{{$}}

// PTX-LABEL: .visible .entry merged_
// PTX:       ex2.approx

// DENSE-NOT: merged

func.func @mlp(%x: tensor<?x2048xbf16>, %r: tensor<?x2048xbf16>) -> tensor<?x2048xbf16> {
  %wg = kopt.weight "wg" : tensor<5632x2048xbf16>
  %wu = kopt.weight "wu" : tensor<5632x2048xbf16>
  %wd = kopt.weight "wd" : tensor<2048x5632xbf16>
  %g = kopt.linear %x, %wg : (tensor<?x2048xbf16>, tensor<5632x2048xbf16>) -> tensor<?x5632xbf16>
  %u = kopt.linear %x, %wu : (tensor<?x2048xbf16>, tensor<5632x2048xbf16>) -> tensor<?x5632xbf16>
  %a = kopt.silu %g : tensor<?x5632xbf16>
  %p = kopt.mul %a, %u : tensor<?x5632xbf16>
  %d = kopt.linear %p, %wd : (tensor<?x5632xbf16>, tensor<2048x5632xbf16>) -> tensor<?x2048xbf16>
  %s = kopt.add %d, %r : tensor<?x2048xbf16>
  return %s : tensor<?x2048xbf16>
}

func.func @other(%x: tensor<?x2048xbf16>) -> (tensor<?x2048xbf16>, tensor<?x2048xbf16>) {
  %wg = kopt.weight "wg2" : tensor<2048x2048xbf16>
  %wu = kopt.weight "wu2" : tensor<2048x2048xbf16>
  %wd = kopt.weight "wd2" : tensor<2048x2048xbf16>
  %g = kopt.linear %x, %wg : (tensor<?x2048xbf16>, tensor<2048x2048xbf16>) -> tensor<?x2048xbf16>
  %u = kopt.linear %x, %wu : (tensor<?x2048xbf16>, tensor<2048x2048xbf16>) -> tensor<?x2048xbf16>
  %a = kopt.silu %g : tensor<?x2048xbf16>
  %p = kopt.mul %a, %u : tensor<?x2048xbf16>
  %d = kopt.linear %p, %wd : (tensor<?x2048xbf16>, tensor<2048x2048xbf16>) -> tensor<?x2048xbf16>
  return %d, %p : tensor<?x2048xbf16>, tensor<?x2048xbf16>
}
