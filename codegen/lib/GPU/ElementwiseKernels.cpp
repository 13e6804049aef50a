//===- ElementwiseKernels.cpp - Elementwise ops on the GPU ----------------===//
//
// One thread per output element. Operands with the result's shape are read
// at the thread's linear index; broadcast operands through strides (0 on
// broadcast dims) over the delinearised index, passed at launch. 16-bit
// floats compute in f32 and round once, as on the CPU.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kThreads = 256;

} // namespace

std::string elementwiseScalar(KernelText &k, Operation *op,
                              ArrayRef<std::string> v, StringRef computeType) {
  bool isFloat = isFloatText(computeType);
  std::string t = computeType.str();
  auto sigmoid = [&](const std::string &x) {
    std::string n = k.def("arith.negf " + x + " : f32");
    std::string e = k.def("math.exp " + n + " : f32");
    std::string d = k.def("arith.addf " + k.f(1.0) + ", " + e + " : f32");
    return k.def("arith.divf " + k.f(1.0) + ", " + d + " : f32");
  };
  return llvm::TypeSwitch<Operation *, std::string>(op)
      .Case([&](AddOp) {
        return k.def((isFloat ? "arith.addf " : "arith.addi ") + v[0] + ", " +
                     v[1] + " : " + t);
      })
      .Case([&](SubOp) {
        return k.def((isFloat ? "arith.subf " : "arith.subi ") + v[0] + ", " +
                     v[1] + " : " + t);
      })
      .Case([&](MulOp) {
        return k.def((isFloat ? "arith.mulf " : "arith.muli ") + v[0] + ", " +
                     v[1] + " : " + t);
      })
      .Case([&](DivOp) {
        if (isFloat)
          return k.def("arith.divf " + v[0] + ", " + v[1] + " : f32");
        // Truncating division; x / 0 is reported by the caller and gives 0,
        // INT_MIN / -1 wraps (as on the CPU).
        std::string zero = k.ci(0, t), one = k.ci(1, t), m1 = k.ci(-1, t);
        std::string isZero = k.def("arith.cmpi eq, " + v[1] + ", " + zero +
                                   " : " + t);
        std::string isM1 =
            k.def("arith.cmpi eq, " + v[1] + ", " + m1 + " : " + t);
        std::string either = k.def("arith.ori " + isZero + ", " + isM1 + " : i1");
        std::string safe = k.def("arith.select " + either + ", " + one + ", " +
                                 v[1] + " : " + t);
        std::string q = k.def("arith.divsi " + v[0] + ", " + safe + " : " + t);
        std::string neg = k.def("arith.subi " + zero + ", " + v[0] + " : " + t);
        std::string r = k.def("arith.select " + isM1 + ", " + neg + ", " + q +
                              " : " + t);
        return k.def("arith.select " + isZero + ", " + zero + ", " + r + " : " +
                     t);
      })
      .Case([&](SiluOp) {
        return k.def("arith.mulf " + v[0] + ", " + sigmoid(v[0]) + " : f32");
      })
      .Case([&](SigmoidOp) { return sigmoid(v[0]); })
      .Case([&](ReluOp) {
        return k.def("arith.maximumf " + v[0] + ", " + k.f(0.0) + " : f32");
      })
      .Case([&](TanhOp) { return k.def("math.tanh " + v[0] + " : f32"); })
      .Case([&](ExpOp) { return k.def("math.exp " + v[0] + " : f32"); })
      .Case([&](RsqrtOp) { return k.def("math.rsqrt " + v[0] + " : f32"); })
      .Case([&](NegOp) { return k.def("arith.negf " + v[0] + " : f32"); })
      .Case([&](GeluOp gelu) {
        std::string x = v[0];
        std::string half = k.def("arith.mulf " + k.f(0.5) + ", " + x + " : f32");
        std::string inner;
        if (gelu.getApproximate() == "tanh") {
          std::string x2 = k.def("arith.mulf " + x + ", " + x + " : f32");
          std::string x3 = k.def("arith.mulf " + x2 + ", " + x + " : f32");
          std::string s = k.def("arith.mulf " + k.f(0.044715) + ", " + x3 +
                                " : f32");
          std::string sum = k.def("arith.addf " + x + ", " + s + " : f32");
          std::string arg = k.def("arith.mulf " + k.f(std::sqrt(2.0 / M_PI)) +
                                  ", " + sum + " : f32");
          inner = k.def("math.tanh " + arg + " : f32");
        } else {
          std::string arg =
              k.def("arith.mulf " + x + ", " + k.f(M_SQRT1_2) + " : f32");
          inner = k.def("math.erf " + arg + " : f32");
        }
        std::string one =
            k.def("arith.addf " + k.f(1.0) + ", " + inner + " : f32");
        return k.def("arith.mulf " + half + ", " + one + " : f32");
      })
      .Case([&](ClampOp clamp) {
        std::string x = v[0];
        if (std::optional<double> lo = clamp.getMin())
          x = k.def("arith.maximumf " + x + ", " + k.f(*lo) + " : f32");
        if (std::optional<double> hi = clamp.getMax())
          x = k.def("arith.minimumf " + x + ", " + k.f(*hi) + " : f32");
        return x;
      })
      .Default([&](Operation *) { return v[0]; }); // cast
}

