//===- InlineAllocaScopes.cpp - Drop alloca-free memref.alloca_scope ------===//

#include "kopt/Codegen/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTINLINEALLOCASCOPESPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

struct KoptInlineAllocaScopesPass
    : impl::KoptInlineAllocaScopesPassBase<KoptInlineAllocaScopesPass> {
  void runOnOperation() override {
    SmallVector<memref::AllocaScopeOp> scopes;
    getOperation().walk([&](memref::AllocaScopeOp scope) {
      bool hasAlloca = scope
                           ->walk([](memref::AllocaOp) {
                             return WalkResult::interrupt();
                           })
                           .wasInterrupted();
      if (!hasAlloca && scope.getBodyRegion().hasOneBlock())
        scopes.push_back(scope);
    });
    IRRewriter rewriter(&getContext());
    for (memref::AllocaScopeOp scope : scopes) {
      Block &body = scope.getBodyRegion().front();
      auto returnOp = cast<memref::AllocaScopeReturnOp>(body.getTerminator());
      SmallVector<Value> results(returnOp.getResults());
      rewriter.eraseOp(returnOp);
      rewriter.inlineBlockBefore(&body, scope);
      rewriter.replaceOp(scope, results);
    }
  }
};

} // namespace
} // namespace kopt
