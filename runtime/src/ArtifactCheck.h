//===- ArtifactCheck.h - Refuse artifacts that would not load -----*- C++ -*-===//

#ifndef KOPT_RUNTIME_SRC_ARTIFACTCHECK_H
#define KOPT_RUNTIME_SRC_ARTIFACTCHECK_H

#include "kopt/runtime/Status.h"

#include <string>
#include <string_view>

namespace kopt::rt {

/// Refuses `bytes` (read from `path`) unless they are a 64-bit ELF shared
/// object whose headers and segments all lie inside the file: dlopen maps a
/// truncated file and faults (SIGBUS) on the missing pages.
Status checkSharedObjectImage(std::string_view bytes, const std::string &path);

} // namespace kopt::rt

#endif // KOPT_RUNTIME_SRC_ARTIFACTCHECK_H