namespace {

/// The type `op` computes in: f32 for float operands (16-bit floats round
/// once, at the result), else the integer operand type; a cast from an
/// integer computes in its input type.
std::string computeTypeOf(Operation *op) {
  std::string inType = elementTypeText(op->getOperand(0));
  return isFloatText(inType) ? "f32" : inType;
}

} // namespace

LogicalResult emitElementwiseGroup(ArrayRef<Operation *> ops, Value result,
                                   FunctionEmitter &e) {
  Operation *root = ops.back();
  auto resultType = cast<RankedTensorType>(result.getType());
  int64_t rank = resultType.getRank();
  std::string outType = typeText(resultType.getElementType());
  SmallVector<AffineExpr> outDims = e.dims(result);
  llvm::SmallPtrSet<Operation *, 8> inGroup(ops.begin(), ops.end());

  // The group's inputs: operands defined outside it, each loaded once.
  SmallVector<Value> leaves;
  for (Operation *op : ops)
    for (Value operand : op->getOperands())
      if ((!operand.getDefiningOp() || !inGroup.contains(operand.getDefiningOp())) &&
          !llvm::is_contained(leaves, operand))
        leaves.push_back(operand);
  SmallVector<Operation *> intDivisions;
  for (Operation *op : ops)
    if (isa<DivOp>(op) && !isFloatText(elementTypeText(op->getOperand(0))))
      intDivisions.push_back(op);

  KernelText k(kThreads);
  std::string out = k.buffer("out", outType);
  std::string n = k.index("n");
  std::string status = intDivisions.empty() ? "" : k.buffer("status", "i64");

  // Which leaves need strides.
  struct OperandPlan {
    std::string memref, type;
    bool strided = false;
    SmallVector<AffineExpr> strides; // per result dim
    SmallVector<std::string> strideNames;
  };
  SmallVector<OperandPlan> plans;
  for (auto [i, operand] : llvm::enumerate(leaves)) {
    OperandPlan p;
    p.type = elementTypeText(operand);
    p.memref = k.buffer("in" + std::to_string(i), p.type);
    plans.push_back(std::move(p));
  }
  bool anyStrided = false;
  for (auto [i, operand] : llvm::enumerate(leaves)) {
    auto type = cast<RankedTensorType>(operand.getType());
    OperandPlan &p = plans[i];
    SmallVector<AffineExpr> dims = e.dims(operand);
    int64_t offset = rank - type.getRank();
    bool same = offset == 0;
    for (int64_t d = 0; d < type.getRank() && same; ++d)
      same = e.sameDim(dims[d], outDims[d]) ||
             (!type.isDynamicDim(d) && !resultType.isDynamicDim(d + offset) &&
              type.getDimSize(d) == resultType.getDimSize(d + offset));
    if (same)
      continue;
    p.strided = anyStrided = true;
    AffineExpr stride = e.constant(1);
    p.strides.assign(rank, e.constant(0));
    for (int64_t d = type.getRank() - 1; d >= 0; --d) {
      bool broadcast = !type.isDynamicDim(d) && type.getDimSize(d) == 1 &&
                       resultType.getDimSize(d + offset) != 1;
      p.strides[d + offset] = broadcast ? e.constant(0) : stride;
      stride = stride * dims[d];
    }
    for (int64_t d = 0; d < rank; ++d)
      p.strideNames.push_back(
          k.index("s" + std::to_string(i) + "_" + std::to_string(d)));
  }
  SmallVector<std::string> dimNames;
  if (anyStrided)
    for (int64_t d = 0; d < rank; ++d)
      dimNames.push_back(k.index("d" + std::to_string(d)));

  std::string i = k.globalId();
  std::string inRange = k.def("arith.cmpi ult, " + i + ", " + n + " : index");
  k.line("scf.if " + inRange + " {");
  // Offsets of strided leaves from the delinearised index.
  SmallVector<std::string> offsets(plans.size(), i);
  if (anyStrided) {
    SmallVector<std::string> coords(rank);
    std::string rest = i;
    for (int64_t d = rank - 1; d >= 0; --d) {
      coords[d] = k.def("arith.remui " + rest + ", " + dimNames[d] + " : index");
      rest = k.def("arith.divui " + rest + ", " + dimNames[d] + " : index");
    }
    for (auto [j, p] : llvm::enumerate(plans)) {
      if (!p.strided)
        continue;
      std::string offset = k.c(0);
      for (int64_t d = 0; d < rank; ++d) {
        std::string term = k.def("arith.muli " + coords[d] + ", " +
                                 p.strideNames[d] + " : index");
        offset = k.def("arith.addi " + offset + ", " + term + " : index");
      }
      offsets[j] = offset;
    }
  }
  // Every value as stored (its own element type), as the unfused ops see it.
  llvm::DenseMap<Value, std::string> stored;
  for (auto [j, p] : llvm::enumerate(plans))
    stored[leaves[j]] = k.def("memref.load " + p.memref + "[" + offsets[j] +
                              "] : memref<?x" + p.type + ">");
  for (Operation *op : ops) {
    std::string computeType = computeTypeOf(op);
    SmallVector<std::string> values;
    for (Value operand : op->getOperands())
      values.push_back(k.convert(stored[operand], elementTypeText(operand),
                                 computeType));
    if (llvm::is_contained(intDivisions, op)) {
      std::string zero = k.ci(0, computeType);
      std::string bad = k.def("arith.cmpi eq, " + values[1] + ", " + zero +
                              " : " + computeType);
      k.line("scf.if " + bad + " {");
      std::string idx = k.def("arith.index_cast " + i + " : index to i64");
      k.report(status, 3, e.nodeOf(op), idx, k.ci(0, "i64"));
      k.line("}");
    }
    std::string computed = elementwiseScalar(k, op, values, computeType);
    stored[op->getResult(0)] = k.convert(computed, computeType,
                                         elementTypeText(op->getResult(0)));
  }
  k.line("memref.store " + stored[root->getResult(0)] + ", " + out + "[" + i +
         "] : memref<?x" + outType + ">");
  k.line("}");

  FailureOr<std::string> name = e.kernel(
      ops.size() > 1 ? "fused_elementwise" : "elementwise", k.str("KERNEL"),
      root->getLoc());
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(result);
  AffineExpr count = e.numElements(result);
  Launch &l = e.launch(*name, root, ceilDiv(count, kThreads), kThreads);
  l.buffer(outBuffer).index(count);
  if (!status.empty())
    l.buffer(e.status());
  for (Value operand : leaves)
    l.buffer(e.bufferOf(operand));
  for (OperandPlan &p : plans)
    if (p.strided)
      for (AffineExpr s : p.strides)
        l.index(s);
  if (anyStrided)
    for (AffineExpr d : outDims)
      l.index(d);
  return success();
}

LogicalResult emitElementwise(Operation *op, FunctionEmitter &e) {
  return emitElementwiseGroup({op}, op->getResult(0), e);
}

} // namespace kopt::gpu
