//===- Passes.td - kopt code generation passes -------------*- tablegen -*-===//
//
// The passes between model-level kopt IR and an artifact: the host plan,
// the calling convention, the lowering to linalg, and serialization.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_PASSES_TD
#define KOPT_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def KoptExpandQuantizedWeightsPass
    : Pass<"kopt-expand-quantized-weights", "::mlir::ModuleOp"> {
  let summary = "Bind quantized weights as their stored tensors";
  let description = [{
    Rewrites every `kopt.weight "name" : !kopt.quantized<...>` into the
    weights of its stored tensors, `name.qweight`, `name.scales` and (when
    asymmetric) `name.zeros`, each tagged `kopt.quantized_part` with its
    source name, part and encoding (which the host plan passes on, so the
    runtime can pack a float checkpoint at load time), and a
    `kopt.dequantize` of them that replaces the weight. The backends then
    see only dense tensors; the GPU one fuses the dequantize into the
    linear that reads it.
  }];
  let dependentDialects = ["::kopt::KoptDialect"];
}

def KoptTileLinearsPass : Pass<"kopt-tile-linears", "::mlir::ModuleOp"> {
  let summary = "Candidate tile configurations for the runtime's autotuner";
  let description = [{
    For each linear whose packed int4/int8 weight its kernel dequantizes in
    registers, and whose tiling no attribute fixes, derives from the target
    description (SM count, shared memory per block, cp.async) a small set
    of tile configurations besides the heuristic default and records them
    as `kopt.tile_variants`: an array of attribute dictionaries, each
    setting `kopt.gemv_tile` (the streamed GEMV: warps, ring stages, chunks
    per stage), `kopt.qlinear_tile` (the register-pipelined kernel: row
    tiles per block, K warps, unroll) or `kopt.dense_from_rows` (the token
    count from which the dense GEMM runs). The GPU backend compiles every
    variant and the plan tags their launches, so the runtime can time them
    on the actual GPU and pick one per shape bucket (variant 0, the
    default, until then).
  }];
  let options = [
    Option<"gpuTarget", "gpu-target", "std::string", "\"sm_90\"",
           "The GPU the variants are for">,
    Option<"maxVariants", "max-variants", "int64_t", "4",
           "At most this many variants besides the default per linear">,
  ];
}

