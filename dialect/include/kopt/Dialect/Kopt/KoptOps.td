//===- KoptOps.td - kopt model ops -------------------------*- tablegen -*-===//
//
// Every op of the kopt model dialect (spec/DIALECT.md v0). Each op matches a
// PyTorch expression, given in its description. Rules that traits and type
// constraints cannot state live in C++ shape inference (KoptShapeInference.cpp)
// or verifiers (KoptOps.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_KOPTOPS_TD
#define KOPT_DIALECT_KOPT_KOPTOPS_TD

include "kopt/Dialect/Kopt/KoptTypes.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Kopt_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def Kopt_IntTensor : RankedTensorOf<[I32, I64]>;
def Kopt_I32Tensor : RankedTensorOf<[I32]>;
def Kopt_NumericTensor : RankedTensorOf<[F32, F16, BF16, I32, I64]>;
def Kopt_AnyTensor
    : RankedTensorOf<[F32, F16, BF16, F8E4M3FN, F8E5M2, I1, I8, I32, I64]>;
def Kopt_LinearWeight : AnyTypeOf<[Kopt_FloatTensor, Kopt_CompressedWeight]>;

//===----------------------------------------------------------------------===//
// Op classes
//===----------------------------------------------------------------------===//

/// A side-effect-free op on tensors, printed with a functional type:
/// `kopt.op %a, %b {attrs} : (A, B) -> R`. Ops whose operands and result
/// always share one type also parse the short form `kopt.op %a, %b : T`.
class Kopt_TensorOp<string mnemonic, list<Trait> traits = []>
    : Kopt_Op<mnemonic, !listconcat([Pure], traits)> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

/// Runs shape inference with the op's location before InferTypeOpInterface's
/// own check, so a broken rule is reported once, precisely.
def Kopt_VerifiedByInference : NativeOpTrait<"VerifiedByInference"> {
  let cppNamespace = "::kopt";
}

/// A tensor op whose result types follow from its operands and attributes.
/// Shape inference doubles as the verifier of dimension agreement; written
/// result types may be more static than the inferred ones (`?` refined to a
/// size), never contradict them.
class Kopt_InferredOp<string mnemonic, list<Trait> traits = []>
    : Kopt_TensorOp<mnemonic, !listconcat(traits, [Kopt_VerifiedByInference,
                                                   InferTypeOpAdaptor])> {
  code inferredExtraDecls = [{
    static bool isCompatibleReturnTypes(::mlir::TypeRange inferred,
                                        ::mlir::TypeRange actual) {
      return ::kopt::areCompatibleTensorTypes(inferred, actual);
    }
  }];
  let extraClassDeclaration = inferredExtraDecls;
}

