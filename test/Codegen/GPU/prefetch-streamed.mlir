// kopt-prefetch-streamed: each block's first thread prefetches its share of
// every buffer marked kopt.prefetch_l2 into L2 at kernel entry (before the
// griddepcontrol.wait of kopt-dependent-launch), when the buffer is at most
// max-bytes; the markers are removed in every case.
// RUN: kopt-opt %s --kopt-prefetch-streamed | FileCheck %s
// RUN: kopt-opt %s --kopt-prefetch-streamed=max-bytes=0 | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: gpu.func @gemv
// CHECK-NOT: kopt.prefetch_l2
// CHECK: gpu.block_id x
// CHECK: gpu.grid_dim x
// CHECK: scf.if
// CHECK: %[[N:.*]] = memref.dim %arg1, %{{.*}} : memref<?xbf16>
// CHECK: arith.muli %[[N]], %c2
// CHECK: arith.ceildivui
// CHECK: memref.extract_aligned_pointer_as_index %arg1
// CHECK: arith.cmpi ule, %{{.*}}, %c25165824
// CHECK: scf.if
// CHECK: llvm.inttoptr %{{.*}} : i64 to !llvm.ptr<1>
// CHECK: nvvm.cp.async.bulk.prefetch %{{.*}}, %{{.*}} :
// CHECK: memref.dim %arg2
// CHECK: nvvm.cp.async.bulk.prefetch
// CHECK-NOT: nvvm.cp.async.bulk.prefetch
// CHECK: griddepcontrol wait
// CHECK: memref.load %arg1
// CHECK-LABEL: gpu.func @plain
// CHECK-NOT: nvvm.cp.async.bulk.prefetch
// CHECK: gpu.return

// OFF-NOT: kopt.prefetch_l2
// OFF-NOT: nvvm.cp.async.bulk.prefetch

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @gemv(%out: memref<?xf32>, %w: memref<?xbf16> {kopt.prefetch_l2},
                   %s: memref<?xi8> {kopt.prefetch_l2}, %x: memref<?xbf16>) kernel {
      nvvm.griddepcontrol wait
      %c0 = arith.constant 0 : index
      %v = memref.load %w[%c0] : memref<?xbf16>
      %f = arith.extf %v : bf16 to f32
      memref.store %f, %out[%c0] : memref<?xf32>
      gpu.return
    }
    gpu.func @plain(%out: memref<?xf32>, %x: memref<?xf32>) kernel {
      %c0 = arith.constant 0 : index
      %v = memref.load %x[%c0] : memref<?xf32>
      memref.store %v, %out[%c0] : memref<?xf32>
      gpu.return
    }
  }
}
