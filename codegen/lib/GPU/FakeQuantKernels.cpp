//===- FakeQuantKernels.cpp - float8 activations on the GPU ---------------===//
//
// kopt.fake_quant as one block per row of the last dim (256 threads, 16-byte
// loads where K allows): the row's amax by a block reduction (per tensor: a
// one-block kernel first writes the single scale), s = amax / 448, then each
// element's e4m3 code of x / s (cvt.rn.satfinite, two at a time) into the
// codes buffer the fp8 linears read, with s in the scales buffer; readers
// that are not fp8 linears get the rounded value (e4m3(x / s) * s, rounded
// in f32 arithmetic as the CPU lowering does) in the op's own buffer.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "KernelText.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kThreads = 256;

struct FakeQuantKernel {
  std::string t;      // x's element type
  int64_t width;      // elements per load (8, or 1 when K is not static x8)
  bool perTensor;     // the scale comes from scales[0]
  bool writeCodes, writeValue;
};

/// `v` (f32) rounded to the e4m3 grid (saturating at +-448), as f32.
std::string roundToE4M3(KernelText &k, const std::string &v) {
  auto i = [&](int64_t c) { return k.ci(c, "i32"); };
  auto iop = [&](const char *op, const std::string &a, const std::string &b) {
    return k.def(std::string(op) + " " + a + ", " + b + " : i32");
  };
  std::string a = k.def("math.absf " + v + " : f32");
  std::string bits = k.def("arith.bitcast " + a + " : f32 to i32");
  std::string exponent =
      iop("arith.maxsi", iop("arith.subi", iop("arith.shrui", bits, i(23)),
                             i(127)),
          i(-6));
  std::string quantum = k.def(
      "arith.bitcast " +
      iop("arith.shli", iop("arith.addi", exponent, i(127 - 3)), i(23)) +
      " : i32 to f32");
  std::string steps = k.def("math.roundeven " +
                            k.def("arith.divf " + a + ", " + quantum +
                                  " : f32") +
                            " : f32");
  std::string rounded = k.def(
      "arith.minimumf " + k.def("arith.mulf " + steps + ", " + quantum +
                                " : f32") +
      ", " + k.f(448.0) + " : f32");
  return k.def("math.copysign " + rounded + ", " + v + " : f32");
}

/// s = amax / 448 (1 where the amax is 0), stored by thread 0 at
/// scales[at]; every thread gets s.
std::string storeScale(KernelText &k, const std::string &amax,
                       const std::string &scales, const std::string &at) {
  std::string positive =
      k.def("arith.cmpf ogt, " + amax + ", " + k.f(0.0) + " : f32");
  std::string scale = k.def(
      "arith.select " + positive + ", " +
      k.def("arith.divf " + amax + ", " + k.f(448.0) + " : f32") + ", " +
      k.f(1.0) + " : f32");
  k.line("scf.if " +
         k.def("arith.cmpi eq, " + k.tid() + ", " + k.c(0) + " : index") +
         " {");
  k.line("memref.store " + scale + ", " + scales + "[" + at +
         "] : memref<?xf32>");
  k.line("}");
  return scale;
}

