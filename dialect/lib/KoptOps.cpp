//===- KoptOps.cpp - kopt op verifiers, folders, canonicalizations --------===//
//
// The rules of kopt ops that are not dimension agreement (which lives in
// KoptShapeInference.cpp): attribute ranges, enumerations, element counts;
// plus folders and the registration of the DRR canonicalizations.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

using namespace mlir;

bool kopt::areCompatibleTensorTypes(TypeRange inferred, TypeRange actual) {
  if (inferred.size() != actual.size())
    return false;
  for (auto [lhs, rhs] : llvm::zip(inferred, actual)) {
    auto lhsTensor = dyn_cast<RankedTensorType>(lhs);
    auto rhsTensor = dyn_cast<RankedTensorType>(rhs);
    if (!lhsTensor || !rhsTensor) {
      if (lhs != rhs)
        return false;
      continue;
    }
    if (lhsTensor.getElementType() != rhsTensor.getElementType() ||
        lhsTensor.getRank() != rhsTensor.getRank())
      return false;
    for (auto [a, b] : llvm::zip(lhsTensor.getShape(), rhsTensor.getShape()))
      if (!dimsAgree(a, b))
        return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// custom<FunctionalOrUniformTypes>: `(A, B) -> R`, or `T` for all of them
//===----------------------------------------------------------------------===//

/// Parses the functional form `(T0, ..., Tn-1) -> R` into `slots` (operands
/// then result), or a single type `T` given to every slot.
static ParseResult parseTypeSlots(OpAsmParser &parser,
                                  MutableArrayRef<Type *> slots) {
  if (failed(parser.parseOptionalLParen())) {
    Type uniform;
    if (parser.parseType(uniform))
      return failure();
    for (Type *slot : slots)
      *slot = uniform;
    return success();
  }
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<Type> operandTypes;
  if (failed(parser.parseOptionalRParen())) {
    if (parser.parseTypeList(operandTypes) || parser.parseRParen())
      return failure();
  }
  if (operandTypes.size() != slots.size() - 1)
    return parser.emitError(loc, "expected ")
           << slots.size() - 1 << " operand types, got " << operandTypes.size();
  if (parser.parseArrow() || parser.parseType(*slots.back()))
    return failure();
  for (auto [slot, type] : llvm::zip(slots.drop_back(), operandTypes))
    *slot = type;
  return success();
}

template <typename... Slots>
static ParseResult parseFunctionalOrUniformTypes(OpAsmParser &parser,
                                                 Slots &...slots) {
  SmallVector<Type *> refs{&slots...};
  return parseTypeSlots(parser, refs);
}

/// Always prints the functional form, the one the spec's examples use.
template <typename... Types>
static void printFunctionalOrUniformTypes(OpAsmPrinter &printer, Operation *,
                                          Types... types) {
  SmallVector<Type> all{types...};
  printer << '(';
  llvm::interleaveComma(ArrayRef<Type>(all).drop_back(), printer);
  printer << ") -> " << all.back();
}

namespace kopt {
#include "kopt/Dialect/Kopt/KoptCanonicalize.inc"
} // namespace kopt

#define GET_OP_CLASSES
#include "kopt/Dialect/Kopt/KoptOps.cpp.inc"

namespace kopt {

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  QuantizedType encoding = getEncodingType();
  if (failed(encodingOf(encoding)))
    return emitOpError("zero points of type ")
           << encoding.getZeroPoint()
           << " cannot be unpacked; use integer zero points";
  SmallVector<RankedTensorType> parts = partTypesOf(encoding);
  SmallVector<Value> operands{getCodes(), getScales()};
  if (getZeros())
    operands.push_back(getZeros());
  if (operands.size() != parts.size())
    return emitOpError()
           << (encoding.isAsymmetric() ? "an asymmetric" : "a symmetric")
           << " encoding is stored as " << parts.size() << " tensors, got "
           << operands.size();
  static constexpr const char *kPartNames[] = {"codes", "scales", "zeros"};
  for (auto [index, operand, part] : llvm::enumerate(operands, parts))
    if (operand.getType() != part)
      return emitOpError(kPartNames[index])
             << " must be " << part << " for " << encoding << ", got "
             << operand.getType();
  auto expected = RankedTensorType::get(encoding.getShape(), encoding.getScale());
  if (getType() != expected)
    return emitOpError("result must be ") << expected << ", got " << getType();
  return success();
}

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("weight name must not be empty");
  auto tensor = dyn_cast<RankedTensorType>(getType());
  if (tensor && !tensor.hasStaticShape())
    return emitOpError("weight '")
           << getName() << "' must have a static shape, got " << tensor;
  // One name binds one checkpoint tensor: every read of it in the module
  // must agree on its type. The later declaration reports the conflict.
  auto module = (*this)->getParentOfType<ModuleOp>();
  if (!module)
    return success();
  WeightOp conflict;
  module.walk([&](WeightOp other) {
    if (other == *this)
      return WalkResult::interrupt();
    if (other.getName() == getName() && other.getType() != getType())
      conflict = other;
    return conflict ? WalkResult::interrupt() : WalkResult::advance();
  });
  if (!conflict)
    return success();
  InFlightDiagnostic diag = emitOpError("weight '")
                            << getName() << "' has type " << getType()
                            << " here but " << conflict.getType()
                            << " where it is first read";
  diag.attachNote(conflict.getLoc()) << "first read here";
  return diag;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult ClampOp::verify() {
  std::optional<double> lo = getMin(), hi = getMax();
  if (!lo && !hi)
    return emitOpError("needs at least one of 'min' and 'max'");
  if ((lo && std::isnan(*lo)) || (hi && std::isnan(*hi)))
    return emitOpError("clamp bounds must not be NaN");
  if (lo && hi && *lo > *hi)
    return emitOpError("min (") << *lo << ") must be <= max (" << *hi << ")";
  return success();
}

LogicalResult FakeQuantOp::verify() {
  if (getGranularity() != "token" && getGranularity() != "tensor")
    return emitOpError("granularity must be \"token\" or \"tensor\", got \"")
           << getGranularity() << "\"";
  if (getGranularity() == "token" && getInput().getType().getRank() == 0)
    return emitOpError("per-token scales need a rank >= 1 input");
  return success();
}

LogicalResult CastOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  if (!areCompatibleTensorTypes(
          {RankedTensorType::get(in.getShape(), out.getElementType())}, {out}))
    return emitOpError("result shape must match input shape, got ")
           << in << " -> " << out;
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

void NegOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                        MLIRContext *context) {
  patterns.add<NegOfNeg>(context);
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("element type must not change, got ")
           << in.getElementType() << " -> " << out.getElementType();
  if (countDynamicDims(out.getShape()) > 1)
    return emitOpError("result may have at most one dynamic dim, got ") << out;
  std::optional<int64_t> inCount = staticElementCount(in.getShape());
  std::optional<int64_t> outCount = staticElementCount(out.getShape());
  if (inCount && outCount && *inCount != *outCount)
    return emitOpError("element count must not change, got ")
           << *inCount << " -> " << *outCount;
  if (inCount && !outCount) {
    // The dynamic result dim is inferred; the static ones must divide.
    int64_t known = 1;
    for (int64_t dim : out.getShape())
      if (!isDynamicDim(dim))
        known *= dim;
    if (known == 0 ? *inCount != 0 : *inCount % known != 0)
      return emitOpError("cannot infer the dynamic dim of ")
             << out << " from " << *inCount << " elements";
  }
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                            MLIRContext *context) {
  patterns.add<ReshapeOfReshape>(context);
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  for (auto [i, p] : llvm::enumerate(getPermutation()))
    if (static_cast<int64_t>(i) != p)
      return {};
  return getInput();
}

//===----------------------------------------------------------------------===//
// LinearAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult LinearAttentionOp::verify() {
  auto q = getQuery().getType();
  if (q.getRank() != 4)
    return emitOpError("query must have rank 4 ([B, S, H, D]), got rank ")
           << q.getRank();
  for (Value operand : {getKey(), getValue()}) {
    if (!areCompatibleTensorTypes({q}, {operand.getType()}))
      return emitOpError("key and value must match query ")
             << q << ", got " << operand.getType();
  }
  int64_t b = q.getDimSize(0), h = q.getDimSize(2), d = q.getDimSize(3);
  auto stateShape = RankedTensorType::get({b, h, d, d}, q.getElementType());
  if (Value state = getState()) {
    auto stateType = cast<RankedTensorType>(state.getType());
    if (!areCompatibleTensorTypes(
            {stateShape.clone(stateType.getElementType())}, {stateType}))
      return emitOpError("state must have shape [B, H, D, D] = ")
             << stateShape << ", got " << stateType;
    if (stateType.getElementType() !=
        getFinalState().getType().getElementType())
      return emitOpError("final state element type must match the state's");
  }
  if (!areCompatibleTensorTypes({q}, {getOutput().getType()}))
    return emitOpError("output type must match query ")
           << q << ", got " << getOutput().getType();
  auto finalState = getFinalState().getType();
  if (!areCompatibleTensorTypes({stateShape.clone(finalState.getElementType())},
                                {finalState}))
    return emitOpError("final state must have shape [B, H, D, D] = ")
           << stateShape << ", got " << finalState;
  if (std::optional<ArrayRef<float>> decay = getDecay()) {
    if (!isDynamicDim(h) && static_cast<int64_t>(decay->size()) != h)
      return emitOpError("decay must have one value per head (")
             << h << "), got " << decay->size();
    for (float value : *decay)
      if (!(value >= 0.0f && value <= 1.0f))
        return emitOpError("decay values must be in [0, 1], got ") << value;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// DecompressOp
//===----------------------------------------------------------------------===//

LogicalResult DecompressOp::verify() {
  Type weight = getInput().getType();
  auto result = getResult().getType();
  ArrayRef<int64_t> shape = *getWeightShape(weight);
  if (result.getShape() != shape)
    return emitOpError("result shape must be the weight's logical shape, got ")
           << result;
  if (auto sparse = dyn_cast<SparseType>(weight);
      sparse && sparse.getElement() != result.getElementType())
    return emitOpError("result element type must be ") << sparse.getElement();
  return success();
}

//===----------------------------------------------------------------------===//
// FusedOp
//===----------------------------------------------------------------------===//

YieldOp FusedOp::getYield() {
  return cast<YieldOp>(getBody().front().getTerminator());
}

LogicalResult FusedOp::verify() {
  StringRef kind = getKind();
  if (kind != "elementwise" && kind != "linear_epilogue")
    return emitOpError("kind must be \"elementwise\" or \"linear_epilogue\", "
                       "got \"")
           << kind << "\"";
  Block &body = getBody().front();
  if (body.getNumArguments() != 0)
    return emitOpError("body takes no arguments; it reads values from above");
  auto yield = body.empty() ? YieldOp() : dyn_cast<YieldOp>(body.back());
  if (!yield)
    return emitOpError("body must end in kopt.yield");
  if (yield.getValues().getTypes() != getResultTypes())
    return yield.emitOpError("yields ")
           << yield.getValues().getTypes() << " but the kopt.fused returns "
           << getResultTypes();
  if (&body.front() == yield.getOperation())
    return emitOpError("body holds no op");
  return success();
}

} // namespace kopt
