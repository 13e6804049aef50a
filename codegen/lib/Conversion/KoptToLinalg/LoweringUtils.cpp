//===- LoweringUtils.cpp - Shared helpers of the kopt lowering ------------===//

#include "LoweringUtils.h"

#include "kopt/Codegen/ResultDims.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;

namespace kopt {
namespace {

/// Dims as OpFoldResults: static sizes stay attributes, dynamic ones are
/// tensor.dim values combined with index arithmetic.
class ValueDimAlgebra : public DimAlgebra<OpFoldResult> {
public:
  ValueDimAlgebra(OpBuilder &b, Location loc) : b(b), loc(loc) {}
  OpFoldResult constant(int64_t value) override { return b.getIndexAttr(value); }
  OpFoldResult operandDim(Value operand, int64_t index) override {
    return b.createOrFold<tensor::DimOp>(loc, operand, index);
  }
  OpFoldResult add(OpFoldResult lhs, OpFoldResult rhs) override {
    return b.createOrFold<arith::AddIOp>(loc, value(lhs), value(rhs));
  }
  OpFoldResult mul(OpFoldResult lhs, OpFoldResult rhs) override {
    return b.createOrFold<arith::MulIOp>(loc, value(lhs), value(rhs));
  }
  OpFoldResult floorDiv(OpFoldResult lhs, OpFoldResult rhs) override {
    return b.createOrFold<arith::FloorDivSIOp>(loc, value(lhs), value(rhs));
  }

private:
  Value value(OpFoldResult dim) {
    return getValueOrCreateConstantIndexOp(b, loc, dim);
  }
  OpBuilder &b;
  Location loc;
};

} // namespace

FailureOr<SmallVector<OpFoldResult>> reifyResultDims(OpBuilder &b, Operation *op,
                                                     unsigned resultIndex) {
  ValueDimAlgebra algebra(b, op->getLoc());
  SmallVector<OpFoldResult> dims;
  if (failed(computeResultDims<OpFoldResult>(op, resultIndex, algebra, dims)))
    return failure();
  return dims;
}

Value createEmpty(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<OpFoldResult> dims) {
  // Constant sizes become static dims of the tensor type.
  SmallVector<OpFoldResult> sizes;
  for (OpFoldResult dim : dims) {
    std::optional<int64_t> constant = getConstantIntValue(dim);
    sizes.push_back(constant ? OpFoldResult(b.getIndexAttr(*constant)) : dim);
  }
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  if (empty.getType() != type)
    empty = tensor::CastOp::create(b, loc, type, empty);
  return empty;
}

Value createFilled(OpBuilder &b, Location loc, RankedTensorType type,
                   ArrayRef<OpFoldResult> dims, Value value) {
  Value empty = createEmpty(b, loc, type, dims);
  return linalg::FillOp::create(b, loc, value, empty).getResult(0);
}

Type computeType(Type type) {
  if (isa<FloatType>(type) && type.getIntOrFloatBitWidth() <= 16)
    return Float32Type::get(type.getContext());
  return type;
}

Value convertScalar(OpBuilder &b, Location loc, Value value, Type to) {
  Type from = value.getType();
  if (from == to)
    return value;
  auto fromFloat = dyn_cast<FloatType>(from), toFloat = dyn_cast<FloatType>(to);
  if (fromFloat && toFloat)
    return fromFloat.getWidth() < toFloat.getWidth()
               ? arith::ExtFOp::create(b, loc, to, value).getResult()
               : arith::TruncFOp::create(b, loc, to, value).getResult();
  if (fromFloat) {
    if (to.isInteger(1))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, value,
                                   floatConstant(b, loc, from, 0.0));
    return arith::FPToSIOp::create(b, loc, to, value);
  }
  if (toFloat) {
    if (from.isInteger(1))
      return arith::UIToFPOp::create(b, loc, to, value);
    return arith::SIToFPOp::create(b, loc, to, value);
  }
  unsigned fromWidth = from.getIntOrFloatBitWidth();
  unsigned toWidth = to.getIntOrFloatBitWidth();
  if (to.isInteger(1))
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, value,
                                 arith::ConstantOp::create(
                                     b, loc, b.getIntegerAttr(from, 0)));
  if (fromWidth < toWidth)
    return from.isInteger(1)
               ? arith::ExtUIOp::create(b, loc, to, value).getResult()
               : arith::ExtSIOp::create(b, loc, to, value).getResult();
  return arith::TruncIOp::create(b, loc, to, value);
}

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

