//===- KoptAttrs.td - kopt attributes and enums ------------*- tablegen -*-===//
//
// Enumerations used by the compressed-weight types, and attribute constraints
// shared by the ops.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_KOPTATTRS_TD
#define KOPT_DIALECT_KOPT_KOPTATTRS_TD

include "kopt/Dialect/Kopt/KoptDialect.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/CommonAttrConstraints.td"

/// How the packed data of a quantized weight is laid out in memory.
def Kopt_QuantLayout : I32EnumAttr<"QuantLayout", "packed weight layout", [
    I32EnumAttrCase<"Plain", 0, "plain">,
    I32EnumAttrCase<"Mma", 1, "mma">
  ]> {
  let cppNamespace = "::kopt";
  let genSpecializedAttr = 0;
  let description = [{
    - `plain`: row-major `[N, K]` codes, two 4-bit codes per byte with the
      lower K index in the low nibble; scales `[N, K / group_size]`.
    - `mma`: codes and scales pre-shuffled so that one 16-byte load feeds one
      thread's tensor-core fragment (the GPU kernels' layout).
  }];
}

def Kopt_QuantLayoutAttr : EnumAttr<Kopt_Dialect, Kopt_QuantLayout, "layout">;

/// A float attribute written as f32 or f64; read as double.
def Kopt_FloatAttr : Attr<CPred<"::llvm::isa<::mlir::FloatAttr>($_self)">,
                          "floating-point attribute"> {
  let storageType = "::mlir::FloatAttr";
  let returnType = "double";
  let convertFromStorage = "$_self.getValueAsDouble()";
  let constBuilderCall = "$_builder.getF32FloatAttr($0)";
}

#endif // KOPT_DIALECT_KOPT_KOPTATTRS_TD