/// `T -> T` float elementwise ops.
class Kopt_UnaryOp<string mnemonic, string torch, list<Trait> traits = []>
    : Kopt_TensorOp<mnemonic, !listconcat([SameOperandsAndResultType], traits)> {
  let summary = "elementwise `" # torch # "`";
  let description = "Matches `" # torch # "` elementwise. Example:\n\n"
      "```mlir\n"
      "%y = kopt." # mnemonic # " %x : (tensor<1x?x64xf16>) -> tensor<1x?x64xf16>\n"
      "```";
  let arguments = (ins Kopt_FloatTensor:$input);
  let results = (outs Kopt_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` custom<FunctionalOrUniformTypes>(type($input), type($result))
  }];
}

/// NumPy-broadcasting binary ops on same-dtype tensors.
class Kopt_BinaryOp<string mnemonic, string torch>
    : Kopt_InferredOp<mnemonic, [SameOperandsAndResultElementType]> {
  let summary = "elementwise `" # torch # "` with NumPy broadcasting";
  let description = "Matches `" # torch # "`; shapes broadcast as in NumPy "
      "(a 0-d tensor broadcasts to anything). Example:\n\n"
      "```mlir\n"
      "%c = kopt." # mnemonic # " %a, %b : (tensor<1x?x64xf16>, tensor<f16>) -> tensor<1x?x64xf16>\n"
      "```";
  let arguments = (ins Kopt_NumericTensor:$lhs, Kopt_NumericTensor:$rhs);
  let results = (outs Kopt_NumericTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:`
    custom<FunctionalOrUniformTypes>(type($lhs), type($rhs), type($result))
  }];
}

/// Reductions over a list of axes.
class Kopt_ReduceOp<string mnemonic, string torch>
    : Kopt_InferredOp<mnemonic, [SameOperandsAndResultElementType]> {
  let summary = "`" # torch # "` over `axes`";
  let description = "Matches `" # torch # "(axes, keepdim)`, accumulating in "
      "f32. `axes` are distinct, negative values count from the end. Example:\n\n"
      "```mlir\n"
      "%p = kopt." # mnemonic # " %h {axes = array<i64: 1>} : (tensor<2x?x64xf32>) -> tensor<2x64xf32>\n"
      "```";
  let arguments = (ins Kopt_NumericTensor:$input,
                       DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs Kopt_NumericTensor:$result);
}

//===----------------------------------------------------------------------===//
// Parameters and lookup
//===----------------------------------------------------------------------===//

def Kopt_WeightOp : Kopt_Op<"weight", [Pure]> {
  let summary = "a named model parameter";
  let description = [{
    A parameter bound by `name` to a tensor of the same shape and dtype in a
    safetensors file (at compile time with `--weights`, or at load time). Its
    shape is static. Compressed types (`!kopt.quantized`, `!kopt.sparse`)
    bind the tensors their encoding names.

    ```mlir
    %table = kopt.weight "embed_tokens.weight" : tensor<32000x512xf16>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs AnyTypeOf<[Kopt_AnyTensor, Kopt_CompressedWeight]>:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kopt_DequantizeOp : Kopt_TensorOp<"dequantize"> {
  let summary = "the float weight a packed quantized weight stands for";
  let description = [{
    Unpacks the stored tensors of a `!kopt.quantized` weight (`encoding`):
    `codes` (`qweight`), `scales` and, when asymmetric, `zeros`, each of the
    shape `encoding` stores them in, into the logical `[N, K]` (or
    `[E, N, K]`) weight of the scale dtype: `w = (q - z) * s` for integer
    codes, `w = f8 * s` for float8, each rounded to the scale dtype.

    Code generation rewrites `kopt.weight` of a quantized type into the
    weights of its parts and this op; the GPU backend fuses it into the
    `kopt.linear` that reads it, so it is never materialized there.

    ```mlir
    %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<64x128xi4,
             group_size = 32, scale = bf16, layout = mma>}
         : (tensor<4x1024xi8>, tensor<64x4xbf16>) -> tensor<64x128xbf16>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8, F8E4M3FN]>:$codes,
                       Kopt_FloatTensor:$scales,
                       Optional<RankedTensorOf<[I8]>>:$zeros,
                       TypeAttrOf<Kopt_QuantizedType>:$encoding);
  let results = (outs Kopt_FloatTensor:$result);
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::kopt::QuantizedType getEncodingType() {
      return ::llvm::cast<::kopt::QuantizedType>(getEncoding());
    }
  }];
}

def Kopt_FakeQuantOp : Kopt_TensorOp<"fake_quant", [SameOperandsAndResultType]> {
  let summary = "activations rounded to float8 with a dynamic scale";
  let description = [{
    What a linear with float8 activations computes from its input: with
    `s = amax(|x|) / 448` (f32; `s = 1` where the amax is 0) over each row of
    the last dim (`granularity = "token"`) or the whole tensor (`"tensor"`),
    `y = (e4m3(x / s) * s).to(x.dtype)`, e4m3 rounding to nearest even and
    saturating at +-448. The quantization pass puts it before linears whose
    weights are float8 (`--quantize=fp8`); the GPU backend fuses it into
    them, which then run on the fp8 tensor cores over the codes and scales.

    ```mlir
    %y = kopt.fake_quant %x {dtype = f8E4M3FN, granularity = "token"} : (tensor<?x4096xbf16>) -> tensor<?x4096xbf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input,
                       TypeAttrOf<F8E4M3FN>:$dtype,
                       DefaultValuedStrAttr<StrAttr, "token">:$granularity);
  let results = (outs Kopt_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` custom<FunctionalOrUniformTypes>(type($input), type($result))
  }];
  let hasVerifier = 1;
}

