//===- KoptCanonicalize.td - declarative kopt rewrites -----*- tablegen -*-===//
//
// Peephole canonicalizations that need no analysis, in DRR.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_KOPTCANONICALIZE_TD
#define KOPT_DIALECT_KOPT_KOPTCANONICALIZE_TD

include "mlir/IR/PatternBase.td"
include "kopt/Dialect/Kopt/KoptOps.td"

/// -(-x) -> x
def NegOfNeg : Pat<(Kopt_NegOp (Kopt_NegOp $x)), (replaceWithValue $x)>;

/// reshape(reshape(x)) -> reshape(x): only the final shape matters.
def ReshapeOfReshape
    : Pat<(Kopt_ReshapeOp:$outer (Kopt_ReshapeOp $x)), (Kopt_ReshapeOp $x)>;



#endif // KOPT_DIALECT_KOPT_KOPTCANONICALIZE_TD
