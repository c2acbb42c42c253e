#pragma once
// What the relay keeps that a signer restored from an older backup needs (hanko-offline restore
// --evidence, issue 27): every result bundle it imported (state/archive/, signed by the signer's
// transport key) and every list it serves (signed by the CA key). Copied to a new folder for the
// medium; the relay's own state is only read. Result bundles carry personal data (the basic four
// in the certificates): the copy is 0700/0600.
#include <cstddef>
#include <filesystem>

#include "config.h"

namespace hanko::relay {

struct EvidenceCopy {
  std::size_t bundles = 0;
  std::size_t lists = 0;
  std::uintmax_t bytes = 0;
};

// Throws std::runtime_error when `out` exists and is not empty, or a file cannot be copied or
// read back identical.
EvidenceCopy copy_evidence(const Config& config, const std::filesystem::path& out);

}  // namespace hanko::relay
