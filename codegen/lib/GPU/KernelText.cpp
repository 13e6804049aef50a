//===- KernelText.cpp - Writing one gpu.func as MLIR text -----------------===//

#include "KernelText.h"

#include "mlir/IR/BuiltinTypes.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace kopt::gpu {

std::string typeText(mlir::Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

std::string elementTypeText(mlir::Value value) {
  return typeText(
      mlir::cast<mlir::RankedTensorType>(value.getType()).getElementType());
}

std::string KernelText::buffer(llvm::StringRef name,
                               llvm::StringRef elementType) {
  if (!params_.empty())
    params_ += ", ";
  params_ += ("%" + name + ": memref<?x" + elementType + ">").str();
  return ("%" + name).str();
}

std::string KernelText::streamedBuffer(llvm::StringRef name,
                                       llvm::StringRef elementType) {
  std::string param = buffer(name, elementType);
  params_ += " {kopt.prefetch_l2}";
  return param;
}

std::string KernelText::index(llvm::StringRef name) {
  if (!params_.empty())
    params_ += ", ";
  params_ += ("%" + name + "_i64: i64").str();
  prologue_ += ("    %" + name + " = arith.index_cast %" + name +
                "_i64 : i64 to index\n")
                   .str();
  return ("%" + name).str();
}

std::string KernelText::shared(llvm::StringRef name,
                               llvm::StringRef shapeAndType) {
  if (!workgroup_.empty())
    workgroup_ += ", ";
  workgroup_ += ("%" + name + ": memref<" + shapeAndType +
                 ", #gpu.address_space<workgroup>>")
                    .str();
  return ("%" + name).str();
}

std::string KernelText::fresh() { return "%v" + std::to_string(next_++); }

std::string KernelText::c(int64_t value) {
  std::string key = "i:" + std::to_string(value);
  auto it = constants_.find(key);
  if (it != constants_.end())
    return it->second;
  std::string name = "%c" + std::to_string(value);
  if (value < 0)
    name = "%cm" + std::to_string(-value);
  prologue_ += "    " + name + " = arith.constant " + std::to_string(value) +
               " : index\n";
  constants_[key] = name;
  return name;
}

std::string KernelText::ci(int64_t value, llvm::StringRef type) {
  std::string key = (type + ":" + std::to_string(value)).str();
  auto it = constants_.find(key);
  if (it != constants_.end())
    return it->second;
  std::string name = fresh();
  prologue_ += ("    " + name + " = arith.constant " + std::to_string(value) +
                " : " + type + "\n")
                   .str();
  constants_[key] = name;
  return name;
}

std::string KernelText::f(double value) {
  std::string literal;
  if (std::isnan(value)) {
    literal = "0x7FC00000";
  } else if (std::isinf(value)) {
    literal = value > 0 ? "0x7F800000" : "0xFF800000";
  } else {
    llvm::raw_string_ostream os(literal);
    os << llvm::format("%.9e", value);
  }
  std::string key = "f:" + literal;
  auto it = constants_.find(key);
  if (it != constants_.end())
    return it->second;
  std::string name = fresh();
  prologue_ += "    " + name + " = arith.constant " + literal + " : f32\n";
  constants_[key] = name;
  return name;
}

KernelText &KernelText::line(const llvm::Twine &text) {
  body_ += "    " + text.str() + "\n";
  return *this;
}

std::string KernelText::def(const llvm::Twine &text) {
  std::string name = fresh();
  line(name + " = " + text);
  return name;
}

std::string KernelText::tid() {
  if (tid_.empty()) {
    tid_ = "%tid";
    prologue_ += "    %tid = gpu.thread_id x\n";
  }
  return tid_;
}

std::string KernelText::bid(char dim) {
  std::string &slot = dim == 'x' ? bidx_ : dim == 'y' ? bidy_ : bidz_;
  if (slot.empty()) {
    slot = std::string("%bid") + dim;
    prologue_ += "    " + slot + " = gpu.block_id " + dim + "\n";
  }
  return slot;
}

std::string KernelText::globalId() {
  std::string base =
      def("arith.muli " + bid('x') + ", " + c(threads_) + " : index");
  return def("arith.addi " + base + ", " + tid() + " : index");
}

std::string KernelText::shuffleXor(const std::string &value, int offset,
                                   llvm::StringRef type) {
  std::string result = fresh();
  line(result + ", " + fresh() + " = gpu.shuffle xor " + value + ", " +
       ci(offset, "i32") + ", " + ci(32, "i32") + " : " + type);
  return result;
}

std::string KernelText::shuffleIdx(const std::string &value,
                                   const std::string &lane,
                                   llvm::StringRef type) {
  std::string result = fresh();
  line(result + ", " + fresh() + " = gpu.shuffle idx " + value + ", " +
       def("arith.index_cast " + lane + " : index to i32") + ", " +
       ci(32, "i32") + " : " + type);
  return result;
}

std::string KernelText::warpReduce(const std::string &value,
                                   llvm::StringRef combine) {
  std::string v = value;
  for (int offset = 16; offset >= 1; offset /= 2)
    v = def(combine + " " + v + ", " + shuffleXor(v, offset) + " : f32");
  return v;
}

std::string KernelText::rankedBefore(const std::string &a,
                                     const std::string &ai,
                                     const std::string &b,
                                     const std::string &bi,
                                     llvm::StringRef type) {
  std::string valueBefore, equal;
  if (type == "f32") {
    std::string aNan = def("arith.cmpf uno, " + a + ", " + a + " : f32");
    std::string bNan = def("arith.cmpf uno, " + b + ", " + b + " : f32");
    std::string greater = def("arith.cmpf ogt, " + a + ", " + b + " : f32");
    std::string bNumber =
        def("arith.xori " + bNan + ", " + ci(1, "i1") + " : i1");
    valueBefore =
        def("arith.andi " + bNumber + ", " +
            def("arith.ori " + aNan + ", " + greater + " : i1") + " : i1");
    std::string bothNan = def("arith.andi " + aNan + ", " + bNan + " : i1");
    equal = def("arith.ori " + bothNan + ", " +
                def("arith.cmpf oeq, " + a + ", " + b + " : f32") + " : i1");
  } else {
    valueBefore = def(("arith.cmpi sgt, " + a + ", " + b + " : " + type).str());
    equal = def(("arith.cmpi eq, " + a + ", " + b + " : " + type).str());
  }
  std::string lower = def("arith.cmpi ult, " + ai + ", " + bi + " : index");
  std::string tie = def("arith.andi " + equal + ", " + lower + " : i1");
  return def("arith.ori " + valueBefore + ", " + tie + " : i1");
}

std::string KernelText::selectionTakes(
    const std::string &v, const std::string &i, const std::string &best,
    const std::string &bestIndex, const std::string &found,
    const std::string &prev, const std::string &prevIndex,
    const std::string &hasPrev, llvm::StringRef type) {
  std::string trueV = ci(1, "i1");
  std::string after =
      def("arith.ori " + def("arith.xori " + hasPrev + ", " + trueV + " : i1") +
          ", " + rankedBefore(prev, prevIndex, v, i, type) + " : i1");
  std::string beats =
      def("arith.ori " + def("arith.xori " + found + ", " + trueV + " : i1") +
          ", " + rankedBefore(v, i, best, bestIndex, type) + " : i1");
  return def("arith.andi " + after + ", " + beats + " : i1");
}

std::string KernelText::loadOr(const std::string &mem, const std::string &at,
                               const std::string &ok, llvm::StringRef type) {
  std::string value = fresh();
  line(value + " = scf.if " + ok + " -> (f32) {");
  std::string loaded =
      def("memref.load " + mem + "[" + at + "] : memref<?x" + type + ">");
  line("scf.yield " + convert(loaded, type, "f32") + " : f32");
  line("} else {");
  line("scf.yield " + f(0.0) + " : f32");
  line("}");
  return value;
}

void KernelText::report(const std::string &status, int64_t code, int64_t node,
                        const std::string &value, const std::string &bound) {
  const std::string fields[] = {ci(code, "i64"), ci(node, "i64"), value, bound};
  for (int i = 0; i < 4; ++i)
    line("memref.store " + fields[i] + ", " + status + "[" + c(i) +
         "] : memref<?xi64>");
}

std::string KernelText::blockReduce(const std::string &value,
                                    llvm::StringRef combine,
                                    const std::string &scratch) {
  std::string v = warpReduce(value, combine);
  int64_t warps = (threads_ + 31) / 32;
  if (warps == 1)
    return v;
  std::string lane = def("arith.remui " + tid() + ", " + c(32) + " : index");
  std::string warp = def("arith.divui " + tid() + ", " + c(32) + " : index");
  std::string leader = def("arith.cmpi eq, " + lane + ", " + c(0) + " : index");
  line("scf.if " + leader + " {");
  line("memref.store " + v + ", " + scratch + "[" + warp +
       "] : memref<32xf32, #gpu.address_space<workgroup>>");
  line("}");
  line("gpu.barrier");
  std::string total = def("memref.load " + scratch + "[" + c(0) +
                          "] : memref<32xf32, #gpu.address_space<workgroup>>");
  for (int64_t w = 1; w < warps; ++w) {
    std::string part = def("memref.load " + scratch + "[" + c(w) +
                           "] : memref<32xf32, #gpu.address_space<workgroup>>");
    total = def(combine + " " + total + ", " + part + " : f32");
  }
  // The scratch buffer may be reused right after.
  line("gpu.barrier");
  return total;
}

std::string KernelText::convert(const std::string &value, llvm::StringRef from,
                                llvm::StringRef to) {
  if (from == to)
    return value;
  bool fromFloat = isFloatText(from), toFloat = isFloatText(to);
  auto width = [](llvm::StringRef t) -> int {
    if (t == "f64" || t == "i64")
      return 64;
    if (t == "f32" || t == "i32")
      return 32;
    if (t == "i1")
      return 1;
    if (t == "i8")
      return 8;
    return 16;
  };
  std::string sig = value + " : " + from.str() + " to " + to.str();
  if (fromFloat && toFloat) {
    if (width(from) == width(to)) { // f16 <-> bf16 through f32
      std::string wide = def("arith.extf " + value + " : " + from + " to f32");
      return def("arith.truncf " + wide + " : f32 to " + to);
    }
    return def((width(from) < width(to) ? "arith.extf " : "arith.truncf ") +
               sig);
  }
  if (fromFloat)
    return def("arith.fptosi " + sig);
  if (toFloat)
    return def("arith.sitofp " + sig);
  return def((width(from) < width(to) ? "arith.extsi " : "arith.trunci ") +
             sig);
}

std::string KernelText::str(llvm::StringRef name) const {
  std::string text = ("  gpu.func @" + name + "(" + params_ + ")").str();
  if (!workgroup_.empty())
    text += " workgroup(" + workgroup_ + ")";
  text += " kernel attributes {known_block_size = array<i32: " +
          std::to_string(threads_) + ", 1, 1>} {\n";
  text += prologue_ + body_ + "    gpu.return\n  }\n";
  return text;
}

CarriedLoop openCarriedLoop(KernelText &k, const std::string &lo,
                            const std::string &hi, const std::string &step,
                            const std::vector<std::string> &init) {
  CarriedLoop loop;
  std::string iterArgs;
  for (const std::string &value : init) {
    loop.carried.push_back(k.fresh());
    iterArgs +=
        (iterArgs.empty() ? "" : ", ") + loop.carried.back() + " = " + value;
  }
  loop.iv = k.fresh();
  loop.results_ = k.fresh();
  int64_t n = static_cast<int64_t>(init.size());
  if (n == 0) {
    k.line("scf.for " + loop.iv + " = " + lo + " to " + hi + " step " + step +
           " {");
    return loop;
  }
  k.line(loop.results_ + ":" + std::to_string(n) + " = scf.for " + loop.iv +
         " = " + lo + " to " + hi + " step " + step + " iter_args(" + iterArgs +
         ") -> (" + repeatedTypes(n, "f32") + ") {");
  return loop;
}

std::string unrolledStridedSum(
    KernelText &k, const std::string &start, int64_t end, int64_t stride,
    int64_t unroll, const std::string &zero, const std::string &type,
    const std::function<std::string(const std::string &, const std::string &)>
        &step) {
  const int64_t mainEnd = end / (stride * unroll) * (stride * unroll);
  auto add = [&](const std::string &a, int64_t b) {
    return k.def("arith.addi " + a + ", " + k.c(b) + " : index");
  };
  std::string kk = k.fresh(), acc = k.fresh(), mainSum = k.fresh();
  k.line(mainSum + " = scf.for " + kk + " = " + start + " to " + k.c(mainEnd) +
         " step " + k.c(stride * unroll) + " iter_args(" + acc + " = " + zero +
         ") -> (" + type + ") {");
  std::string body = acc;
  for (int64_t u = 0; u < unroll; ++u)
    body = step(add(kk, u * stride), body);
  k.line("scf.yield " + body + " : " + type);
  k.line("}");
  std::string rest = k.fresh(), restAcc = k.fresh(), sum = k.fresh();
  k.line(sum + " = scf.for " + rest + " = " + add(start, mainEnd) + " to " +
         k.c(end) + " step " + k.c(stride) + " iter_args(" + restAcc + " = " +
         mainSum + ") -> (" + type + ") {");
  k.line("scf.yield " + step(rest, restAcc) + " : " + type);
  k.line("}");
  return sum;
}

void closeCarriedLoop(KernelText &k, const std::vector<std::string> &next) {
  if (next.empty()) {
    k.line("}");
    return;
  }
  std::string values;
  for (const std::string &value : next)
    values += (values.empty() ? "" : ", ") + value;
  k.line("scf.yield " + values + " : " +
         repeatedTypes(static_cast<int64_t>(next.size()), "f32"));
  k.line("}");
}

std::string repeatedTypes(int64_t n, llvm::StringRef type) {
  std::string text;
  for (int64_t i = 0; i < n; ++i)
    text += (i ? ", " : "") + type.str();
  return text;
}

std::string structType(int64_t n, llvm::StringRef type) {
  return "!llvm.struct<(" + repeatedTypes(n, type) + ")>";
}

} // namespace kopt::gpu
