// Data-dependent errors in compiled code come back as one clear message
// naming the op and its source line; the compiled code never writes past
// the cache or reads past the table.
// RUN: kopt %s -o %t.so --cpu-threads=false
// Only the entry points are exported, so a model function called `select`
// is not mistaken for (or by) the C library's.
// RUN: nm -D %t.so | FileCheck %s --check-prefix=EXPORTS --implicit-check-not='T select' --implicit-check-not='T append'
// EXPORTS: T kopt_call_append
// EXPORTS: T kopt_call_select
// A write of 3 positions at offset 6 into a cache of 8 overflows.
// RUN: not kopt-run %t.so --function=append '--input=1x8x1x2xf32=0' '--input=1x3x1x2xf32=1' '--input=1xi32=6' 2>&1 | FileCheck %s --check-prefix=OVERFLOW
// OVERFLOW: kopt-run: error: kopt.cache_update: KV cache overflow: the write ends at position 9, outside the cache of length 8 (at {{.*}}runtime_errors.mlir:[[@LINE+8]]:{{[0-9]+}})
// A negative offset is refused the same way.
// RUN: not kopt-run %t.so --function=append '--input=1x8x1x2xf32=0' '--input=1x3x1x2xf32=1' '--input=1xi32=-1' 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: kopt-run: error: kopt.cache_update:
// A write that fits succeeds.
// RUN: kopt-run %t.so --function=append '--input=1x8x1x2xf32=0' '--input=1x3x1x2xf32=1' '--input=1xi32=5' | FileCheck %s --check-prefix=FITS
// FITS: result[0]: 1x8x1x2xf32=[{{\[}}[0 0]][{{\[}}0 0]][{{\[}}0 0]][{{\[}}0 0]][{{\[}}0 0]][{{\[}}1 1]][{{\[}}1 1]][{{\[}}1 1]]]
func.func @append(%cache: tensor<1x8x1x2xf32>, %new: tensor<1x?x1x2xf32>, %offset: tensor<1xi32>) -> tensor<1x8x1x2xf32> {
  %r = kopt.cache_update %cache, %new, %offset : (tensor<1x8x1x2xf32>, tensor<1x?x1x2xf32>, tensor<1xi32>) -> tensor<1x8x1x2xf32>
  return %r : tensor<1x8x1x2xf32>
}

// Gather indices are checked like embedding ids.
// RUN: not kopt-run %t.so --function=select '--input=2x5xf32=1' '--input=2x2xi32=[0 1][4 5]' 2>&1 | FileCheck %s --check-prefix=GATHER
// GATHER: kopt-run: error: kopt.gather: index 5 is outside [0, 5) (at {{.*}}runtime_errors.mlir:[[@LINE+2]]:{{[0-9]+}})
func.func @select(%x: tensor<2x5xf32>, %i: tensor<2x2xi32>) -> tensor<2x2xf32> {
  %r = kopt.gather %x, %i {axis = 1 : i64} : (tensor<2x5xf32>, tensor<2x2xi32>) -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// Integer division by zero is an error, as in PyTorch, not a trap.
// RUN: not kopt-run %t.so --function=divide '--input=3xi32=[6 7 8]' '--input=3xi32=[2 0 1]' 2>&1 | FileCheck %s --check-prefix=DIVZERO
// DIVZERO: kopt-run: error: kopt.div: integer division by zero (at {{.*}}runtime_errors.mlir:[[@LINE+5]]:{{[0-9]+}})
// RUN: kopt-run %t.so --function=divide '--input=3xi32=[6 -7 -2147483648]' '--input=3xi32=[4 2 -1]' | FileCheck %s --check-prefix=DIV
// DIV: result[0]: 3xi32=1 -3 -2147483648
// RUN: not kopt-run %t.so --device=reference --function=divide '--input=3xi32=[6 7 8]' '--input=3xi32=[2 0 1]' 2>&1 | FileCheck %s --check-prefix=DIVZERO
func.func @divide(%a: tensor<3xi32>, %b: tensor<3xi32>) -> tensor<3xi32> {
  %r = kopt.div %a, %b : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
  return %r : tensor<3xi32>
}

// kv_len outside [0, Skv] is an error (Skv itself is the full cache).
// RUN: not kopt-run %t.so --function=attend '--input=1x1x2x4xf32=1' '--input=1x6x1x4xf32=1' '--input=1x6x1x4xf32=1' '--input=1xi32=7' 2>&1 | FileCheck %s --check-prefix=KVLEN
// KVLEN: kopt-run: error: kopt.attention: kv_len 7 is outside [0, 6] (at {{.*}}runtime_errors.mlir:[[@LINE+6]]:{{[0-9]+}})
// RUN: not kopt-run %t.so --function=attend '--input=1x1x2x4xf32=1' '--input=1x6x1x4xf32=1' '--input=1x6x1x4xf32=1' '--input=1xi32=-2' 2>&1 | FileCheck %s --check-prefix=KVLEN-NEG
// KVLEN-NEG: kopt-run: error: kopt.attention: kv_len -2 is outside [0, 6]
// RUN: kopt-run %t.so --function=attend '--input=1x1x2x4xf32=1' '--input=1x6x1x4xf32=1' '--input=1x6x1x4xf32=1' '--input=1xi32=6' | FileCheck %s --check-prefix=FULL
// FULL: result[0]: 1x1x2x4xf32=[{{\[}}[1 1 1 1][1 1 1 1]]]
func.func @attend(%q: tensor<1x?x2x4xf32>, %k: tensor<1x6x1x4xf32>, %v: tensor<1x6x1x4xf32>, %l: tensor<1xi32>) -> tensor<1x?x2x4xf32> {
  %o = kopt.attention %q, %k, %v, %l {causal = true} : (tensor<1x?x2x4xf32>, tensor<1x6x1x4xf32>, tensor<1x6x1x4xf32>, tensor<1xi32>) -> tensor<1x?x2x4xf32>
  return %o : tensor<1x?x2x4xf32>
}
