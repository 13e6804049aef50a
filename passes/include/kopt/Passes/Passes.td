//===- Passes.td - kopt model-level passes -----------------*- tablegen -*-===//
//
// Every pass of kopt's model level. Names line up: `def KoptFusePass` <->
// `Fuse.cpp` <-> `--kopt-fuse`. Pipelines over these passes are C++ builders
// in Pipelines.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_PASSES_PASSES_TD
#define KOPT_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def KoptFusePass : Pass<"kopt-fuse", "::mlir::ModuleOp"> {
  let summary = "Fuse kopt ops into as few kernels as the hardware rewards";
  let description = [{
    The `--fuse` stage. Each rule groups ops into a `kopt.fused` op that
    becomes one kernel:

    - `epilogues`: a `kopt.linear` and the chain of elementwise ops after it
      (bias, activation, residual add, cast) into `"linear_epilogue"`, so the
      GEMM/GEMV applies them to each output before its store. Operands of
      the chain may be the output's shape, a row vector over the features,
      one value per token, or a scalar.
    - `elementwise`: a tree of elementwise ops whose intermediates have one
      reader each (SwiGLU's `silu(g) * u`) into `"elementwise"`.
    - `norms`: a `kopt.rmsnorm` read only as the activations of linears is
      marked `kopt.into_readers`; on the GPU, where every reader is a GEMV
      over packed int4 weights, those kernels then scale their inputs
      by the norm's weight and each row's `rsqrt(mean(x^2) + eps)` up to 8
      rows, and the norm's own kernel runs only for more.

    - `attention`: `softmax(Q K^T * c [+ M]) V` written as kopt.matmul ->
      kopt.mul (or kopt.div) by a scalar constant -> kopt.add of a constant
      causal (or all-zero) mask -> kopt.softmax -> kopt.matmul over
      `[B, H, S, D]` tensors becomes `kopt.attention` on the `[B, S, H, D]`
      transposes, whose kernels never materialise the scores.
    - `moe`: the Mixtral block written densely (softmax of the router
      logits, kopt.topk, every expert's `(silu(x Wg^T) * (x Wu^T)) Wd^T` as
      batched kopt.matmuls over `[E, F, Hd]` / `[E, Hd, F]` weights, the
      chosen experts' outputs gathered, weighted by the (optionally
      renormalised) top-k probabilities and summed) becomes `kopt.moe`,
      whose kernels run each token through its k experts only.

    With `remarks`, every fusion that is possible in principle but not done
    is reported as a remark at the op, with the reason.
  }];
  let options = [
    Option<"epilogues", "epilogues", "bool", "true",
           "Fuse elementwise chains into the linear they follow">,
    Option<"elementwise", "elementwise", "bool", "true",
           "Fuse trees of elementwise ops into one kernel">,
    Option<"norms", "norms", "bool", "true",
           "Let the linears reading an rmsnorm apply it">,
    Option<"attention", "attention", "bool", "true",
           "Recognise attention written as matmul, scale, mask, softmax, "
           "matmul">,
    Option<"moe", "moe", "bool", "true",
           "Recognise a mixture of experts written densely (routing, all "
           "experts, gather, weighted sum)">,
    Option<"remarks", "remarks", "bool", "false",
           "Remark at every fusion declined, with the reason">,
  ];
  let dependentDialects = ["::kopt::KoptDialect"];
}

