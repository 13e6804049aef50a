//===- KoptTypes.cpp - Compressed-weight types ----------------------------===//
//
// Parsing, printing and verification of `!kopt.quantized` and `!kopt.sparse`.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptTypes.h"
#include "kopt/Dialect/Kopt/KoptDialect.h"
#include "kopt/Dialect/Kopt/SparsityPattern.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace kopt {

/// Parses `4096x4096xi4`: a static shape followed by an element type.
static ParseResult parseStaticShapeAndElement(AsmParser &parser,
                                              SmallVector<int64_t> &shape,
                                              Type &element) {
  if (parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/true) ||
      parser.parseType(element))
    return failure();
  return success();
}

static void printStaticShapeAndElement(AsmPrinter &printer,
                                       ArrayRef<int64_t> shape, Type element) {
  for (int64_t dim : shape)
    printer << dim << 'x';
  printer << element;
}

/// Checks what quantized and sparse weights share: a static `[N, K]` or
/// `[E, N, K]` logical shape.
static LogicalResult
verifyWeightShape(function_ref<InFlightDiagnostic()> emitError,
                  ArrayRef<int64_t> shape) {
  if (shape.size() != 2 && shape.size() != 3)
    return emitError() << "compressed weight must have shape [N, K] or "
                          "[E, N, K], got rank "
                       << shape.size();
  if (llvm::any_of(shape, [](int64_t dim) { return dim <= 0; }))
    return emitError() << "compressed weight dims must be positive";
  return success();
}

LogicalResult
QuantizedType::verify(function_ref<InFlightDiagnostic()> emitError,
                      ArrayRef<int64_t> shape, Type storage, int64_t groupSize,
                      Type scale, Type zeroPoint, QuantLayout layout) {
  if (failed(verifyWeightShape(emitError, shape)))
    return failure();
  bool isInt = storage.isSignlessInteger(4) || storage.isSignlessInteger(8);
  if (!isInt && !isa<Float8E4M3FNType>(storage))
    return emitError() << "quantized storage must be i4, i8 or f8E4M3FN, got "
                       << storage;
  if (!isa<Float32Type, Float16Type, BFloat16Type>(scale))
    return emitError() << "quantization scale must be f32, f16 or bf16, got "
                       << scale;
  int64_t k = shape.back();
  if (groupSize < 0)
    return emitError() << "group_size must be >= 0 (0 = per tensor), got "
                       << groupSize;
  if (groupSize > 0 && k % groupSize != 0)
    return emitError() << "group_size " << groupSize
                       << " does not divide K = " << k;
  if (zeroPoint) {
    if (!isInt)
      return emitError() << "zero_point needs integer storage, got " << storage;
    bool sameWidthInt =
        zeroPoint.isSignlessInteger(storage.getIntOrFloatBitWidth());
    if (!sameWidthInt &&
        !isa<Float32Type, Float16Type, BFloat16Type>(zeroPoint))
      return emitError() << "zero_point must be " << storage
                         << " or a float type, got " << zeroPoint;
  }
  if (layout == QuantLayout::Mma && !isInt)
    return emitError() << "layout 'mma' is defined for integer storage only";
  // The GPU layout gives each lane 16 (i4) or 8 (i8) consecutive K elements
  // of one group.
  int64_t granule = rt::quant::mmaGranule(storage.isSignlessInteger(4)
                                              ? rt::quant::Storage::Int4
                                              : rt::quant::Storage::Int8);
  if (layout == QuantLayout::Mma && groupSize != 0 && groupSize != k &&
      groupSize % granule != 0)
    return emitError() << "layout 'mma' needs group_size to be a multiple of "
                       << granule << ", K or 0, got " << groupSize;
  return success();
}

LogicalResult SparseType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, Type element,
                                 StringRef pattern) {
  if (failed(verifyWeightShape(emitError, shape)))
    return failure();
  if (!isa<Float32Type, Float16Type, BFloat16Type>(element))
    return emitError() << "sparse weight element must be f32, f16 or bf16, got "
                       << element;
  auto parsed = SparsityPattern::parse(pattern);
  if (!parsed)
    return emitError() << llvm::toString(parsed.takeError());
  int64_t k = shape.back(), n = shape[shape.size() - 2];
  if (k % parsed->columnGranularity() != 0)
    return emitError() << "sparsity pattern '" << pattern
                       << "' needs K divisible by "
                       << parsed->columnGranularity() << ", got K = " << k;
  if (n % parsed->rowGranularity() != 0)
    return emitError() << "sparsity pattern '" << pattern
                       << "' needs N divisible by " << parsed->rowGranularity()
                       << ", got N = " << n;
  return success();
}

std::optional<ArrayRef<int64_t>> getWeightShape(Type type) {
  return llvm::TypeSwitch<Type, std::optional<ArrayRef<int64_t>>>(type)
      .Case<RankedTensorType>([](auto t) { return t.getShape(); })
      .Case<QuantizedType, SparseType>([](auto t) { return t.getShape(); })
      .Default([](Type) { return std::nullopt; });
}

Type getWeightElementType(Type type) {
  return llvm::TypeSwitch<Type, Type>(type)
      .Case<RankedTensorType>([](auto t) { return t.getElementType(); })
      .Case<QuantizedType>([](auto t) { return t.getScale(); })
      .Case<SparseType>([](auto t) { return t.getElement(); })
      .Default([](Type) { return Type(); });
}

FailureOr<rt::quant::Encoding> encodingOf(QuantizedType type) {
  rt::quant::Encoding encoding;
  Type storage = type.getStorage();
  encoding.storage = storage.isSignlessInteger(4) ? rt::quant::Storage::Int4
                     : storage.isSignlessInteger(8)
                         ? rt::quant::Storage::Int8
                         : rt::quant::Storage::Fp8E4M3;
  encoding.groupSize = type.getGroupSize();
  Type scale = type.getScale();
  encoding.scale = scale.isF32()   ? KOPT_DTYPE_F32
                   : scale.isF16() ? KOPT_DTYPE_F16
                                   : KOPT_DTYPE_BF16;
  if (Type zero = type.getZeroPoint()) {
    if (!zero.isSignlessInteger())
      return failure();
    encoding.asymmetric = true;
  }
  encoding.layout = type.getLayout() == QuantLayout::Mma
                        ? rt::quant::Layout::Mma
                        : rt::quant::Layout::Plain;
  encoding.shape.assign(type.getShape().begin(), type.getShape().end());
  return encoding;
}

SmallVector<RankedTensorType> partTypesOf(QuantizedType type) {
  MLIRContext *context = type.getContext();
  FailureOr<rt::quant::Encoding> encoding = encodingOf(type);
  if (failed(encoding))
    return {};
  SmallVector<RankedTensorType> types;
  for (const rt::quant::Part &part : rt::quant::partsOf(*encoding)) {
    Type element =
        part.dtype == KOPT_DTYPE_I8       ? Type(IntegerType::get(context, 8))
        : part.dtype == KOPT_DTYPE_F8E4M3 ? Type(Float8E4M3FNType::get(context))
                                          : type.getScale();
    types.push_back(RankedTensorType::get(part.shape, element));
  }
  return types;
}

} // namespace kopt

#include "kopt/Dialect/Kopt/KoptEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kopt/Dialect/Kopt/KoptAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "kopt/Dialect/Kopt/KoptTypes.cpp.inc"

void kopt::KoptDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "kopt/Dialect/Kopt/KoptTypes.cpp.inc"
      >();
}

void kopt::KoptDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kopt/Dialect/Kopt/KoptAttrs.cpp.inc"
      >();
}
