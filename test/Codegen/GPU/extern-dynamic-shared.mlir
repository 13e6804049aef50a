// The zero-sized shared global that convert-gpu-to-nvvm makes of
// gpu.dynamic_shared_memory becomes the PTX extern array (at least
// 1024-byte aligned); sized shared buffers and initialised globals stay.
// RUN: kopt-opt %s --pass-pipeline='builtin.module(gpu.module(kopt-extern-dynamic-shared))' | FileCheck %s
// RUN: kopt-opt %s --pass-pipeline='builtin.module(gpu.module(kopt-extern-dynamic-shared{alignment=16}))' | FileCheck %s --check-prefix=ALIGN16

// CHECK: llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<0 x i8>
// CHECK: llvm.mlir.global internal @__wg_k_0() {addr_space = 3 : i32, alignment = 4 : i64} : !llvm.array<8 x f32>
// CHECK: llvm.mlir.global internal @generic() {addr_space = 0 : i32} : !llvm.array<0 x i8>
// ALIGN16: llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
    llvm.mlir.global internal @__wg_k_0() {addr_space = 3 : i32, alignment = 4 : i64} : !llvm.array<8 x f32>
    llvm.mlir.global internal @generic() {addr_space = 0 : i32} : !llvm.array<0 x i8>
  }
}
