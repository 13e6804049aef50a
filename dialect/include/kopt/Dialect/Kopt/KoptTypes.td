//===- KoptTypes.td - compressed-weight types --------------*- tablegen -*-===//
//
// Types of weights whose storage is compressed (quantized or sparse). The
// encoding is part of the type, so a reader of the IR (and a FileCheck test)
// sees exactly what a kernel receives.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_KOPTTYPES_TD
#define KOPT_DIALECT_KOPT_KOPTTYPES_TD

include "kopt/Dialect/Kopt/KoptAttrs.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def Kopt_QuantizedType : Kopt_Type<"Quantized", "quantized"> {
  let summary = "a group-wise quantized weight: codes, scales, zero points";
  let description = [{
    A weight of logical shape `[N, K]` (or `[E, N, K]` for the experts of a
    `kopt.moe`) stored as `storage` codes (`i4`, `i8` or `f8E4M3FN`) with one
    `scale` per group of `group_size` consecutive elements along `K`.
    `group_size = K` is per output channel; `group_size = 0` is one scale for
    the whole tensor (per-tensor, used with fp8). With a `zero_point` type the
    codes are unsigned and `w = (q - z) * s` (asymmetric); without one they
    are signed and `w = q * s` (symmetric).

    A `kopt.weight` of this type binds the checkpoint tensors `<name>.qweight`,
    `<name>.scales` and, if asymmetric, `<name>.zeros`, in `layout`.

    Example:

    ```mlir
    !kopt.quantized<4096x4096xi4, group_size = 128, scale = f16,
                    zero_point = i4, layout = mma>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "logical shape">:$shape,
    "::mlir::Type":$storage,
    "int64_t":$group_size,
    "::mlir::Type":$scale,
    OptionalParameter<"::mlir::Type", "zero-point type (asymmetric)">:$zero_point,
    DefaultValuedParameter<"::kopt::QuantLayout", "::kopt::QuantLayout::Plain",
                           "packed layout">:$layout
  );
  let assemblyFormat = [{
    `<` custom<StaticShapeAndElement>($shape, $storage) `,`
        struct($group_size, $scale, $zero_point, $layout) `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of elements in the reduction (K) dimension.
    int64_t getK() const { return getShape().back(); }
    /// Whether codes carry a zero point (asymmetric quantization).
    bool isAsymmetric() const { return static_cast<bool>(getZeroPoint()); }
  }];
}

def Kopt_SparseType : Kopt_Type<"Sparse", "sparse"> {
  let summary = "a structurally sparse weight (N:M or block sparsity)";
  let description = [{
    A weight of logical shape `[N, K]` (or `[E, N, K]`) whose zeros follow
    `pattern`, written as on the command line: `"N:M"` (at most N non-zeros
    in every M consecutive elements along K, e.g. `"2:4"`) or
    `"block:RxC:DENSITY"` (blocks of R x C elements, a DENSITY fraction of
    them kept).

    Example:

    ```mlir
    !kopt.sparse<4096x4096xbf16, "2:4">
    !kopt.sparse<4096x4096xf16, "block:16x16:0.25">
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "logical shape">:$shape,
    "::mlir::Type":$element,
    StringRefParameter<"sparsity pattern">:$pattern
  );
  let assemblyFormat = [{
    `<` custom<StaticShapeAndElement>($shape, $element) `,` $pattern `>`
  }];
  let genVerifyDecl = 1;
}

/// Any weight operand of a linear layer: dense, quantized or sparse.
def Kopt_CompressedWeight : AnyTypeOf<[Kopt_QuantizedType, Kopt_SparseType]>;

#endif // KOPT_DIALECT_KOPT_KOPTTYPES_TD