AffineMap broadcastMap(RankedTensorType operandType, ArrayRef<int64_t> loopShape,
                       MLIRContext *context) {
  int64_t loopRank = loopShape.size(), rank = operandType.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t loop = loopRank - rank + i;
    bool broadcasts = operandType.getDimSize(i) == 1 && loopShape[loop] != 1;
    exprs.push_back(broadcasts ? getAffineConstantExpr(0, context)
                               : getAffineDimExpr(loop, context));
  }
  return AffineMap::get(loopRank, 0, exprs, context);
}

SmallVector<utils::IteratorType> parallelIterators(int64_t n) {
  return SmallVector<utils::IteratorType>(n, utils::IteratorType::parallel);
}

Value buildElementwise(OpBuilder &b, Location loc, ValueRange inputs,
                       RankedTensorType resultType, ArrayRef<OpFoldResult> dims,
                       const ScalarBody &body) {
  MLIRContext *context = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(broadcastMap(tensorTypeOf(input), resultType.getShape(),
                                context));
  maps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  Value init = createEmpty(b, loc, resultType, dims);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, init, maps,
      parallelIterators(resultType.getRank()),
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        SmallVector<Value> operands;
        for (Value arg : args.drop_back())
          operands.push_back(convertScalar(nested, nestedLoc, arg,
                                           computeType(arg.getType())));
        Value computed = body(nested, nestedLoc, operands);
        linalg::YieldOp::create(
            nested, nestedLoc,
            convertScalar(nested, nestedLoc, computed,
                          resultType.getElementType()));
      });
  return generic.getResult(0);
}

} // namespace kopt

namespace kopt {

AffineMap keptDimsMap(ArrayRef<bool> reduced, MLIRContext *context) {
  SmallVector<AffineExpr> exprs;
  for (auto [i, isReduced] : llvm::enumerate(reduced))
    if (!isReduced)
      exprs.push_back(getAffineDimExpr(i, context));
  return AffineMap::get(reduced.size(), 0, exprs, context);
}

SmallVector<OpFoldResult> keptDims(OpBuilder &b, Location loc, Value value,
                                   ArrayRef<bool> reduced) {
  SmallVector<OpFoldResult> dims;
  for (auto [i, isReduced] : llvm::enumerate(reduced))
    if (!isReduced)
      dims.push_back(b.createOrFold<tensor::DimOp>(loc, value, i));
  for (OpFoldResult &dim : dims)
    if (auto constant = getConstantIntValue(dim))
      dim = b.getIndexAttr(*constant);
  return dims;
}

Value reducedCount(OpBuilder &b, Location loc, Value value,
                   ArrayRef<bool> reduced) {
  Value count = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [i, isReduced] : llvm::enumerate(reduced))
    if (isReduced)
      count = b.createOrFold<arith::MulIOp>(
          loc, count, b.createOrFold<tensor::DimOp>(loc, value, i));
  return count;
}