FailureOr<std::string> rowKernel(FunctionEmitter &e, FakeQuantOp op,
                                 const FakeQuantKernel &cfg) {
  KernelText k(kThreads);
  IndexOps x{k};
  const std::string &t = cfg.t;
  std::string out = cfg.writeValue ? k.buffer("out", t) : "";
  std::string codes = cfg.writeCodes ? k.buffer("codes", "i8") : "";
  std::string scales = k.buffer("scales", "f32");
  std::string in = k.buffer("x", t);
  std::string cols = k.index("cols");
  std::string scratch = k.shared("red", "32xf32");
  std::string row = k.bid('x');
  std::string base = x.mul(row, cols);
  int64_t w = cfg.width;
  std::string vt = "vector<" + std::to_string(w) + "x" + t + ">";
  std::string vf = "vector<" + std::to_string(w) + "xf32>";
  std::string start = x.mul(k.tid(), k.c(w));
  std::string step = k.c(kThreads * w);
  // The w elements at column `col` as f32 scalars.
  auto load = [&](const std::string &col) {
    std::string at = x.add(base, col);
    std::vector<std::string> values;
    if (w == 1) {
      values.push_back(k.convert(
          k.def("memref.load " + in + "[" + at + "] : memref<?x" + t + ">"), t,
          "f32"));
      return values;
    }
    std::string v = k.def("arith.extf " +
                          k.def("vector.load " + in + "[" + at +
                                "] {alignment = 16 : i64} : memref<?x" + t +
                                ">, " + vt) +
                          " : " + vt + " to " + vf);
    for (int64_t j = 0; j < w; ++j)
      values.push_back(k.def("vector.extract " + v + "[" + std::to_string(j) +
                             "] : f32 from " + vf));
    return values;
  };

  std::string scale;
  if (cfg.perTensor) {
    scale = k.def("memref.load " + scales + "[" + k.c(0) + "] : memref<?xf32>");
  } else {
    CarriedLoop pass = openCarriedLoop(k, start, cols, step, {k.f(0.0)});
    std::string amax = pass.carried[0];
    for (const std::string &v : load(pass.iv))
      amax = k.def("arith.maximumf " + amax + ", " +
                   k.def("math.absf " + v + " : f32") + " : f32");
    closeCarriedLoop(k, {amax});
    scale = storeScale(
        k, k.blockReduce(pass.result(0), "arith.maximumf", scratch), scales,
        row);
  }

  CarriedLoop pass = openCarriedLoop(k, start, cols, step, {});
  std::vector<std::string> values = load(pass.iv);
  std::vector<std::string> scaled;
  for (const std::string &v : values)
    scaled.push_back(k.def("arith.divf " + v + ", " + scale + " : f32"));
  std::string at = x.add(base, pass.iv);
  if (cfg.writeCodes) {
    // cvt packs its first operand into the high byte: (next, this).
    auto pair = [&](const std::string &lo, const std::string &hi) {
      return k.def("nvvm.convert.f32x2.to.f8x2 " + hi + ", " + lo +
                   " {rnd = #nvvm.fp_rnd_mode<rn>, sat = "
                   "#nvvm.sat_mode<satfinite>} : i16 (f8E4M3FN)");
    };
    if (w == 1) {
      std::string code = k.def("arith.trunci " + pair(scaled[0], k.f(0.0)) +
                               " : i16 to i8");
      k.line("memref.store " + code + ", " + codes + "[" + at +
             "] : memref<?xi8>");
    } else {
      std::string word = k.ci(0, "i64");
      for (int64_t j = 0; j < w; j += 2) {
        std::string wide = k.def("arith.extui " + pair(scaled[j], scaled[j + 1]) +
                                 " : i16 to i64");
        if (j)
          wide = k.def("arith.shli " + wide + ", " + k.ci(8 * j, "i64") +
                       " : i64");
        word = k.def("arith.ori " + word + ", " + wide + " : i64");
      }
      std::string bytes = k.def("vector.bitcast " +
                                k.def("vector.broadcast " + word +
                                      " : i64 to vector<1xi64>") +
                                " : vector<1xi64> to vector<8xi8>");
      k.line("vector.store " + bytes + ", " + codes + "[" + at +
             "] {alignment = 8 : i64} : memref<?xi8>, vector<8xi8>");
    }
  }
  if (cfg.writeValue) {
    std::vector<std::string> rounded;
    for (const std::string &v : scaled)
      rounded.push_back(k.convert(
          k.def("arith.mulf " + roundToE4M3(k, v) + ", " + scale + " : f32"),
          "f32", t));
    if (w == 1) {
      k.line("memref.store " + rounded[0] + ", " + out + "[" + at +
             "] : memref<?x" + t + ">");
    } else {
      std::string joined;
      for (const std::string &r : rounded)
        joined += (joined.empty() ? "" : ", ") + r;
      std::string v =
          k.def("vector.from_elements " + joined + " : " + vt);
      k.line("vector.store " + v + ", " + out + "[" + at +
             "] {alignment = 16 : i64} : memref<?x" + t + ">, " + vt);
    }
  }
  closeCarriedLoop(k, {});
  return e.kernel("fake_quant", k.str("KERNEL"), op->getLoc());
}

