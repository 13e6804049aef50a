//===- ArtifactCheck.cpp - Refuse artifacts that are not the plan's -------===//
//
// An artifact is loaded into the process (dlopen, cuModuleLoadDataEx), where
// a truncated file faults and another model's file runs the wrong code. Both
// are caught here, before loading: by the size and digest the plan records,
// and for shared objects also by the ELF headers' own extents.
//
//===----------------------------------------------------------------------===//

#include "ArtifactCheck.h"

#include "kopt/runtime/ArtifactDigest.h"
#include "kopt/runtime/Plan.h"

#include <cstring>
#include <elf.h>

namespace kopt::rt {

Status Plan::checkArtifact(std::string_view bytes,
                           const std::string &path) const {
  bool sizeDiffers = artifactBytes_ >= 0 &&
                     static_cast<uint64_t>(artifactBytes_) != bytes.size();
  if (!sizeDiffers && artifactDigest_.empty())
    return Status::ok();
  std::string digest = sizeDiffers ? "" : artifactDigest(bytes);
  if (!sizeDiffers && digest == artifactDigest_)
    return Status::ok();
  std::string recorded =
      artifactBytes_ >= 0 ? std::to_string(artifactBytes_) + " bytes" : "";
  if (!artifactDigest_.empty())
    recorded += (recorded.empty() ? "" : ", ") + std::string("digest ") +
                artifactDigest_;
  std::string found = std::to_string(bytes.size()) + " bytes" +
                      (digest.empty() ? "" : ", digest " + digest);
  return dataLoss("'" + path + "' is not the artifact " + what_ +
                  " was compiled with (it has " + found + "; the plan records " +
                  recorded + "): it is truncated, changed, or another "
                  "model's; recompile, or keep each plan beside its own "
                  "artifact");
}

namespace {

/// Whether [offset, offset + count * size) lies inside `fileSize` bytes.
bool extentFits(uint64_t offset, uint64_t count, uint64_t size,
                uint64_t fileSize) {
  if (count != 0 && size > (UINT64_MAX - offset) / count)
    return false;
  return offset + count * size <= fileSize;
}

} // namespace

Status checkSharedObjectImage(std::string_view bytes, const std::string &path) {
  auto bad = [&](const std::string &why) {
    return dataLoss("'" + path + "' is not a loadable shared object: " + why);
  };
  Elf64_Ehdr header;
  if (bytes.size() < sizeof(header))
    return bad("it is shorter than an ELF header (" +
               std::to_string(bytes.size()) + " bytes)");
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return bad("it does not start with the ELF magic");
  if (header.e_ident[EI_CLASS] != ELFCLASS64)
    return bad("it is not a 64-bit ELF file");
  if (header.e_type != ET_DYN)
    return bad("it is an ELF file but not a shared object");
  uint64_t size = bytes.size();
  if (header.e_phentsize != sizeof(Elf64_Phdr) ||
      !extentFits(header.e_phoff, header.e_phnum, sizeof(Elf64_Phdr), size))
    return bad("its program headers lie outside the file (truncated?)");
  for (uint64_t i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    std::memcpy(&segment, bytes.data() + header.e_phoff + i * sizeof(segment),
                sizeof(segment));
    if (!extentFits(segment.p_offset, 1, segment.p_filesz, size))
      return bad("segment " + std::to_string(i) + " ends at byte " +
                 std::to_string(segment.p_offset + segment.p_filesz) +
                 " of a " + std::to_string(size) + "-byte file (truncated?)");
  }
  if (header.e_shoff != 0 &&
      (header.e_shentsize != sizeof(Elf64_Shdr) ||
       !extentFits(header.e_shoff, header.e_shnum, sizeof(Elf64_Shdr), size)))
    return bad("its section headers lie outside the file (truncated?)");
  return Status::ok();
}

} // namespace kopt::rt
