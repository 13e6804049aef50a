//===- CompressedTypesTest.cpp - !kopt.quantized and !kopt.sparse ---------===//

#include "kopt/Dialect/Kopt/KoptDialect.h"
#include "kopt/Dialect/Kopt/KoptTypes.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

namespace {

class CompressedTypes : public ::testing::Test {
protected:
  CompressedTypes() { context.loadDialect<kopt::KoptDialect>(); }

  /// Parses `text`, returning null and recording the diagnostic on failure.
  mlir::Type parse(llvm::StringRef text) {
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      lastError = d.str();
      return mlir::success();
    });
    return mlir::parseType(text, &context);
  }

  mlir::MLIRContext context;
  std::string lastError;
};

TEST_F(CompressedTypes, QuantizedParametersAreParsed) {
  auto type = llvm::dyn_cast_or_null<kopt::QuantizedType>(
      parse("!kopt.quantized<4096x11008xi4, group_size = 128, scale = f16, "
            "zero_point = i4, layout = mma>"));
  ASSERT_TRUE(type) << lastError;
  EXPECT_EQ(type.getShape(), llvm::ArrayRef<int64_t>({4096, 11008}));
  EXPECT_TRUE(type.getStorage().isSignlessInteger(4));
  EXPECT_EQ(type.getGroupSize(), 128);
  EXPECT_TRUE(type.getScale().isF16());
  EXPECT_TRUE(type.isAsymmetric());
  EXPECT_EQ(type.getLayout(), kopt::QuantLayout::Mma);
  EXPECT_EQ(type.getK(), 11008);
  EXPECT_EQ(kopt::getWeightElementType(type), type.getScale());
}

TEST_F(CompressedTypes, QuantizedDefaultsAreSymmetricPlain) {
  auto type = llvm::dyn_cast_or_null<kopt::QuantizedType>(
      parse("!kopt.quantized<64x64xi8, group_size = 64, scale = bf16>"));
  ASSERT_TRUE(type) << lastError;
  EXPECT_FALSE(type.isAsymmetric());
  EXPECT_EQ(type.getLayout(), kopt::QuantLayout::Plain);
}

TEST_F(CompressedTypes, QuantizedRoundTripsThroughText) {
  const char *text = "!kopt.quantized<8x4x64xi4, group_size = 32, scale = f16, "
                     "zero_point = i4, layout = mma>";
  mlir::Type type = parse(text);
  ASSERT_TRUE(type) << lastError;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  os << type;
  EXPECT_EQ(printed, text);
  EXPECT_EQ(parse(printed), type);
}

struct RejectedType {
  const char *text;
  const char *message;
};

class InvalidCompressedType
    : public CompressedTypes,
      public ::testing::WithParamInterface<RejectedType> {};

TEST_P(InvalidCompressedType, IsRejectedWithReason) {
  EXPECT_FALSE(parse(GetParam().text));
  EXPECT_NE(lastError.find(GetParam().message), std::string::npos) << lastError;
}

INSTANTIATE_TEST_SUITE_P(
    Verifier, InvalidCompressedType,
    ::testing::Values(
        RejectedType{"!kopt.quantized<64x100xi4, group_size = 32, scale = f16>",
                     "does not divide K = 100"},
        RejectedType{"!kopt.quantized<64x64xi16, group_size = 32, scale = f16>",
                     "must be i4, i8 or f8E4M3FN"},
        RejectedType{"!kopt.quantized<64x64xi4, group_size = 32, scale = i8>",
                     "scale must be f32, f16 or bf16"},
        RejectedType{"!kopt.quantized<64xi4, group_size = 32, scale = f16>",
                     "got rank 1"},
        RejectedType{"!kopt.quantized<64x64xi4, group_size = -2, scale = f16>",
                     "group_size must be >= 0"},
        RejectedType{"!kopt.quantized<64x64xf8E4M3FN, group_size = 0, "
                     "scale = f32, zero_point = i8>",
                     "zero_point needs integer storage"},
        RejectedType{"!kopt.quantized<64x64xf8E4M3FN, group_size = 0, "
                     "scale = f32, layout = mma>",
                     "integer storage only"},
        RejectedType{"!kopt.sparse<64x66xf16, \"2:4\">",
                     "needs K divisible by 4"},
        RejectedType{"!kopt.sparse<60x64xf16, \"block:16x16:0.5\">",
                     "needs N divisible by 16"},
        RejectedType{"!kopt.sparse<64x64xf16, \"3:2\">",
                     "invalid sparsity pattern '3:2'"},
        RejectedType{"!kopt.sparse<64x64xi8, \"2:4\">",
                     "element must be f32, f16 or bf16"}));

} // namespace