Value buildReduction(OpBuilder &b, Location loc, Value input,
                     ArrayRef<bool> reduced, Type accType, Value init,
                     const Combiner &combine, ValueRange extraInputs,
                     const ScalarBody &prepare) {
  MLIRContext *context = b.getContext();
  auto inputType = tensorTypeOf(input);
  SmallVector<int64_t> keptShape;
  for (auto [i, isReduced] : llvm::enumerate(reduced))
    if (!isReduced)
      keptShape.push_back(inputType.getDimSize(i));
  auto accTensor = RankedTensorType::get(keptShape, accType);
  Value filled =
      createFilled(b, loc, accTensor, keptDims(b, loc, input, reduced), init);

  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(inputType.getRank())};
  AffineMap kept = keptDimsMap(reduced, context);
  for (size_t i = 0; i < extraInputs.size(); ++i)
    maps.push_back(kept);
  maps.push_back(kept);
  SmallVector<utils::IteratorType> iterators;
  for (bool isReduced : reduced)
    iterators.push_back(isReduced ? utils::IteratorType::reduction
                                  : utils::IteratorType::parallel);
  SmallVector<Value> inputs{input};
  inputs.append(extraInputs.begin(), extraInputs.end());
  auto generic = linalg::GenericOp::create(
      b, loc, accTensor, inputs, filled, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        SmallVector<Value> values;
        for (Value arg : args.drop_back())
          values.push_back(convertScalar(nested, nestedLoc, arg, accType));
        Value x = prepare ? prepare(nested, nestedLoc, values) : values[0];
        linalg::YieldOp::create(nested, nestedLoc,
                                combine(nested, nestedLoc, args.back(), x));
      });
  return generic.getResult(0);
}

Value buildMapped(OpBuilder &b, Location loc, ValueRange inputs,
                  ArrayRef<AffineMap> maps, RankedTensorType resultType,
                  ArrayRef<OpFoldResult> dims, const ScalarBody &body) {
  SmallVector<AffineMap> allMaps(maps.begin(), maps.end());
  allMaps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  Value init = createEmpty(b, loc, resultType, dims);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, init, allMaps,
      parallelIterators(resultType.getRank()),
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value computed = body(nested, nestedLoc, args.drop_back());
        linalg::YieldOp::create(nested, nestedLoc,
                                convertScalar(nested, nestedLoc, computed,
                                              resultType.getElementType()));
      });
  return generic.getResult(0);
}

} // namespace kopt

namespace kopt {

Value getStatusBuffer(Operation *op) {
  auto func = op->getParentOfType<FunctionOpInterface>();
  if (!func || func.getNumArguments() == 0)
    return {};
  unsigned last = func.getNumArguments() - 1;
  if (!func.getArgAttr(last, "kopt.status"))
    return {};
  return func.getArgument(last);
}

void reportRuntimeError(OpBuilder &b, Location loc, Operation *op,
                        Value failed, RuntimeError code, Value value,
                        Value bound) {
  Value status = getStatusBuffer(op);
  if (!status)
    return;
  auto node = op->getAttrOfType<IntegerAttr>("kopt.node");
  Type i64 = b.getI64Type();
  auto constant = [&](int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  };
  SmallVector<Value> slots;
  for (int64_t i = 0; i < 4; ++i)
    slots.push_back(arith::ConstantIndexOp::create(b, loc, i));
  Value codeValue = constant(static_cast<int64_t>(code));
  Value nodeValue = constant(node ? node.getInt() : -1);
  Value wideValue = convertScalar(b, loc, value, i64);
  Value boundValue = arith::IndexCastOp::create(b, loc, i64, bound);
  Value zero = constant(0);
  scf::IfOp::create(b, loc, failed, [&](OpBuilder &then, Location thenLoc) {
    // First error wins: only write when status[0] is still 0.
    Value current =
        memref::LoadOp::create(then, thenLoc, status, ValueRange{slots[0]});
    Value clean = arith::CmpIOp::create(then, thenLoc, arith::CmpIPredicate::eq,
                                        current, zero);
    scf::IfOp::create(then, thenLoc, clean, [&](OpBuilder &b2, Location l2) {
      Value fields[] = {codeValue, nodeValue, wideValue, boundValue};
      for (auto [slot, v] : llvm::zip(slots, fields))
        memref::StoreOp::create(b2, l2, v, status, ValueRange{slot});
      scf::YieldOp::create(b2, l2);
    });
    scf::YieldOp::create(then, thenLoc);
  });
}

void checkIndicesInRange(OpBuilder &b, Location loc, Operation *op,
                         Value indices, Value bound, bool inclusive) {
  if (!getStatusBuffer(op))
    return;
  auto type = tensorTypeOf(indices);
  Type i64 = b.getI64Type(), i1 = b.getI1Type();
  SmallVector<bool> reduced(type.getRank(), true);
  // (found, value): the first index outside [0, bound), in iteration order.
  auto flagType = RankedTensorType::get({}, i1);
  auto valueType = RankedTensorType::get({}, i64);
  Value flag = createFilled(b, loc, flagType, {},
                            arith::ConstantOp::create(b, loc, b.getBoolAttr(false)));
  Value value = createFilled(b, loc, valueType, {},
                             arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0)));
  AffineMap scalar = AffineMap::get(type.getRank(), 0, {}, b.getContext());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::reduction);
  Value bound64 = arith::IndexCastOp::create(b, loc, i64, bound);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{flagType, valueType}, indices, ValueRange{flag, value},
      ArrayRef<AffineMap>{b.getMultiDimIdentityMap(type.getRank()), scalar,
                          scalar},
      iterators, [&](OpBuilder &nested, Location l, ValueRange args) {
        Value id = convertScalar(nested, l, args[0], i64);
        Value zero = arith::ConstantOp::create(nested, l, nested.getI64IntegerAttr(0));
        Value below = arith::CmpIOp::create(nested, l, arith::CmpIPredicate::slt,
                                            id, zero);
        Value above = arith::CmpIOp::create(
            nested, l,
            inclusive ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::sge,
            id, bound64);
        Value bad = arith::OrIOp::create(nested, l, below, above);
        Value take = arith::AndIOp::create(
            nested, l, bad,
            arith::XOrIOp::create(
                nested, l, args[1],
                arith::ConstantOp::create(nested, l, nested.getBoolAttr(true))));
        linalg::YieldOp::create(
            nested, l,
            ValueRange{arith::OrIOp::create(nested, l, args[1], bad),
                       arith::SelectOp::create(nested, l, take, id, args[2])});
      });
  Value found = tensor::ExtractOp::create(b, loc, generic.getResult(0));
  Value first = tensor::ExtractOp::create(b, loc, generic.getResult(1));
  reportRuntimeError(b, loc, op, found, RuntimeError::IndexOutOfRange, first,
                     bound);
}

