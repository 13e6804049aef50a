//===- TensorLiteral.h - IREE-style tensor literals ------------*- C++ -*-===//
//
// Parses and prints tensors in IREE's command-line grammar:
//
//   2x3xf32=[1 2 3][4 5 6]   shape x dtype = values (brackets, commas and
//                             whitespace all separate values)
//   4xf32=0.5                 one value fills the whole tensor
//   f32=1                     a 0-d tensor
//   0x4xf32  /  2x2xi32       no '=': an empty or zero-filled tensor
//   @path.npy                 a NumPy file
//
// Dtypes: f32, f16, bf16 (decimals rounded to nearest even), f64, i64, i32,
// i16, i8, ui8 and i1 (0/1/true/false).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_TOOLS_KOPT_RUN_TENSORLITERAL_H
#define KOPT_TOOLS_KOPT_RUN_TENSORLITERAL_H

#include "kopt/runtime/Npy.h"

#include <cstdint>
#include <string>

namespace kopt::run {

/// Parses a literal or `@file.npy`.
rt::StatusOr<rt::HostTensor> parseTensorSpec(const std::string &spec);

/// Prints `tensor` as IREE does: "2x3xf32=[1 2 3][4 5 6]", "4xf32=1 2 3 4",
/// "f32=1". After `maxElements` elements the rest is elided as "...".
std::string formatTensor(const rt::HostTensor &tensor, int64_t maxElements);

/// Element `index` as a double (f8 and 16-bit floats widened exactly).
double elementAsDouble(const rt::HostTensor &tensor, size_t index);

/// One element as text: %.7g for f32/f16/bf16/f8, %.16g for f64, integers
/// in decimal.
std::string formatElement(const rt::HostTensor &tensor, size_t index);

/// "2x3xf32" ("f32" for a scalar).
std::string typeText(const rt::HostTensor &tensor);

/// `tensor` as f32 (for bf16 and f8, which NumPy cannot hold).
rt::HostTensor widenToF32(const rt::HostTensor &tensor);

} // namespace kopt::run

#endif // KOPT_TOOLS_KOPT_RUN_TENSORLITERAL_H