/// scales[0] = amax(|x|) / 448 (1 when 0) over all `total` elements, by one
/// block.
FailureOr<std::string> tensorScaleKernel(FunctionEmitter &e, FakeQuantOp op,
                                         const std::string &t) {
  constexpr int64_t threads = 1024;
  KernelText k(threads);
  std::string scales = k.buffer("scales", "f32");
  std::string in = k.buffer("x", t);
  std::string total = k.index("total");
  std::string scratch = k.shared("red", "32xf32");
  CarriedLoop pass =
      openCarriedLoop(k, k.tid(), total, k.c(threads), {k.f(0.0)});
  std::string v = k.convert(
      k.def("memref.load " + in + "[" + pass.iv + "] : memref<?x" + t + ">"),
      t, "f32");
  closeCarriedLoop(k, {k.def("arith.maximumf " + pass.carried[0] + ", " +
                             k.def("math.absf " + v + " : f32") + " : f32")});
  storeScale(k, k.blockReduce(pass.result(0), "arith.maximumf", scratch),
             scales, k.c(0));
  return e.kernel("fake_quant_scale", k.str("KERNEL"), op->getLoc());
}

} // namespace

LogicalResult emitFakeQuant(FakeQuantOp op, FunctionEmitter &e) {
  Value result = op.getResult();
  bool codes = false, value = false;
  for (OpOperand &use : result.getUses()) {
    auto linear = dyn_cast<LinearOp>(use.getOwner());
    bool fp8 = linear && use.getOperandNumber() == 0 &&
               fp8LinearApplies(linear, e.target());
    (fp8 ? codes : value) = true;
  }
  if (!codes && !value)
    return success();
  auto type = cast<RankedTensorType>(op.getInput().getType());
  if (type.getRank() == 0)
    return op.emitError("fake_quant of a rank-0 tensor has no GPU kernel");
  SmallVector<AffineExpr> dims = e.dims(op.getInput());
  AffineExpr cols = dims.back(), total = e.product(dims);
  AffineExpr rows = total.floorDiv(cols);
  bool perTensor = op.getGranularity() == "tensor";
  FakeQuantKernel cfg;
  cfg.t = elementTypeText(op.getInput());
  int64_t k = type.getShape().back();
  cfg.width = !type.isDynamicDim(type.getRank() - 1) && k % 8 == 0 &&
                      cfg.t != "f32"
                  ? 8
                  : 1;
  cfg.perTensor = perTensor;
  cfg.writeCodes = codes;
  cfg.writeValue = value;
  int64_t scales =
      e.scratch(Float32Type::get(e.context()), {perTensor ? e.constant(1) : rows});
  int64_t codesBuffer = -1;
  if (codes) {
    codesBuffer = e.scratch(IntegerType::get(e.context(), 8), dims);
    e.setEncoded(result, {codesBuffer, scales});
  }
  int64_t valueBuffer = value ? e.define(result) : -1;
  int64_t input = e.bufferOf(op.getInput());
  if (perTensor) {
    FailureOr<std::string> kernel = tensorScaleKernel(e, op, cfg.t);
    if (failed(kernel))
      return failure();
    e.launch(*kernel, op, e.constant(1), 1024)
        .buffer(scales)
        .buffer(input)
        .index(total);
  }
  FailureOr<std::string> kernel = rowKernel(e, op, cfg);
  if (failed(kernel))
    return failure();
  Launch &l = e.launch(*kernel, op, rows, kThreads);
  if (value)
    l.buffer(valueBuffer);
  if (codes)
    l.buffer(codesBuffer);
  l.buffer(scales).buffer(input).index(cols);
  return success();
}

} // namespace kopt::gpu
