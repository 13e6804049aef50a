// An rmsnorm that kopt-fuse marked for its readers runs only from 9 rows
// on when they are all GEMVs over packed weights: up to 8 rows those
// (merged or not) read the norm's input and weight instead of its result
// and scale each row's sums by its rsqrt(mean(x^2) + eps). A norm read by
// dense GEMVs or by an add, and every norm without --fuse, runs at every
// row count.
// RUN: kopt %s --fuse --quantize=int4 -o %t.ptx
// RUN: python3 %S/Inputs/print_launches.py %t.plan.json | FileCheck %s
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}
// RUN: kopt %s --fuse --quantize=int4 --merge-launches=false -o %t.apart.ptx
// RUN: python3 %S/Inputs/print_launches.py %t.apart.plan.json | FileCheck %s --check-prefix=APART
// RUN: kopt %s --fuse -o %t.dense.ptx
// RUN: python3 %S/Inputs/print_launches.py %t.dense.plan.json | FileCheck %s --check-prefix=DENSE
// RUN: kopt %s --quantize=int4 -o %t.unfused.ptx
// RUN: python3 %S/Inputs/print_launches.py %t.unfused.plan.json | FileCheck %s --check-prefix=UNFUSED

// Buffers: 0 = x, 1 = g (the norm's input and weight); each packed part
// takes out, x, codes, scales, rows, g.
// CHECK:      block rownorm_{{[0-9]+}} guard=9.. args=[[N:[0-9]+]],0,1
// CHECK-NEXT: block merged_{{[0-9]+}} guard=1..8 args={{[0-9]+}},0,{{[0-9]+}},{{[0-9]+}},s0,1,{{[0-9]+}},0,{{[0-9]+}},{{[0-9]+}},s0,1,{{[0-9]+}},0,{{[0-9]+}},{{[0-9]+}},s0,1,
// CHECK-NEXT: block merged_{{[0-9]+}} guard=9..16 args={{[0-9]+}},[[N]],
// CHECK:      shared rownorm_{{[0-9]+}} guard=- args=[[M:[0-9]+]],0,1
// CHECK:      shared qlinear_{{[0-9]+}} guard=1..8 args={{[0-9]+}},[[M]],

// PTX-LABEL: .visible .entry merged_
// PTX:       mul.rn.bf16x2
// PTX:       rsqrt.approx.f32

// APART:      block rownorm_{{[0-9]+}} guard=9..
// APART-NEXT: block qlinear_{{[0-9]+}} guard=1..8 args={{[0-9]+}},0,{{[0-9]+}},{{[0-9]+}},s0,1{{$}}
// APART-NEXT: block qlinear_{{[0-9]+}} guard=9..16 args={{[0-9]+}},{{[0-9]+}},{{[0-9]+}},{{[0-9]+}},s0{{$}}

// DENSE:     block rownorm_{{[0-9]+}} guard=- args
// DENSE-NOT: rownorm_{{[0-9]+}} guard=9..

// UNFUSED:     block rownorm_{{[0-9]+}} guard=- args
// UNFUSED-NOT: rownorm_{{[0-9]+}} guard=9..

func.func @block(%x: tensor<1x?x2048xbf16>) -> (tensor<1x?x2048xbf16>, tensor<1x?x256xbf16>, tensor<1x?x256xbf16>) {
  %g = kopt.weight "g" : tensor<2048xbf16>
  %wq = kopt.weight "wq" : tensor<2048x2048xbf16>
  %wk = kopt.weight "wk" : tensor<256x2048xbf16>
  %wv = kopt.weight "wv" : tensor<256x2048xbf16>
  %n = kopt.rmsnorm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<1x?x2048xbf16>, tensor<2048xbf16>) -> tensor<1x?x2048xbf16>
  %q = kopt.linear %n, %wq : (tensor<1x?x2048xbf16>, tensor<2048x2048xbf16>) -> tensor<1x?x2048xbf16>
  %k = kopt.linear %n, %wk : (tensor<1x?x2048xbf16>, tensor<256x2048xbf16>) -> tensor<1x?x256xbf16>
  %v = kopt.linear %n, %wv : (tensor<1x?x2048xbf16>, tensor<256x2048xbf16>) -> tensor<1x?x256xbf16>
  return %q, %k, %v : tensor<1x?x2048xbf16>, tensor<1x?x256xbf16>, tensor<1x?x256xbf16>
}

func.func @shared(%x: tensor<?x512xbf16>) -> (tensor<?x512xbf16>, tensor<?x512xbf16>) {
  %g = kopt.weight "g2" : tensor<512xbf16>
  %w = kopt.weight "w2" : tensor<512x512xbf16>
  %n = kopt.rmsnorm %x, %g : (tensor<?x512xbf16>, tensor<512xbf16>) -> tensor<?x512xbf16>
  %l = kopt.linear %n, %w : (tensor<?x512xbf16>, tensor<512x512xbf16>) -> tensor<?x512xbf16>
  %a = kopt.add %n, %x : tensor<?x512xbf16>
  return %l, %a : tensor<?x512xbf16>, tensor<?x512xbf16>
}
