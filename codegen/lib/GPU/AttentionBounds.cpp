//===- AttentionBounds.cpp - Which keys a query sees ----------------------===//

#include "AttentionBounds.h"

namespace kopt::gpu {

PrefillParams prefillParams(KernelText &k, AttentionOp op, const std::string &t,
                            const std::string &lt) {
  PrefillParams p;
  p.out = k.buffer("out", t);
  p.q = k.buffer("q", t);
  p.k = k.buffer("k", t);
  p.v = k.buffer("v", t);
  p.kvLen = op.getKvLen() ? k.buffer("kv_len", lt) : "";
  p.status = k.buffer("status", "i64");
  p.sq = k.index("sq");
  p.skv = k.index("skv");
  return p;
}

std::string visibleLength(KernelText &k, FunctionEmitter &e, AttentionOp op,
                          const std::string &kvLen, const std::string &lt,
                          const std::string &b, const std::string &skv,
                          const std::string &status) {
  std::string skv64 = k.def("arith.index_cast " + skv + " : index to i64");
  if (kvLen.empty())
    return skv64;
  std::string raw = k.convert(
      k.def("memref.load " + kvLen + "[" + b + "] : memref<?x" + lt + ">"), lt,
      "i64");
  std::string bad =
      k.def("arith.ori " +
            k.def("arith.cmpi slt, " + raw + ", " + k.ci(0, "i64") + " : i64") +
            ", " + k.def("arith.cmpi sgt, " + raw + ", " + skv64 + " : i64") +
            " : i1");
  k.line("scf.if " + bad + " {");
  k.report(status, 1, e.nodeOf(op), raw, skv64);
  k.line("}");
  return k.def("arith.minsi " +
               k.def("arith.maxsi " + raw + ", " + k.ci(0, "i64") + " : i64") +
               ", " + skv64 + " : i64");
}

std::pair<std::string, std::string> visibleKeys(KernelText &k, AttentionOp op,
                                                const std::string &len,
                                                const std::string &p) {
  std::string hi = len, lo = k.ci(0, "i64");
  if (op.getCausal())
    hi = k.def("arith.minsi " + hi + ", " +
               k.def("arith.addi " + p + ", " + k.ci(1, "i64") + " : i64") +
               " : i64");
  if (op.getWindow() > 0)
    lo = k.def("arith.maxsi " +
               k.def("arith.subi " + p + ", " +
                     k.ci(op.getWindow() - 1, "i64") + " : i64") +
               ", " + k.ci(0, "i64") + " : i64");
  return {lo, hi};
}

std::pair<std::string, std::string>
QueryBlockKeys::visible(const std::string &row) const {
  std::string p =
      k->def("arith.addi " + shift + ", " +
             k->def("arith.index_cast " + row + " : index to i64") + " : i64");
  return visibleKeys(*k, op, len, p);
}

QueryBlockKeys queryBlockKeys(KernelText &k, FunctionEmitter &e, AttentionOp op,
                              const std::string &kvLen, const std::string &lt,
                              const std::string &b, const std::string &sq,
                              const std::string &skv, const std::string &status,
                              const std::string &q0, int64_t tileQ,
                              int64_t tileKv) {
  IndexOps x{k};
  QueryBlockKeys keys{
      &k, op, visibleLength(k, e, op, kvLen, lt, b, skv, status), "", "", ""};
  std::string sq64 = k.def("arith.index_cast " + sq + " : index to i64");
  keys.shift = k.def("arith.subi " + keys.len + ", " + sq64 + " : i64");
  // From the first query's lo to the last's hi.
  std::string lastRow =
      k.def("arith.minui " + x.add(q0, k.c(tileQ - 1)) + ", " +
            x.bin("arith.subi", sq, k.c(1)) + " : index");
  std::string lo = keys.visible(q0).first;
  std::string hi = keys.visible(lastRow).second;
  std::string hiSafe = k.def("arith.maxsi " + hi + ", " + lo + " : i64");
  std::string width = k.ci(tileKv, "i64");
  keys.firstTile = k.def("arith.index_cast " +
                         k.def("arith.divsi " + lo + ", " + width + " : i64") +
                         " : i64 to index");
  keys.endTile =
      k.def("arith.index_cast " +
            k.def("arith.ceildivsi " + hiSafe + ", " + width + " : i64") +
            " : i64 to index");
  return keys;
}

} // namespace kopt::gpu