void checkNoZeroDivisor(OpBuilder &b, Location loc, Operation *op,
                        Value divisors) {
  if (!getStatusBuffer(op))
    return;
  auto type = tensorTypeOf(divisors);
  Type i1 = b.getI1Type();
  auto flagType = RankedTensorType::get({}, i1);
  Value flag = createFilled(b, loc, flagType, {},
                            arith::ConstantOp::create(b, loc, b.getBoolAttr(false)));
  AffineMap scalar = AffineMap::get(type.getRank(), 0, {}, b.getContext());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::reduction);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{flagType}, divisors, ValueRange{flag},
      ArrayRef<AffineMap>{b.getMultiDimIdentityMap(type.getRank()), scalar},
      iterators, [&](OpBuilder &nested, Location l, ValueRange args) {
        Value zero = arith::ConstantOp::create(
            nested, l, nested.getIntegerAttr(args[0].getType(), 0));
        Value isZero = arith::CmpIOp::create(nested, l, arith::CmpIPredicate::eq,
                                             args[0], zero);
        linalg::YieldOp::create(
            nested, l, ValueRange{arith::OrIOp::create(nested, l, args[1], isZero)});
      });
  Value found = tensor::ExtractOp::create(b, loc, generic.getResult(0));
  Value zeroIndex = arith::ConstantIndexOp::create(b, loc, 0);
  reportRuntimeError(b, loc, op, found, RuntimeError::DivisionByZero,
                     arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0)),
                     zeroIndex);
}

Value clampIndex(OpBuilder &b, Location loc, Value index, Value bound) {
  Type i64 = b.getI64Type();
  Value wide = convertScalar(b, loc, index, i64);
  Value zero = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0));
  Value last = arith::SubIOp::create(
      b, loc, arith::IndexCastOp::create(b, loc, i64, bound),
      arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(1)));
  Value clamped = arith::MinSIOp::create(
      b, loc, arith::MaxSIOp::create(b, loc, wide, zero), last);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), clamped);
}

} // namespace kopt
