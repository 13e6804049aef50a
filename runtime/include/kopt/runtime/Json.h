//===- Json.h - Strict JSON for untrusted runtime inputs --------*- C++ -*-===//
//
// Every JSON the runtime reads (safetensors headers, sharded indexes, plans,
// reference graphs) comes from a file it must not trust: parsed without
// exceptions, with duplicate keys (which would silently shadow each other)
// and absurd nesting refused.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_JSON_H
#define KOPT_RUNTIME_JSON_H

#include "kopt/runtime/Status.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace kopt::rt {

/// JSON nested deeper than this is refused.
inline constexpr int kMaxJsonDepth = 256;

/// Parses `text`; a DATA_LOSS status naming `what` when it is not valid
/// JSON, repeats a key within one object, or nests deeper than
/// kMaxJsonDepth.
StatusOr<nlohmann::json> parseStrictJson(std::string_view text,
                                         const std::string &what);

/// Reads a JSON integer that fits int64 (not a float, not a bool).
bool readInt64(const nlohmann::json &value, int64_t &out);

} // namespace kopt::rt

#endif // KOPT_RUNTIME_JSON_H
