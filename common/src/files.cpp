#include "hanko/common/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace hanko {

namespace {

std::string errno_text() { return std::strerror(errno); }

void fsync_dir(const std::filesystem::path& dir) { fsync_path(dir.empty() ? std::filesystem::path(".") : dir, true); }

void write_all(int fd, BytesView data, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileError("cannot write '" + path.string() + "': " + errno_text() +
                      (errno == ENOSPC ? "; free space on that disk and retry (nothing was replaced)" : ""));
    }
    done += static_cast<std::size_t>(n);
  }
}

void write_via_temporary(const std::filesystem::path& path, BytesView data, bool replace, unsigned mode) {
  const std::filesystem::path dir = path.parent_path();
  std::string tmpl = (dir.empty() ? std::filesystem::path(".") : dir) / (std::string(kTemporaryPrefix) + path.filename().string() + ".XXXXXX");
  UniqueFd fd(::mkstemp(tmpl.data()));
  if (fd.get() < 0) throw FileError("cannot create a file in '" + dir.string() + "': " + errno_text());
  try {
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) throw FileError("cannot set the mode of '" + tmpl + "': " + errno_text());
    write_all(fd.get(), data, path);
    if (::fsync(fd.get()) != 0) throw FileError("cannot sync '" + tmpl + "': " + errno_text());
    fd.reset();
    if (replace) {
      if (::rename(tmpl.c_str(), path.c_str()) != 0) throw FileError("cannot rename into '" + path.string() + "': " + errno_text());
    } else {
      // link() fails when the target exists, which rename() would silently replace.
      if (::link(tmpl.c_str(), path.c_str()) != 0) {
        throw FileError("cannot create '" + path.string() + "': " + errno_text() +
                        (errno == EEXIST ? " (it already exists; nothing was overwritten)" : ""));
      }
      ::unlink(tmpl.c_str());
    }
    fsync_dir(dir);
  } catch (...) {
    ::unlink(tmpl.c_str());
    throw;
  }
}

}  // namespace

void UniqueFd::reset(int fd) noexcept {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
}

void fsync_path(const std::filesystem::path& path, bool directory) {
  UniqueFd fd(::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw FileError("cannot open '" + path.string() + "' to sync it: " + errno_text());
  if (::fsync(fd.get()) != 0) throw FileError("cannot sync '" + path.string() + "' to the disk: " + errno_text());
}

Bytes read_file(const std::filesystem::path& path, std::size_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw FileError("cannot open '" + path.string() + "': " + errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw FileError("cannot stat '" + path.string() + "': " + errno_text());
  if (!S_ISREG(st.st_mode)) throw FileError("'" + path.string() + "' is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_size) {
    throw FileTooLarge("'" + path.string() + "' is larger than " + std::to_string(max_size) + " bytes; refusing to read it");
  }
  Bytes out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileError("cannot read '" + path.string() + "': " + errno_text());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

std::string read_text_file(const std::filesystem::path& path, std::size_t max_size) {
  const Bytes b = read_file(path, max_size);
  return std::string(b.begin(), b.end());
}

void write_file_atomic(const std::filesystem::path& path, BytesView data, unsigned mode) {
  write_via_temporary(path, data, true, mode);
}

void write_new_file(const std::filesystem::path& path, BytesView data, unsigned mode) {
  write_via_temporary(path, data, false, mode);
}

void check_can_create(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found) {
    throw FileError("'" + path.string() + "' already exists; nothing was signed: choose another name or move it away");
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string name = (dir / ".hanko-probe-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    throw FileError("cannot create '" + path.string() + "': " + errno_text() + "; nothing was signed");
  }
  ::close(fd);
  ::unlink(name.c_str());
}

FileLock::FileLock(const std::filesystem::path& path, std::string in_use)
    : m_fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
  if (!m_fd.valid()) throw FileError("cannot open lock '" + path.string() + "': " + errno_text());
  if (::flock(m_fd.get(), LOCK_EX | LOCK_NB) != 0) throw FileError(in_use);
}

}  // namespace hanko
