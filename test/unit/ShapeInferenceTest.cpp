//===- ShapeInferenceTest.cpp - Result types inferred by kopt ops ---------===//
//
// Builds ops through their type-inferring builders, as passes do, and checks
// the inferred result types, including dynamic dims.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

namespace {

constexpr int64_t kDyn = mlir::ShapedType::kDynamic;

class ShapeInference : public ::testing::Test {
protected:
  ShapeInference() : builder(&context) {
    context.loadDialect<kopt::KoptDialect, mlir::func::FuncDialect>();
    module = mlir::ModuleOp::create(builder.getUnknownLoc());
  }

  mlir::RankedTensorType tensor(llvm::ArrayRef<int64_t> shape,
                                mlir::Type element = {}) {
    return mlir::RankedTensorType::get(shape, element ? element
                                                      : builder.getF16Type());
  }

  /// A function whose arguments have `types`; the builder inserts into it.
  llvm::SmallVector<mlir::Value> arguments(llvm::ArrayRef<mlir::Type> types) {
    auto func = mlir::func::FuncOp::create(builder.getUnknownLoc(), "f",
                                           builder.getFunctionType(types, {}));
    module->push_back(func);
    mlir::Block *body = func.addEntryBlock();
    builder.setInsertionPointToStart(body);
    return llvm::SmallVector<mlir::Value>(body->getArguments());
  }

  mlir::MLIRContext context;
  mlir::OpBuilder builder;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

TEST_F(ShapeInference, LinearKeepsLeadingDynamicDims) {
  auto args = arguments({tensor({1, kDyn, 64}), tensor({32, 64})});
  auto linear = kopt::LinearOp::create(builder, builder.getUnknownLoc(),
                                       args[0], args[1], mlir::Value());
  EXPECT_EQ(linear.getType(), tensor({1, kDyn, 32}));
  EXPECT_TRUE(mlir::succeeded(mlir::verify(linear)));
}

TEST_F(ShapeInference, MatmulBroadcastsBatchAndTransposes) {
  auto args = arguments({tensor({1, 8, kDyn, 64}), tensor({8, kDyn, 64})});
  auto scores = kopt::MatmulOp::create(builder, builder.getUnknownLoc(),
                                       args[0], args[1], /*transpose_b=*/true);
  EXPECT_EQ(scores.getType(), tensor({1, 8, kDyn, kDyn}));
}

TEST_F(ShapeInference, BroadcastOfScalarAndDynamic) {
  auto args = arguments({tensor({kDyn, 1, 64}), tensor({}), tensor({7, 64})});
  auto add =
      kopt::AddOp::create(builder, builder.getUnknownLoc(), args[0], args[1]);
  EXPECT_EQ(add.getType(), tensor({kDyn, 1, 64}));
  auto mul =
      kopt::MulOp::create(builder, builder.getUnknownLoc(), args[0], args[2]);
  EXPECT_EQ(mul.getType(), tensor({kDyn, 7, 64}));
}

TEST_F(ShapeInference, ReductionsDropOrKeepAxes) {
  auto args = arguments({tensor({2, kDyn, 64}, builder.getF32Type())});
  auto mean = kopt::ReduceMeanOp::create(builder, builder.getUnknownLoc(),
                                         args[0], llvm::ArrayRef<int64_t>{1},
                                         /*keepdim=*/false);
  EXPECT_EQ(mean.getType(), tensor({2, 64}, builder.getF32Type()));
  auto argmax = kopt::ArgmaxOp::create(builder, builder.getUnknownLoc(),
                                       args[0], /*axis=*/-1, /*keepdim=*/true);
  EXPECT_EQ(argmax.getType(), tensor({2, kDyn, 1}, builder.getI32Type()));
}

TEST_F(ShapeInference, TopKAndGatherSelectTokens) {
  auto args = arguments(
      {tensor({2, kDyn}, builder.getF32Type()), tensor({2, kDyn, 64})});
  auto topk = kopt::TopKOp::create(builder, builder.getUnknownLoc(), args[0],
                                   /*k=*/16, /*axis=*/1);
  EXPECT_EQ(topk.getIndices().getType(), tensor({2, 16}, builder.getI32Type()));
  auto gather = kopt::GatherOp::create(builder, builder.getUnknownLoc(),
                                       args[1], topk.getIndices(), /*axis=*/1);
  EXPECT_EQ(gather.getType(), tensor({2, 16, 64}));
}

TEST_F(ShapeInference, ConcatSumsTheAxisAndRefinesOthers) {
  auto args = arguments({tensor({kDyn, 32}), tensor({5, 16})});
  auto concat = kopt::ConcatOp::create(builder, builder.getUnknownLoc(),
                                       mlir::ValueRange(args), /*axis=*/1);
  EXPECT_EQ(concat.getType(), tensor({5, 48}));
}

TEST_F(ShapeInference, AttentionAndMoEKeepTheQueryShape) {
  auto args = arguments({tensor({1, kDyn, 8, 64}), tensor({1, kDyn, 2, 64})});
  auto attention = kopt::AttentionOp::create(
      builder, builder.getUnknownLoc(), args[0], args[1], args[1],
      mlir::Value(), /*causal=*/true, /*window=*/0, mlir::FloatAttr());
  EXPECT_EQ(attention.getType(), tensor({1, kDyn, 8, 64}));
  EXPECT_TRUE(mlir::succeeded(mlir::verify(attention)));
}

TEST_F(ShapeInference, InferenceFailsOnBadShapes) {
  auto args = arguments({tensor({4, 64}), tensor({32, 48})});
  llvm::SmallVector<mlir::Type> types;
  // K mismatch: 64 vs 48. Without a location, inference fails silently.
  kopt::LinearOp::Adaptor adaptor({args[0], args[1]});
  EXPECT_TRUE(mlir::failed(kopt::LinearOp::inferReturnTypes(
      &context, std::nullopt, adaptor, types)));
}

} // namespace
