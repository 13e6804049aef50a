// The named pipelines are registered and leave a model valid.
// RUN: kopt-opt %s --pass-pipeline='builtin.module(kopt-model-pipeline{fuse=true quantize=int4 sparsify=2:4})' | FileCheck %s
// RUN: kopt-opt %s --kopt-fuse-pipeline --kopt-quantize-pipeline=mode=fp8 --kopt-sparsify-pipeline | FileCheck %s
// RUN: kopt-opt %s --kopt-model-pipeline --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not kopt-opt %s --kopt-sparsify=pattern=block:0x4:0.5 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not kopt-opt %s --kopt-quantize=group-size=-2 2>&1 | FileCheck %s --check-prefix=GROUP

// EMPTY: builtin.module(
// EMPTY-NEXT: canonicalize
// EMPTY-NEXT: )
// BAD: error: kopt-sparsify: invalid sparsity pattern 'block:0x4:0.5': block shape must be RxC with R, C > 0
// GROUP: error: kopt-quantize: group-size must be -1 (per channel), 0 (per tensor) or positive, got -2

// CHECK-LABEL: func.func @mlp
// CHECK: kopt.linear
// CHECK: kopt.silu
func.func @mlp(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>) -> tensor<?x128xf32> {
  %h = kopt.linear %x, %w : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  %a = kopt.silu %h : (tensor<?x128xf32>) -> tensor<?x128xf32>
  return %a : tensor<?x128xf32>
}
