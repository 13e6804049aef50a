// A plan runs only the artifact it was compiled with: another build's shared
// object, or a truncated one, is refused with a clear error before it is
// loaded (dlopen of a truncated file would fault).
// RUN: rm -rf %t && mkdir -p %t
// RUN: kopt %s -o %t/a.so
// RUN: sed 's/kopt.add/kopt.sub/' %s > %t/b.mlir
// RUN: kopt %t/b.mlir -o %t/b.so
// RUN: kopt-run %t/a.so --input=2x4xf32=1 --input=4xf32=2 | FileCheck %s --check-prefix=OK
// OK: result[0]: 2x4xf32=[3 3 3 3][3 3 3 3]
// RUN: cp %t/b.so %t/a.so
// RUN: not kopt-run %t/a.so --input=2x4xf32=1 --input=4xf32=2 2>&1 | FileCheck %s --check-prefix=OTHER
// OTHER: kopt-run: error: '{{.*}}a.so' is not the artifact plan '{{.*}}a.plan.json' was compiled with (it has {{[0-9]+}} bytes
// RUN: head -c 3000 %t/b.so > %t/a.so
// RUN: not kopt-run %t/a.so --input=2x4xf32=1 --input=4xf32=2 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// TRUNCATED: kopt-run: error: '{{.*}}a.so' is not the artifact plan '{{.*}}a.plan.json' was compiled with (it has 3000 bytes; the plan records {{[0-9]+}} bytes, digest {{[0-9a-f]+}}): it is truncated, changed, or another model's
func.func @forward(%a: tensor<?x4xf32>, %b: tensor<4xf32>) -> tensor<?x4xf32> {
  %0 = kopt.add %a, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