def KoptQuantizePass : Pass<"kopt-quantize", "::mlir::ModuleOp"> {
  let summary = "Rewrite linear weights into quantized encodings";
  let description = [{
    The `--quantize=int4|int8|fp8` stage. Every `kopt.weight` whose reads are
    all the weight operand of a `kopt.linear` becomes
    `!kopt.quantized<NxK x i4|i8|f8E4M3FN, group_size, scale = <its dtype>,
    [zero_point,] layout>`; the linear keeps its activations and result.
    Weights read by anything else (embedding tables, tied LM heads, norms)
    keep their precision, as do weights whose name matches a `keep` glob
    (a pattern that matches no weight is an error), and weights matching an
    `int8` glob take int8 codes with per-channel scales whatever the mode
    (the mixed-precision policy's upgrade). Where the group size
    does not divide a layer's K, that layer takes the largest group of at
    least 32 that does (and suits the layout), else one scale per output
    channel; with `strict-group-size` it is an error at that weight.

    Weights listed in `imported` come from a pre-quantized GPTQ/AWQ
    checkpoint (`kopt --weights`, rt::quant::importInt4): they become
    asymmetric int4 `mma` with the checkpoint's group size whatever `mode`
    and `keep` say, as there is no float weight to keep. With only imports,
    `mode` may be `none`: nothing else is quantized.

    Integer codes default to the `mma` layout (the GPU kernels' fragment
    order, which the CPU backend and the reference also read); fp8 is
    stored `plain`. The data is not touched here: with `--weights` the
    driver packs the checkpoint at compile time, otherwise the runtime packs
    the float checkpoint at load time, with the same code.
  }];
  let options = [
    Option<"mode", "mode", "::kopt::QuantMode", "::kopt::QuantMode::Int4",
           "Weight encoding",
           [{::llvm::cl::values(
               clEnumValN(::kopt::QuantMode::None, "none", "only the imported weights"),
               clEnumValN(::kopt::QuantMode::Int4, "int4", "4-bit integer, group-wise scales"),
               clEnumValN(::kopt::QuantMode::Int8, "int8", "8-bit integer, group-wise scales"),
               clEnumValN(::kopt::QuantMode::FP8, "fp8", "float8 e4m3, group-wise scales"))}]>,
    Option<"groupSize", "group-size", "int64_t", "128",
           "Elements of K sharing one scale (-1 = per output channel, 0 = per tensor)">,
    Option<"strictGroupSize", "strict-group-size", "bool", "false",
           "A group size that does not divide K is an error, not adapted">,
    Option<"symmetric", "symmetric", "bool", "true",
           "Symmetric codes (no zero points)">,
    Option<"layout", "layout", "::kopt::QuantLayout", "::kopt::QuantLayout::Mma",
           "Packed layout of integer codes",
           [{::llvm::cl::values(
               clEnumValN(::kopt::QuantLayout::Mma, "mma", "the GPU kernels' fragment order"),
               clEnumValN(::kopt::QuantLayout::Plain, "plain", "row-major codes"))}]>,
    ListOption<"keep", "keep", "std::string",
               "Weight-name patterns (glob) kept in their original precision">,
    ListOption<"int8", "int8", "std::string",
               "Weight-name patterns (glob) quantized to int8 with one scale "
               "per output channel instead">,
    ListOption<"imported", "imported", "std::string",
               "NAME:GROUP of weights a pre-quantized (GPTQ/AWQ) checkpoint "
               "holds: asymmetric int4 with that group size, whatever the "
               "mode and keep patterns">
  ];
  let dependentDialects = ["::kopt::KoptDialect"];
}

def KoptQuantizeActivationsPass
    : Pass<"kopt-quantize-activations", "::mlir::ModuleOp"> {
  let summary = "Round the inputs of fp8 linears to float8 (w8a8)";
  let description = [{
    The activation half of `--quantize=fp8`: the input of every `kopt.linear`
    whose weight is `!kopt.quantized<... x f8E4M3FN ...>` goes through one
    `kopt.fake_quant {dtype = f8E4M3FN, granularity}` (shared by the linears
    that read the same value), so the product is one of float8 codes, as
    Hopper's fp8 tensor cores compute it. Runs after `kopt-quantize`; a
    module without fp8 linears is unchanged. With `fast-accumulation` the
    linears get `kopt.fp8_promote_every = 0`: their GEMMs keep the tensor
    cores' own (reduced-precision) sums over all of K instead of adding
    them into f32 every 256 elements, as `torch._scaled_mm(use_fast_accum)`.
  }];
  let options = [
    Option<"granularity", "granularity", "std::string", "\"token\"",
           "Activation scales: one per token (row) or one per tensor">,
    Option<"fastAccumulation", "fast-accumulation", "bool", "false",
           "fp8 GEMMs keep the tensor cores' own accumulation (faster, "
           "less precise)">
  ];
  let dependentDialects = ["::kopt::KoptDialect"];
}

def KoptScaleLinearInputsPass
    : Pass<"kopt-scale-linear-inputs", "::mlir::ModuleOp"> {
  let summary = "Scale the inputs of chosen linears per channel (AWQ)";
  let description = [{
    For every `kopt.linear` whose weight is named in `weights`, multiplies
    its input by a new weight `<name>.input_scale` of shape `[K]` (the
    input's dtype) first. Activation-aware quantization stores the weight
    multiplied by the inverse of that scale, so salient input channels keep
    more precision; `kopt --calibration --quantize-awq` chooses the scales
    and writes both tensors into the packed checkpoint. A name that no
    linear reads is an error.
  }];
  let options = [
    ListOption<"weights", "weights", "std::string",
               "Weight names whose linears get scaled inputs">
  ];
  let dependentDialects = ["::kopt::KoptDialect"];
}

def KoptOrderLinearInputsPass
    : Pass<"kopt-order-linear-inputs", "::mlir::ModuleOp"> {
  let summary = "Read the inputs of chosen linears in a stored column order";
  let description = [{
    For every `kopt.linear` whose weight is named in `weights`, gathers its
    input's last dim through a new weight `<name>.input_order` (i32 `[K]`):
    the linear reads `x[..., order]`, as `kopt.transpose` (last dim first),
    `kopt.gather` along axis 0, and the transpose back. An act-order
    (desc_act) GPTQ checkpoint scatters each scale group's columns over K;
    `kopt --weights` packs them sorted by group, so kopt's group-wise
    encodings hold them, and writes that order into the packed checkpoint,
    keeping the product exact. A name that no linear reads is an error.
  }];
  let options = [
    ListOption<"weights", "weights", "std::string",
               "Weight names whose linears read their input reordered">
  ];
  let dependentDialects = ["::kopt::KoptDialect"];
}

def KoptSparsifyPass : Pass<"kopt-sparsify", "::mlir::ModuleOp"> {
  let summary = "Prune linear weights to a structured sparsity pattern";
  let description = [{
    The `--sparsify=2:4|block:RxC:DENSITY` stage: `kopt.linear` weights become
    `!kopt.sparse<...>` with `pattern`. The rewrite itself is not implemented
    yet; the pass validates the pattern and leaves the module unchanged.
  }];
  let options = [
    Option<"pattern", "pattern", "std::string", "\"2:4\"",
           "Sparsity pattern: N:M or block:RxC:DENSITY">
  ];
  let dependentDialects = ["::kopt::KoptDialect"];
}

def KoptBindWeightsPass : Pass<"kopt-bind-weights", "::mlir::ModuleOp"> {
  let summary = "Check a checkpoint against the model and make it the default";
  let description = [{
    Opens `weights` (a .safetensors file or a sharded *.index.json, validated
    as the runtime does) and checks that every kopt.weight is in it with the
    same dtype and shape; each problem is an error at the weight's location
    naming it. The absolute path is then recorded as the module's default
    weights (`kopt.weights`), which the host plan carries. Without `weights`,
    a relative `kopt.weights` attribute is resolved against the model file's
    folder.
  }];
  let options = [
    Option<"weights", "weights", "std::string", "",
           "Checkpoint (.safetensors or *.index.json)">,
    ListOption<"imported", "imported", "std::string",
               "Weights the checkpoint holds pre-quantized (GPTQ/AWQ parts, "
               "checked by the importer) rather than as floats">
  ];
}

def KoptModelSummaryPass : Pass<"kopt-model-summary", "::mlir::ModuleOp"> {
  let summary = "Print a summary of a kopt model";
  let description = [{
    Prints, per function, its signature with the dynamic dims, how many ops of
    each kind it has, and the weights it binds (count, parameters, bytes).
    Writes to stderr and leaves the module unchanged.
  }];
}

#endif // KOPT_PASSES_PASSES_TD