def Kopt_EmbeddingOp : Kopt_InferredOp<"embedding"> {
  let summary = "row lookup in an embedding table";
  let description = [{
    `F.embedding(ids, table)`: `[V, D]`, `[...]` → `[..., D]`. An id outside
    `[0, V)` is a reported runtime error, never an out-of-bounds read.

    ```mlir
    %x = kopt.embedding %table, %ids : (tensor<32000x512xf16>, tensor<1x?xi32>) -> tensor<1x?x512xf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$table, Kopt_IntTensor:$ids);
  let results = (outs Kopt_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

def Kopt_LinearOp : Kopt_InferredOp<"linear"> {
  let summary = "`F.linear(x, w, b)`";
  let description = [{
    `[..., K]`, `[N, K]`, optional `[N]` → `[..., N]`. The weight may be a
    compressed type (`!kopt.quantized`, `!kopt.sparse`) of logical shape
    `[N, K]`; the result has the input's dtype.

    ```mlir
    %y = kopt.linear %x, %w : (tensor<1x?x512xf16>, tensor<1536x512xf16>) -> tensor<1x?x1536xf16>
    %z = kopt.linear %x, %w, %b : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x32xf32>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input, Kopt_LinearWeight:$weight,
                       Optional<Kopt_FloatTensor>:$bias);
  let results = (outs Kopt_FloatTensor:$result);
}

def Kopt_MatmulOp : Kopt_InferredOp<"matmul", [SameOperandsAndResultElementType]> {
  let summary = "batched `torch.matmul` with broadcast batch dims";
  let description = [{
    `[..., M, K]` × `[..., K, N]` (or `[..., N, K]` with `transpose_b`) →
    `[..., M, N]`; the leading (batch) dims broadcast as in NumPy.

    ```mlir
    %s = kopt.matmul %q, %k {transpose_b = true} : (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) -> tensor<1x8x?x?xf32>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$lhs, Kopt_FloatTensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$transpose_b);
  let results = (outs Kopt_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

def Kopt_AddOp : Kopt_BinaryOp<"add", "a + b">;
def Kopt_SubOp : Kopt_BinaryOp<"sub", "a - b">;
def Kopt_MulOp : Kopt_BinaryOp<"mul", "a * b">;
def Kopt_DivOp : Kopt_BinaryOp<"div", "a / b">;

def Kopt_SiluOp : Kopt_UnaryOp<"silu", "F.silu(x)">;
def Kopt_ReluOp : Kopt_UnaryOp<"relu", "F.relu(x)">;
def Kopt_SigmoidOp : Kopt_UnaryOp<"sigmoid", "torch.sigmoid(x)">;
def Kopt_TanhOp : Kopt_UnaryOp<"tanh", "torch.tanh(x)">;
def Kopt_ExpOp : Kopt_UnaryOp<"exp", "torch.exp(x)">;
def Kopt_RsqrtOp : Kopt_UnaryOp<"rsqrt", "torch.rsqrt(x)">;
def Kopt_NegOp : Kopt_UnaryOp<"neg", "-x"> {
  let hasCanonicalizer = 1;
}

def Kopt_GeluOp : Kopt_TensorOp<"gelu", [SameOperandsAndResultType]> {
  let summary = "`F.gelu(x, approximate=...)`";
  let description = [{
    `approximate` is `"none"` (erf form, the default) or `"tanh"`.

    ```mlir
    %y = kopt.gelu %x {approximate = "tanh"} : (tensor<?x3072xf16>) -> tensor<?x3072xf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs Kopt_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` custom<FunctionalOrUniformTypes>(type($input), type($result))
  }];
  let hasVerifier = 1;
}

def Kopt_ClampOp : Kopt_TensorOp<"clamp", [SameOperandsAndResultType]> {
  let summary = "`x.clamp(min, max)` (activation clipping)";
  let description = [{
    At least one bound is given; `min <= max` when both are.

    ```mlir
    %y = kopt.clamp %x {min = -3.0 : f32, max = 3.0 : f32} : (tensor<?x512xf16>) -> tensor<?x512xf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input,
                       OptionalAttr<Kopt_FloatAttr>:$min,
                       OptionalAttr<Kopt_FloatAttr>:$max);
  let results = (outs Kopt_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` custom<FunctionalOrUniformTypes>(type($input), type($result))
  }];
  let hasVerifier = 1;
}

def Kopt_CastOp : Kopt_TensorOp<"cast"> {
  let summary = "`x.to(dtype)`";
  let description = [{
    Converts the element type; the shape is unchanged. Float → int truncates
    toward zero as PyTorch does.

    ```mlir
    %y = kopt.cast %x : (tensor<1x?x512xf16>) -> tensor<1x?x512xf32>
    ```
  }];
  let arguments = (ins Kopt_AnyTensor:$input);
  let results = (outs Kopt_AnyTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Normalisation and reductions
//===----------------------------------------------------------------------===//

def Kopt_RMSNormOp : Kopt_InferredOp<"rmsnorm", [SameOperandsAndResultElementType]> {
  let summary = "RMS normalisation over the last dim (HF LlamaRMSNorm)";
  let description = [{
    `(x.float() * rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w`
    with `x: [..., D]`, `w: [D]`; `epsilon >= 0` (default 1e-6).

    ```mlir
    %y = kopt.rmsnorm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<1x?x512xf16>, tensor<512xf16>) -> tensor<1x?x512xf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input, Kopt_FloatTensor:$weight,
                       DefaultValuedAttr<Kopt_FloatAttr, "1.0e-6">:$epsilon);
  let results = (outs Kopt_FloatTensor:$result);
}

def Kopt_LayerNormOp : Kopt_InferredOp<"layernorm", [SameOperandsAndResultElementType]> {
  let summary = "`F.layer_norm(x, (D,), w, b, eps)`";
  let description = [{
    Over the last dim: `x: [..., D]`, `w, b: [D]`; `epsilon >= 0`
    (default 1e-5).

    ```mlir
    %y = kopt.layernorm %x, %w, %b {epsilon = 1.0e-12 : f32} : (tensor<?x?x384xf32>, tensor<384xf32>, tensor<384xf32>) -> tensor<?x?x384xf32>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input, Kopt_FloatTensor:$weight,
                       Kopt_FloatTensor:$bias,
                       DefaultValuedAttr<Kopt_FloatAttr, "1.0e-5">:$epsilon);
  let results = (outs Kopt_FloatTensor:$result);
}

def Kopt_L2NormOp : Kopt_InferredOp<"l2norm"> {
  let summary = "`F.normalize(x, dim=axis, eps=eps)`";
  let description = [{
    `x / max(||x||_2, eps)` along `axis` (default -1); `epsilon >= 0`
    (default 1e-12).

    ```mlir
    %e = kopt.l2norm %p {axis = -1 : i64} : (tensor<?x384xf32>) -> tensor<?x384xf32>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<Kopt_FloatAttr, "1.0e-12">:$epsilon);
  let results = (outs Kopt_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` custom<FunctionalOrUniformTypes>(type($input), type($result))
  }];
}

def Kopt_SoftmaxOp : Kopt_InferredOp<"softmax"> {
  let summary = "`torch.softmax(x.float(), axis).to(x.dtype)`";
  let description = [{
    ```mlir
    %p = kopt.softmax %s {axis = -1 : i64} : (tensor<1x8x?x?xf16>) -> tensor<1x8x?x?xf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Kopt_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` custom<FunctionalOrUniformTypes>(type($input), type($result))
  }];
}

def Kopt_ReduceMeanOp : Kopt_ReduceOp<"reduce_mean", "x.mean">;
def Kopt_ReduceSumOp : Kopt_ReduceOp<"reduce_sum", "x.sum">;
def Kopt_ReduceMaxOp : Kopt_ReduceOp<"reduce_max", "x.amax">;

def Kopt_ArgmaxOp : Kopt_InferredOp<"argmax"> {
  let summary = "`x.argmax(axis, keepdim)` (greedy decoding)";
  let description = [{
    Index (i32) of the first maximum along `axis` (default -1).

    ```mlir
    %tok = kopt.argmax %logits {axis = -1 : i64} : (tensor<1x?x32000xf32>) -> tensor<1x?xi32>
    ```
  }];
  let arguments = (ins Kopt_NumericTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs Kopt_I32Tensor:$result);
}

def Kopt_TopKOp : Kopt_InferredOp<"topk"> {
  let summary = "`torch.topk(x, k, axis)`, sorted, largest";
  let description = [{
    Returns the `k` largest values along `axis` (default -1) in descending
    order and their i32 indices; `1 <= k <= size(axis)`.

    ```mlir
    %v, %i = kopt.topk %x {k = 2 : i64} : (tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
    ```
  }];
  let arguments = (ins Kopt_NumericTensor:$input, I64Attr:$k,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Kopt_NumericTensor:$values, Kopt_I32Tensor:$indices);
}

def Kopt_GatherOp : Kopt_InferredOp<"gather"> {
  let summary = "`torch.gather` along `axis`, indices broadcast over trailing dims";
  let description = [{
    `indices` has rank between `axis + 1` and the input rank; its dims before
    `axis` equal the input's, its dims after `axis` equal the input's or are 1
    (broadcast). The result is the input shape with `size(axis)` replaced by
    the number of indices: selecting tokens `[B, K]` from `[B, S, D]` gives
    `[B, K, D]`. An index outside `[0, size(axis))` is a runtime error.

    ```mlir
    %sel = kopt.gather %x, %idx {axis = 1 : i64} : (tensor<2x?x64xf16>, tensor<2x16xi32>) -> tensor<2x16x64xf16>
    ```
  }];
  let arguments = (ins Kopt_AnyTensor:$input, Kopt_IntTensor:$indices,
                       I64Attr:$axis);
  let results = (outs Kopt_AnyTensor:$result);
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def Kopt_ReshapeOp : Kopt_TensorOp<"reshape"> {
  let summary = "`x.reshape(...)`";
  let description = [{
    Same element type and count; the result has at most one dynamic dim,
    inferred from the element count at run time.

    ```mlir
    %q4 = kopt.reshape %q : (tensor<1x?x512xf16>) -> tensor<1x?x8x64xf16>
    ```
  }];
  let arguments = (ins Kopt_AnyTensor:$input);
  let results = (outs Kopt_AnyTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Kopt_TransposeOp : Kopt_InferredOp<"transpose", [SameOperandsAndResultElementType]> {
  let summary = "`x.permute(permutation)`";
  let description = [{
    ```mlir
    %t = kopt.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x?x8x64xf16>) -> tensor<1x8x?x64xf16>
    ```
  }];
  let arguments = (ins Kopt_AnyTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Kopt_AnyTensor:$result);
  let hasFolder = 1;
}

def Kopt_ConcatOp : Kopt_InferredOp<"concat", [SameOperandsAndResultElementType]> {
  let summary = "`torch.cat(inputs, axis)`";
  let description = [{
    One or more inputs of equal rank and dtype, equal in every dim but `axis`.

    ```mlir
    %c = kopt.concat %a, %b {axis = -1 : i64} : (tensor<?x32xf16>, tensor<?x32xf16>) -> tensor<?x64xf16>
    ```
  }];
  let arguments = (ins Variadic<Kopt_AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs Kopt_AnyTensor:$result);
}

def Kopt_SliceOp : Kopt_InferredOp<"slice", [SameOperandsAndResultElementType]> {
  let summary = "`x.narrow(axis, start, size)`";
  let description = [{
    `start >= 0`, `size >= 1`, and `start + size <= size(axis)` when that dim
    is static (checked at run time otherwise).

    ```mlir
    %h = kopt.slice %x {axis = 3 : i64, start = 0 : i64, size = 32 : i64} : (tensor<1x?x8x64xf16>) -> tensor<1x?x8x32xf16>
    ```
  }];
  let arguments = (ins Kopt_AnyTensor:$input, I64Attr:$axis, I64Attr:$start,
                       I64Attr:$size);
  let results = (outs Kopt_AnyTensor:$result);
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Kopt_RopeOp : Kopt_InferredOp<"rope"> {
  let summary = "rotary position embedding (HF Llama rotate-half)";
  let description = [{
    `x: [B, S, H, D]`, `positions: [B, S]`. Rotates the first `rotary_dim`
    dims (default `D`, even, `<= D`) with `inv_freq = theta^(-2i/rotary_dim)`
    computed in f32: `x*cos + rotate_half(x)*sin`; the remaining dims pass
    through. `theta > 0` (default 10000).

    ```mlir
    %qr = kopt.rope %q, %pos {theta = 500000.0 : f32} : (tensor<1x?x8x64xf16>, tensor<1x?xi32>) -> tensor<1x?x8x64xf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input, Kopt_IntTensor:$positions,
                       DefaultValuedAttr<Kopt_FloatAttr, "10000.0">:$theta,
                       OptionalAttr<I64Attr>:$rotary_dim);
  let results = (outs Kopt_FloatTensor:$result);
}

def Kopt_AttentionOp : Kopt_InferredOp<"attention", [
    AllTypesMatch<["key", "value"]>]> {
  let summary = "fused scaled dot-product attention (causal, sliding window, GQA)";
  let description = [{
    `F.scaled_dot_product_attention` on the `[B, H, S, D]` transposes of
    `q: [B, Sq, Hq, D]`, `k, v: [B, Skv, Hkv, D]`, with `Hq % Hkv == 0`
    (grouped-query attention: query head `h` reads kv head `h / (Hq/Hkv)`).
    `scale` defaults to `1/sqrt(D)`.

    Query `i` has absolute position `p_i = L - Sq + i` where `L = kv_len[b]`
    if given, else `Skv`. Key `j` is visible to query `i` iff `j < L`, and
    (`causal` ⇒ `j <= p_i`), and (`window = W > 0` ⇒ `p_i - j < W`). A query
    row with no visible key outputs zeros.

    ```mlir
    %o = kopt.attention %q, %k, %v {causal = true} : (tensor<1x?x8x64xf16>, tensor<1x?x2x64xf16>, tensor<1x?x2x64xf16>) -> tensor<1x?x8x64xf16>
    %d = kopt.attention %q1, %kc, %vc, %len {causal = true, window = 4096 : i64} : (tensor<4x1x8x64xf16>, tensor<4x8192x2x64xf16>, tensor<4x8192x2x64xf16>, tensor<4xi32>) -> tensor<4x1x8x64xf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$query, Kopt_FloatTensor:$key,
                       Kopt_FloatTensor:$value, Optional<Kopt_IntTensor>:$kv_len,
                       DefaultValuedAttr<BoolAttr, "false">:$causal,
                       DefaultValuedAttr<I64Attr, "0">:$window,
                       OptionalAttr<Kopt_FloatAttr>:$scale);
  let results = (outs Kopt_FloatTensor:$result);
}

def Kopt_CacheUpdateOp : Kopt_InferredOp<"cache_update"> {
  let summary = "write new keys/values into a preallocated KV cache";
  let description = [{
    `cache[b, offset[b] : offset[b] + S] = update[b]` for
    `cache: [B, Smax, H, D]`, `update: [B, S, H, D]`, `offset: [B]`. Writing
    past `Smax` is a reported runtime error.

    ```mlir
    %kc2 = kopt.cache_update %kc, %k, %off : (tensor<1x2048x2x64xf16>, tensor<1x?x2x64xf16>, tensor<1xi32>) -> tensor<1x2048x2x64xf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$cache, Kopt_FloatTensor:$update,
                       Kopt_IntTensor:$offset);
  let results = (outs Kopt_FloatTensor:$result);
}

def Kopt_LinearAttentionOp : Kopt_TensorOp<"linear_attention"> {
  let summary = "causal linear attention with per-head decay";
  let description = [{
    `S_t = decay_h * S_{t-1} + k_t^T v_t`, `o_t = q_t S_t` for
    `q, k, v: [B, S, H, D]` and state `[B, H, D, D]` (zeros if absent).
    `decay` has one value in `[0, 1]` per head (default 1.0). Returns the
    outputs `[B, S, H, D]` and the final state, whose element type may be
    wider than the inputs' (e.g. f32 state for f16 activations).

    ```mlir
    %o, %s = kopt.linear_attention %q, %k, %v, %s0 {decay = array<f32: 0.9, 0.99>} : (tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>, tensor<1x2x64x64xf32>) -> (tensor<1x?x2x64xf32>, tensor<1x2x64x64xf32>)
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$query, Kopt_FloatTensor:$key,
                       Kopt_FloatTensor:$value, Optional<Kopt_FloatTensor>:$state,
                       OptionalAttr<DenseF32ArrayAttr>:$decay);
  let results = (outs Kopt_FloatTensor:$output, Kopt_FloatTensor:$final_state);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def Kopt_MoEOp : Kopt_InferredOp<"moe"> {
  let summary = "Mixtral sparse mixture-of-experts block";
  let description = [{
    `p = softmax(x @ router^T)`; the `top_k` experts of each token (with
    weights renormalised to sum 1 if `normalize_topk`);
    `out = sum_k p_k * (silu(x @ Wg_e^T) * (x @ Wu_e^T)) @ Wd_e^T`.
    `x: [T, Hd]`, `router: [E, Hd]`, `w_gate, w_up: [E, F, Hd]`,
    `w_down: [E, Hd, F]`, `1 <= top_k <= E`. Expert weights may be compressed
    types of the same logical shapes.

    ```mlir
    %y = kopt.moe %x, %r, %wg, %wu, %wd {top_k = 2 : i64, normalize_topk = true} : (tensor<?x512xf16>, tensor<8x512xf16>, tensor<8x1024x512xf16>, tensor<8x1024x512xf16>, tensor<8x512x1024xf16>) -> tensor<?x512xf16>
    ```
  }];
  let arguments = (ins Kopt_FloatTensor:$input, Kopt_FloatTensor:$router,
                       Kopt_LinearWeight:$w_gate, Kopt_LinearWeight:$w_up,
                       Kopt_LinearWeight:$w_down, I64Attr:$top_k,
                       DefaultValuedAttr<BoolAttr, "false">:$normalize_topk);
  let results = (outs Kopt_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Compressed weights
//===----------------------------------------------------------------------===//

def Kopt_DecompressOp : Kopt_TensorOp<"decompress"> {
  let summary = "expand a compressed weight to a dense tensor";
  let description = [{
    Dequantizes a `!kopt.quantized` weight (`(q - z) * s`, or `q * s`) or
    densifies a `!kopt.sparse` one into a tensor of its logical shape. The
    reference path and backends without a fused kernel for a layout use it.

    ```mlir
    %w = kopt.decompress %q : (!kopt.quantized<256x512xi4, group_size = 128, scale = f16>) -> tensor<256x512xf16>
    ```
  }];
  let arguments = (ins Kopt_CompressedWeight:$input);
  let results = (outs Kopt_FloatTensor:$result);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Kernels formed by --fuse
//===----------------------------------------------------------------------===//

def Kopt_FusedOp : Kopt_Op<"fused", [RecursiveMemoryEffects, SingleBlock]> {
  let summary = "ops that run as one kernel";
  let description = [{
    Formed by `kopt-fuse`: the ops of the body run as one kernel, and only the
    values the body yields are written to memory. The body reads values
    defined above it directly. `kind` names the rule that formed the group
    and so the kernel it becomes:

    - `"elementwise"`: a tree of elementwise ops (add/sub/mul/div, unary
      activations, gelu, clamp, cast), one thread per element of the result,
      each intermediate rounded to its own dtype as the unfused ops would.
    - `"linear_epilogue"`: a `kopt.linear` whose output feeds a chain of
      elementwise ops (bias, activation, residual add, cast) that the
      GEMM/GEMV applies to each output element before its one store.

    Backends without a fused kernel for a group run its ops one by one.

    ```mlir
    %y = kopt.fused "linear_epilogue" -> tensor<?x64xbf16> {
      %0 = kopt.linear %x, %w : (tensor<?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x64xbf16>
      %1 = kopt.add %0, %residual : tensor<?x64xbf16>
      kopt.yield %1 : tensor<?x64xbf16>
    }
    ```
  }];
  let arguments = (ins StrAttr:$kind);
  let results = (outs Variadic<Kopt_AnyTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$kind attr-dict `->` type($results) $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The op yielding the body's results.
    YieldOp getYield();
  }];
}

def Kopt_YieldOp : Kopt_Op<"yield", [Pure, Terminator,
                                     HasParent<"FusedOp">]> {
  let summary = "the results of a kopt.fused body";
  let arguments = (ins Variadic<Kopt_AnyTensor>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

#endif // KOPT_DIALECT_KOPT_KOPTOPS_TD
