// kopt --fuse on the GPU: a linear's epilogue runs inside each of its
// kernels (the GEMV up to 8 tokens, the wgmma GEMM beyond; mma.sync on
// sm_80), which read the epilogue's operands after their own; an
// elementwise tree is one kernel. No elementwise launch is left.
// RUN: kopt %s --fuse -o %t.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}
// RUN: kopt %s --fuse --target=sm_80 -o %t.80.ptx
// RUN: FileCheck %s --check-prefix=SM80 < %t.80.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_80 %t.80.ptx -o /dev/null %}
// Unfused, the same functions launch their elementwise ops on their own.
// RUN: kopt %s --merge-launches=false -o %t.unfused.ptx
// RUN: FileCheck %s --check-prefix=UNFUSED < %t.unfused.plan.json

// Every launch of the linear ends with the residual (input 3); then the
// tree's one launch.
// PLAN:       "buffer": 3
// PLAN-NEXT:  }
// PLAN-NEXT:  ],
// PLAN-NEXT:  "block": 256,
// PLAN:       "kernel": "gemv_
// PLAN-NOT:   "kernel": "elementwise
// PLAN:       "buffer": 3
// PLAN-NEXT:  }
// PLAN-NEXT:  ],
// PLAN:       "kernel": "wgmma_gemm_
// PLAN-NOT:   "kernel": "elementwise
// PLAN:       "kernel": "wgmma_gemm_
// PLAN-NOT:   "kernel": "elementwise
// PLAN:       "name": "block"
// PLAN:       "kernel": "fused_elementwise_
// PLAN-NOT:   "kernel":
// PLAN:       "name": "tree"

// The GEMV's epilogue: gelu's tanh (through ex2), the residual load, one
// 16-bit store.
// PTX-LABEL: .entry gemv_
// PTX:       ex2.approx
// PTX:       ld.global.b16
// PTX:       st.global.b16
// PTX-LABEL: .entry wgmma_gemm_
// PTX-LABEL: .entry fused_elementwise_
// PTX:       ex2.approx

// SM80-NOT:   "kernel": "elementwise
// SM80:       "kernel": "mma_gemm_
// SM80-NOT:   "kernel": "elementwise
// SM80:       "name": "block"

// UNFUSED:       "kernel": "elementwise
// UNFUSED:       "kernel": "elementwise
// UNFUSED:       "name": "block"
// UNFUSED:       "kernel": "elementwise
// UNFUSED:       "kernel": "elementwise
// UNFUSED:       "kernel": "elementwise
// UNFUSED:       "kernel": "elementwise
// UNFUSED:       "name": "tree"

func.func @block(%x: tensor<?x64xbf16>, %w: tensor<128x64xbf16>, %b: tensor<128xbf16>, %r: tensor<?x128xbf16>) -> tensor<?x128xbf16> {
  %l = kopt.linear %x, %w, %b : (tensor<?x64xbf16>, tensor<128x64xbf16>, tensor<128xbf16>) -> tensor<?x128xbf16>
  %g = kopt.gelu %l {approximate = "tanh"} : tensor<?x128xbf16>
  %o = kopt.add %g, %r : tensor<?x128xbf16>
  return %o : tensor<?x128xbf16>
}

func.func @tree(%g: tensor<?x13xbf16>, %u: tensor<?x13xbf16>, %c: tensor<13xbf16>) -> tensor<?x13xbf16> {
  %s = kopt.silu %g : tensor<?x13xbf16>
  %m = kopt.mul %s, %u : tensor<?x13xbf16>
  %e = kopt.exp %c : tensor<13xbf16>
  %o = kopt.add %m, %e : (tensor<?x13xbf16>, tensor<13xbf16>) -> tensor<?x13xbf16>
  return %o : tensor<?x13xbf16>
}
