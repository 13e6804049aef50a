// cache_update writes the new rows into the cache's own memory when the
// update is the cache's only use (a function input or an op's result): the
// result is an alias of that buffer and the grid covers `new`, not the
// cache. Read again afterwards, the cache is copied into a new buffer.
// RUN: kopt %s -o %t.ptx
// RUN: FileCheck %s < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}

// CHECK: "source": "input:0"
// CHECK: "source": "input:2"
// CHECK-NEXT: },
// CHECK: "source": "alias:0"
// CHECK: "grid": [
// CHECK-NEXT: "s0",
// CHECK: "kernel": "cache_update_0",
// CHECK: "name": "in_place",
func.func @in_place(%c: tensor<1x16x4x64xbf16>, %u: tensor<1x?x4x64xbf16>, %o: tensor<1xi32>) -> tensor<1x16x4x64xbf16> {
  %r = kopt.cache_update %c, %u, %o : (tensor<1x16x4x64xbf16>, tensor<1x?x4x64xbf16>, tensor<1xi32>) -> tensor<1x16x4x64xbf16>
  return %r : tensor<1x16x4x64xbf16>
}

// CHECK: "source": "input:2"
// CHECK-NEXT: },
// CHECK-NOT: alias
// CHECK: "source": "temp"
// CHECK: "grid": [
// CHECK-NEXT: 16,
// CHECK: "kernel": "cache_update_1",
// CHECK: "name": "reread",
func.func @reread(%c: tensor<1x16x4x64xbf16>, %u: tensor<1x?x4x64xbf16>, %o: tensor<1xi32>) -> (tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>) {
  %r = kopt.cache_update %c, %u, %o : (tensor<1x16x4x64xbf16>, tensor<1x?x4x64xbf16>, tensor<1xi32>) -> tensor<1x16x4x64xbf16>
  return %r, %c : tensor<1x16x4x64xbf16>, tensor<1x16x4x64xbf16>
}

// A rope read only by the in-place update is computed by the update's
// kernel: one launch, no rope kernel.
// CHECK: "kernel": "cache_update_2",
// CHECK-NOT: "kernel"
// CHECK: "name": "rope_into_cache",
func.func @rope_into_cache(%c: tensor<1x16x4x64xbf16>, %k: tensor<1x?x4x64xbf16>, %p: tensor<1x?xi32>, %o: tensor<1xi32>) -> tensor<1x16x4x64xbf16> {
  %r = kopt.rope %k, %p {theta = 10000.0 : f32} : (tensor<1x?x4x64xbf16>, tensor<1x?xi32>) -> tensor<1x?x4x64xbf16>
  %u = kopt.cache_update %c, %r, %o : (tensor<1x16x4x64xbf16>, tensor<1x?x4x64xbf16>, tensor<1xi32>) -> tensor<1x16x4x64xbf16>
  return %u : tensor<1x16x4x64xbf16>
}