def KoptExportPlanPass : Pass<"kopt-export-plan", "::mlir::ModuleOp"> {
  let summary = "Describe the model's functions for the runtime (host plan)";
  let description = [{
    Computes, for every function, its inputs, weights and outputs with their
    dtypes and shapes, dynamic dims as affine expressions over symbols bound
    by the inputs (dims that ops require to be equal share a symbol), the
    argument order of the compiled entry point, and the reference graph (the
    kopt ops with their attributes, for `kopt-run --device=reference`). The
    plan is stored as the module attribute `kopt.plan` (JSON) for the
    serializer to write beside the artifact; every kopt op is tagged with its
    node index (`kopt.node`) so runtime errors can name it.
  }];
  let options = [
    Option<"gpuTarget", "gpu-target", "std::string", "",
           "Also build the GPU kernels and launch schedule for this target "
           "(sm_80, sm_89, sm_90) into a gpu.module">,
    Option<"mergeLaunches", "merge-launches", "bool", "true",
           "Run consecutive launches of independent ops with one block shape "
           "as one kernel, each in its own range of blocks">,
    Option<"readerEpilogues", "reader-epilogues", "bool", "true",
           "Let the small-row int4 GEMV kernels reading a linear's epilogue "
           "result (SwiGLU) compute it from the linear's raw output as they "
           "load their activations">
  ];
  let dependentDialects = ["::kopt::KoptDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def KoptInlineFusedPass : Pass<"kopt-inline-fused", "::mlir::ModuleOp"> {
  let summary = "Run the ops of kopt.fused groups one by one";
  let description = [{
    Replaces every kopt.fused op by the ops of its body, for backends that
    have no kernel per group: the CPU backend, whose linalg pipeline fuses
    elementwise producers into their consumers itself.
  }];
}

def KoptPrepareCpuAbiPass : Pass<"kopt-prepare-cpu-abi", "::mlir::ModuleOp"> {
  let summary = "Give model functions the calling convention of the plan";
  let description = [{
    Rewrites each function to `(inputs..., weights..., outputs..., status)`:
    kopt.weight ops become arguments, results are written into output
    memrefs (destination passing; the function returns nothing), and a
    `memref<4xi64>` status
    buffer (marked `kopt.status`) receives data-dependent errors. Functions
    get `llvm.emit_c_interface`.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def ConvertKoptToLinalgPass : Pass<"convert-kopt-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower kopt ops to linalg, tensor, arith, math and scf";
  let description = [{
    Applies the KoptToLinalg patterns; any kopt op left (for example a
    linear with a compressed weight, which has no CPU lowering yet) is an
    error naming the op.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KoptLinearMicrokernelPass
    : Pass<"kopt-linear-microkernel", "::mlir::func::FuncOp"> {
  let summary = "Register-blocked f32 kernel for kopt.linear's contraction";
  let description = [{
    Replaces the contraction of `kopt.linear` (C[m, n] += A[m, k] * B[n, k],
    f32 buffers, marked `kopt.microkernel = "linear"`) by a loop nest over
    4 x 4 output blocks whose 16 accumulators are vector<16xf32> lanes of K:
    per 16 values of K, 8 vector loads feed 16 FMAs, and each accumulator is
    reduced once at the end. Row blocks of B are split across threads when
    the product is large. Ragged M, N and K are handled (clamped rows,
    masked K tail, guarded stores).
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def KoptQuantizedLinearMicrokernelPass
    : Pass<"kopt-quantized-linear-microkernel", "::mlir::func::FuncOp"> {
  let summary = "Vector kernel for kopt.linear over mma-packed i4/i8 weights";
  let description = [{
    Replaces the contraction kopt.linear lowers to for a few rows over
    `mma`-layout i4/i8 weights (marked `kopt.microkernel = "qlinear"`, the
    encoding in `kopt.encoding`; inputs x, codes, scales[, zeros]) by a
    vector loop nest that reads each 16-byte lane block of codes once per
    row of x: i4 low nibbles are one weight row's codes and high nibbles
    the row 8 below (x shuffled into the layout's K order), i8 even and odd
    bytes likewise; weights are (code - zero) * scale rounded to the weight
    dtype, as kopt.dequantize rounds them, and accumulate in f32 vectors.
    Tiles of 16 rows are split across threads when the work is large.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def KoptParallelizeCpuPass
    : Pass<"kopt-parallelize-cpu", "::mlir::func::FuncOp"> {
  let summary = "Lower the heavy linalg ops to parallel loops";
  let description = [{
    Linalg ops the lowering marked `kopt.parallel` (contractions: linear,
    matmul, attention, experts) become scf.parallel loops over their
    parallel dims, which convert-scf-to-openmp then runs on the host's
    cores. Everything else stays sequential, so small ops pay no fork.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def KoptInlineAllocaScopesPass
    : Pass<"kopt-inline-alloca-scopes", "::mlir::ModuleOp"> {
  let summary = "Inline memref.alloca_scope regions that hold no alloca";
  let description = [{
    convert-scf-to-openmp wraps each parallel loop body in an
    memref.alloca_scope; kopt's bodies never use memref.alloca, so the
    scope only gets in the way of scf-to-cf (a scope must stay one block).
  }];
}

def KoptLowerMemRefCopiesPass
    : Pass<"kopt-lower-memref-copies", "::mlir::ModuleOp"> {
  let summary = "Turn memref.copy into linalg.copy (compiled loops)";
  let description = [{
    memref.copy between non-contiguous views lowers to a call into MLIR's C
    runner utils (`memrefCopy`), which a self-contained artifact cannot
    assume. As linalg.copy it becomes plain loops.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KoptSerializeCpuPass : Pass<"kopt-serialize-cpu", "::mlir::ModuleOp"> {
  let summary = "Write the LLVM-dialect module as a shared object and its plan";
  let description = [{
    Translates the module to LLVM IR, adds the `kopt_call_<function>(void **)`
    entry points, optimizes and compiles it for `cpu` of the host, links a
    shared object at `output` with the system C compiler driver, and writes
    the `kopt.plan` JSON beside it as `<stem>.plan.json`.
  }];
  let options = [
    Option<"output", "output", "std::string", "", "Path of the .so to write">,
    Option<"cpu", "cpu", "std::string", "\"native\"",
           "Target CPU (native = this machine; e.g. x86-64-v3)">,
    Option<"optLevel", "opt-level", "unsigned", "2", "LLVM optimization level">
  ];
}

def KoptExternDynamicSharedPass
    : Pass<"kopt-extern-dynamic-shared", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Declare the dynamic shared memory symbol as the PTX extern "
                "array";
  let description = [{
    convert-gpu-to-nvvm lowers `gpu.dynamic_shared_memory` to an internal
    zero-sized `llvm.mlir.global` in address space 3, which the NVPTX
    backend prints as a one-byte static variable: its address then points
    into the static shared memory rather than the dynamic allocation. This
    pass gives such globals external linkage (PTX
    `.extern .shared .b8 NAME[]`, which starts the dynamic allocation) and
    at least `alignment` bytes of alignment.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
  let options = [
    Option<"alignment", "alignment", "unsigned", "1024",
           "Minimum alignment of the dynamic shared memory, in bytes">
  ];
}

def KoptDependentLaunchPass
    : Pass<"kopt-dependent-launch", "::mlir::ModuleOp"> {
  let summary = "Let each kernel launch while the one before it finishes";
  let description = [{
    Starts every kernel with `griddepcontrol.wait` (nothing before it reads
    or writes memory, so a kernel launched early sees all that the kernel
    before it wrote) and issues `griddepcontrol.launch_dependents` where
    each thread returns (or, with `early-trigger`, right after the wait), so
    that on sm_90+ the runtime's launches with programmatic stream
    serialization overlap each kernel's launch and block scheduling with the
    tail of the previous one. Triggered at the start, the next kernel's
    blocks wait resident for the whole kernel, which costs compute-bound
    kernels issue slots. Marks the module's plan (`kopt.plan`, from
    kopt-export-plan) `"dependent_launch": true`, which is what tells the
    runtime to launch that way. Launched without the attribute, both
    instructions are no-ops.
  }];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect"];
  let options = [
    Option<"earlyTrigger", "early-trigger", "bool", "false",
           "Let the next kernel launch as soon as every block has started">
  ];
}

def KoptPrefetchStreamedPass
    : Pass<"kopt-prefetch-streamed", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Prefetch the buffers a kernel streams into L2 at its start";
  let description = [{
    For every kernel argument marked `kopt.prefetch_l2` (a buffer the
    kernel's blocks read once, end to end, such as a GEMV's weight), each
    block's first thread issues one `cp.async.bulk.prefetch.L2` (sm_90) of
    its even share of the buffer at kernel entry, before the
    `griddepcontrol.wait` of kopt-dependent-launch: nothing the previous
    kernel writes is read, so a kernel launched early streams its weight
    into L2 while the kernel before it finishes, and every block's loads
    after the wait hit L2 instead of waiting on DRAM. Buffers larger than
    `max-bytes` (which would not stay in L2) are not prefetched. Removes
    the markers in every case; `max-bytes=0` only removes them.
  }];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", "25165824",
           "Largest buffer prefetched (bytes; 0: none)">
  ];
}

def KoptSerializePtxPass : Pass<"kopt-serialize-ptx", "::mlir::ModuleOp"> {
  let summary = "Write the serialized gpu.binary as model.ptx and its plan";
  let description = [{
    Takes the PTX that gpu-module-to-binary (format=isa) produced for the
    module's kernels, writes it to `output` (`-` for stdout) and writes the
    `kopt.plan` JSON beside it as `<stem>.plan.json`, naming the PTX file
    and its target.
  }];
  let options = [
    Option<"output", "output", "std::string", "", "Path of the .ptx to write">
  ];
}

#endif // KOPT_CODEGEN_PASSES_TD
