//===- KoptDialect.td - The kopt model dialect -------------*- tablegen -*-===//
//
// The dialect definition and the base classes every kopt op, type and
// attribute derives from.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_KOPTDIALECT_TD
#define KOPT_DIALECT_KOPT_KOPTDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Kopt_Dialect : Dialect {
  let name = "kopt";
  let cppNamespace = "::kopt";
  let summary = "Model-level ops for neural-network kernels compiled by kopt.";
  let description = [{
    The `kopt` dialect is the input contract of the kopt compiler: the ops a
    model (a transformer block, an embedding model, a mixture-of-experts layer,
    sliding-window or linear attention) is written in. Every op has value
    (tensor) semantics and matches a PyTorch expression exactly, so that any
    reference implementation can check it.

    Model dimensions are static; token-like dimensions (batch, sequence length,
    number of tokens) may be dynamic (`?`) and are runtime values. Reductions
    (norms, softmax, attention) accumulate in f32 whatever the storage type.

    Compressed weights produced by the quantization and sparsity passes (or by
    importers of pre-quantized checkpoints) carry their encoding in their type:
    `!kopt.quantized<...>` and `!kopt.sparse<...>`.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerTypes();
    void registerAttributes();
  }];
}

/// Base class of every kopt op.
class Kopt_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kopt_Dialect, mnemonic, traits>;

/// Base class of every kopt type.
class Kopt_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Kopt_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

/// Base class of every kopt attribute.
class Kopt_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Kopt_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // KOPT_DIALECT_KOPT_KOPTDIALECT_TD
