//===- Fuse.cpp - The --fuse stage ----------------------------------------===//
//
// Fusion of kopt ops into kernels. Rules are added one pattern at a time,
// each with its FileCheck test and a remark for every fusion it declines.
//
//===----------------------------------------------------------------------===//

#include "kopt/Passes/Passes.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTFUSEPASS
#include "kopt/Passes/Passes.h.inc"

namespace {
struct KoptFusePass : impl::KoptFusePassBase<KoptFusePass> {
  // No fusion rule exists yet: the module is left as it is.
  void runOnOperation() override {}
};
} // namespace
} // namespace kopt
