#pragma once
// Files and descriptors, for both halves (signer and relay) and the air-gap media: whole-file
// reads with a size cap, crash-safe writes, an owned descriptor and an exclusive lock.
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>

#include "hanko/pki/bytes.h"

namespace hanko {

class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// read_file() of a file over its cap: the caller may say what the cap protects.
class FileTooLarge : public FileError {
 public:
  using FileError::FileError;
};

// Owns a file descriptor and closes it once.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() noexcept { reset(); }
  int get() const noexcept { return m_fd; }
  bool valid() const noexcept { return m_fd >= 0; }
  int release() noexcept { return std::exchange(m_fd, -1); }
  void reset(int fd = -1) noexcept;

 private:
  int m_fd = -1;
};

// The prefix of every temporary file write_file_atomic() leaves behind when interrupted.
inline constexpr std::string_view kTemporaryPrefix = ".hanko-tmp-";

// fsync() of a file or folder (a folder after a rename in it), FileError when it fails.
void fsync_path(const std::filesystem::path& path, bool directory);

// Reads a whole regular file; refuses files over `max_size` bytes with FileTooLarge (untrusted
// input never fills memory).
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
// `in_use` is the message when another process holds it ("what to do" for the operator).
class FileLock {
 public:
  FileLock(const std::filesystem::path& path, std::string in_use);

 private:
  UniqueFd m_fd;
};

}  // namespace hanko
