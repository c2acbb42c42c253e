#pragma once
// File helpers for the signer's state: whole-file reads with a size cap and crash-safe writes.
#include <filesystem>
#include <string>

#include "hanko/pki/bytes.h"

namespace hanko::offline {

class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads a whole file; refuses files over `max_size` bytes (untrusted input never fills memory).
Bytes read_file(const std::filesystem::path& path, std::size_t max_size = 64u << 20);
std::string read_text_file(const std::filesystem::path& path, std::size_t max_size = 64u << 20);
// Writes to a temporary name in the same folder, fsyncs it, renames it over `path` and fsyncs
// the folder, so a crash leaves either the old or the new file, never a torn one.
// `mode` is applied before the rename: public artefacts 0644, anything private 0600.
void write_file_atomic(const std::filesystem::path& path, BytesView data, unsigned mode = 0644);
// Like write_file_atomic but refuses to replace an existing file.
void write_new_file(const std::filesystem::path& path, BytesView data, unsigned mode = 0644);

// Checks, before anything is signed, that write_new_file(path, ...) can succeed: the file does
// not exist yet and its folder takes a new file (a probe is created and removed).
void check_can_create(const std::filesystem::path& path);

// An exclusive advisory lock on a file, held for the object's lifetime.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path);
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() noexcept;

 private:
  int m_fd = -1;
};

}  // namespace hanko::offline
