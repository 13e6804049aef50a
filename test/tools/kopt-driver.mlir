// The kopt driver: pipeline alias flags, MLIR's standard driver flags, and
// clear errors for what it cannot do.

// The alias flags run their (currently empty) passes, visible in the IR dumps.
// RUN: kopt %s --mlir-print-ir-after-all --fuse --quantize=int4 -o /dev/null 2>&1 | FileCheck %s --check-prefix=DUMP
// DUMP: IR Dump After Canonicalizer
// DUMP: IR Dump After KoptQuantizePass (kopt-quantize)
// DUMP: IR Dump After KoptFusePass (kopt-fuse)
// DUMP: IR Dump After CSE

// --dump-pass-pipeline shows what the aliases expand to, in stage order.
// RUN: kopt %s --fuse --quantize=int8 --quantize-group-size=64 --sparsify=block:16x16:0.5 --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE
// PIPELINE: builtin.module(
// PIPELINE-NEXT: kopt-bind-weights{weights=}
// PIPELINE-NEXT: canonicalize
// PIPELINE-NEXT: kopt-sparsify{pattern=block:16x16:0.5}
// PIPELINE-NEXT: kopt-quantize{group-size=64 {{.*}}mode=int8
// PIPELINE-NEXT: kopt-fuse
// PIPELINE-NEXT: canonicalize
// PIPELINE-NEXT: cse

// A textual --pass-pipeline is the whole pipeline; pass flags append.
// RUN: kopt %s --pass-pipeline='builtin.module(kopt-fuse)' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=USER
// USER: builtin.module(
// USER-NEXT: kopt-fuse
// USER-NEXT: )
// RUN: kopt %s --quantize=fp8 --kopt-model-summary --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=APPEND
// APPEND: kopt-quantize{{.*}}mode=fp8
// APPEND-NEXT: kopt-model-summary
// RUN: not kopt %s --fuse --pass-pipeline='builtin.module(cse)' 2>&1 | FileCheck %s --check-prefix=BOTH
// BOTH: kopt: error: --pass-pipeline is the whole pipeline and cannot be combined with --fuse/--quantize/--sparsify

// The output is verified MLIR that parses again.
// RUN: kopt %s --fuse | kopt-opt | FileCheck %s
// CHECK-LABEL: func.func @block
// CHECK: kopt.rmsnorm
// CHECK: kopt.linear

// --mlir-timing reports pass times.
// RUN: kopt %s --fuse --mlir-timing -o /dev/null 2>&1 | FileCheck %s --check-prefix=TIMING
// TIMING: Execution time report
// TIMING: KoptFusePass

// --summary describes the model.
// RUN: kopt %s --summary -o /dev/null 2>&1 | FileCheck %s --check-prefix=SUMMARY
// SUMMARY: kopt model summary: <unnamed module>
// SUMMARY: func @block : (tensor<1x?x64xf16>) -> tensor<1x?x32xf16>
// SUMMARY-NEXT: dynamic dims: arg0[1], result0[1]
// SUMMARY-NEXT: ops: 5
// SUMMARY: kopt.weight: 2
// SUMMARY: weights: 2 tensors, 2112 parameters, 0.00 MiB

// Errors: one clear line, non-zero exit.
// RUN: not kopt %s --sparsify=3:2 2>&1 | FileCheck %s --check-prefix=SPARSE
// SPARSE: kopt: error: --sparsify: invalid sparsity pattern '3:2': N:M needs 0 < N < M
// RUN: not kopt %s --quantize=int3 2>&1 | FileCheck %s --check-prefix=QUANT
// QUANT: Cannot find option named 'int3'
// RUN: not kopt %s -o %t.ptx 2>&1 | FileCheck %s --check-prefix=PTX
// PTX: kopt: error: GPU code generation (--emit=ptx, --target=sm_*) is not implemented yet
// RUN: not kopt %s --emit=llvm -o %t.ll 2>&1 | FileCheck %s --check-prefix=LLVM
// LLVM: kopt: error: --emit=llvm is not implemented yet
// RUN: not kopt %s --target=cpu --emit=obj 2>&1 | FileCheck %s --check-prefix=OBJ
// OBJ: kopt: error: a shared object needs an output file: -o model.so
// RUN: not kopt %s --weights=%t.missing.safetensors 2>&1 | FileCheck %s --check-prefix=WEIGHTS
// WEIGHTS: error: cannot open '{{.*}}missing.safetensors': No such file or directory
// RUN: not kopt %t.no-such-model.mlir 2>&1 | FileCheck %s --check-prefix=INPUT
// INPUT: kopt: error: cannot open input file '{{.*}}no-such-model.mlir'
// RUN: not kopt %s --quantize-keep=lm_head 2>&1 | FileCheck %s --check-prefix=KEEPNOQ
// KEEPNOQ: kopt: error: --quantize-keep needs --quantize

// A keep pattern matching no weight fails the pipeline; the crash reproducer
// captures it and kopt-opt replays it.
// RUN: not kopt %s --quantize=int4 --quantize-keep=lm_haed --mlir-pass-pipeline-crash-reproducer=%t.repro.mlir -o /dev/null 2>&1 | FileCheck %s --check-prefix=KEEP
// KEEP: error: kopt-quantize: keep pattern 'lm_haed' matches no kopt.weight
// RUN: FileCheck %s --check-prefix=REPRO < %t.repro.mlir
// REPRO: mlir_reproducer
// REPRO: kopt-quantize{{.*}}keep={lm_haed}
// RUN: not kopt-opt --run-reproducer %t.repro.mlir -o /dev/null 2>&1 | FileCheck %s --check-prefix=KEEP
// A pattern that matches passes.
// RUN: kopt %s --quantize=int4 --quantize-keep='blk.*' -o /dev/null

func.func @block(%x: tensor<1x?x64xf16>) -> tensor<1x?x32xf16> {
  %w = kopt.weight "blk.norm" : tensor<64xf16>
  %n = kopt.rmsnorm %x, %w : (tensor<1x?x64xf16>, tensor<64xf16>) -> tensor<1x?x64xf16>
  %p = kopt.weight "blk.proj" : tensor<32x64xf16>
  %y = kopt.linear %n, %p : (tensor<1x?x64xf16>, tensor<32x64xf16>) -> tensor<1x?x32xf16>
  return %y : tensor<1x?x32xf16>
}
