//===- ArtifactDigest.h - The digest linking a plan to its artifact -*- C++ -*-===//
//
// kopt records the size and FNV-1a (64-bit) digest of the artifact it writes
// in the plan beside it; the runtime compares both before loading, so a
// truncated artifact or another model's artifact is refused instead of
// crashing the loader or computing the wrong model. Header-only: the compiler
// includes it too.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_ARTIFACTDIGEST_H
#define KOPT_RUNTIME_ARTIFACTDIGEST_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kopt::rt {

inline constexpr uint64_t kFnv1aOffset = 1469598103934665603ull;
inline constexpr uint64_t kFnv1aPrime = 1099511628211ull;

/// FNV-1a (64-bit) of `bytes`, continuing from `hash`.
inline uint64_t fnv1a64(std::string_view bytes, uint64_t hash = kFnv1aOffset) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= kFnv1aPrime;
  }
  return hash;
}

/// `hash` as 16 lowercase hex digits.
inline std::string hexDigest(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx",
                static_cast<unsigned long long>(hash));
  return text;
}

/// The digest a plan records for its artifact's bytes ("fnv1a64").
inline std::string artifactDigest(std::string_view bytes) {
  return hexDigest(fnv1a64(bytes));
}

} // namespace kopt::rt

#endif // KOPT_RUNTIME_ARTIFACTDIGEST_H
