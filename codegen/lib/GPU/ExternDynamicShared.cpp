//===- ExternDynamicShared.cpp - Dynamic shared memory as PTX extern ------===//

#include "kopt/Codegen/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTEXTERNDYNAMICSHAREDPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

struct KoptExternDynamicSharedPass
    : impl::KoptExternDynamicSharedPassBase<KoptExternDynamicSharedPass> {
  using Base::Base;

  void runOnOperation() override {
    for (auto global : getOperation().getOps<LLVM::GlobalOp>()) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      bool shared = global.getAddrSpace() ==
                    static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared);
      if (!shared || !array || array.getNumElements() != 0 ||
          global.getValueAttr())
        continue;
      global.setLinkage(LLVM::Linkage::External);
      if (global.getAlignment().value_or(0) < alignment)
        global.setAlignment(alignment);
    }
  }
};

} // namespace
} // namespace kopt
