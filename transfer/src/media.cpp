#include "hanko/transfer/media.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace hanko::transfer {

namespace {

std::string errno_text() { return std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() noexcept {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const noexcept { return m_fd; }
  int release() noexcept { return std::exchange(m_fd, -1); }

 private:
  int m_fd;
};

[[noreturn]] void io_error(const std::string& message) { throw TransferError(ErrorId::kIo, message); }

void fsync_dir(const std::filesystem::path& dir) {
  Fd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) io_error("cannot sync folder '" + dir.string() + "': " + errno_text());
}

constexpr std::string_view kTempPrefix = ".hanko-tmp-";

bool is_temporary(const std::string& name) { return name.rfind(kTempPrefix, 0) == 0; }

}  // namespace

Bytes read_file_capped(const std::filesystem::path& path, std::size_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) io_error("cannot open '" + path.string() + "': " + errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) io_error("cannot stat '" + path.string() + "': " + errno_text());
  if (!S_ISREG(st.st_mode)) io_error("'" + path.string() + "' is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_size) {
    throw TransferError(ErrorId::kLimitExceeded, "'" + path.string() + "' is " + std::to_string(st.st_size) + " bytes, more than the " +
                                                     std::to_string(max_size) + " a bundle may have; not read");
  }
  Bytes out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_error("cannot read '" + path.string() + "': " + errno_text());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

void write_file_atomic(const std::filesystem::path& path, BytesView data, bool replace) {
  const std::filesystem::path dir = path.parent_path();
  std::string tmpl = ((dir.empty() ? std::filesystem::path(".") : dir) / (std::string(kTempPrefix) + path.filename().string() + ".XXXXXX")).string();
  Fd fd(::mkstemp(tmpl.data()));
  if (fd.get() < 0) io_error("cannot create a file in '" + dir.string() + "': " + errno_text());
  try {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        io_error("cannot write '" + path.string() + "': " + errno_text() +
                 (errno == ENOSPC ? "; free space on that disk and retry (nothing was replaced)" : ""));
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) io_error("cannot sync '" + tmpl + "': " + errno_text());
    ::close(fd.release());
    if (replace) {
      if (::rename(tmpl.c_str(), path.c_str()) != 0) io_error("cannot rename into '" + path.string() + "': " + errno_text());
    } else {
      // link() fails when the target exists, which rename() would silently replace.
      if (::link(tmpl.c_str(), path.c_str()) != 0) {
        io_error("cannot create '" + path.string() + "': " + errno_text() + (errno == EEXIST ? " (it already exists; nothing was overwritten)" : ""));
      }
      ::unlink(tmpl.c_str());
    }
    fsync_dir(dir);
  } catch (...) {
    ::unlink(tmpl.c_str());
    throw;
  }
}

std::filesystem::path export_to_folder(BytesView bundle_der, const std::filesystem::path& dir) {
  const auto bundle = parse_bundle(bundle_der);
  if (!bundle) throw TransferError(bundle.error(), "refusing to export: " + bundle.message());
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) io_error("'" + dir.string() + "' is not a folder (is the disk mounted?)");
  const std::filesystem::path path = dir / bundle_file_name(*bundle);
  if (std::filesystem::exists(path, ec)) {
    const Bytes there = read_file_capped(path);
    if (std::equal(there.begin(), there.end(), bundle_der.begin(), bundle_der.end())) return path;
    io_error("'" + path.string() + "' exists with other content; nothing was overwritten (remove it after checking it)");
  }
  write_file_atomic(path, bundle_der, false);
  return path;
}

std::string_view disk_state_name(DiskEntry::State s) {
  switch (s) {
    case DiskEntry::State::kReady: return "ready";
    case DiskEntry::State::kWaiting: return "waiting";
    case DiskEntry::State::kAlreadyImported: return "already imported";
    case DiskEntry::State::kRefused: return "refused";
    case DiskEntry::State::kPartial: return "partial";
  }
  return "?";
}

namespace {

// A bundle cut short keeps its outer SEQUENCE header, which then promises more than the file has.
bool looks_truncated(BytesView data) {
  if (data.size() < 2 || data[0] != 0x30) return false;
  std::size_t length = data[1], header = 2;
  if (length & 0x80) {
    const std::size_t n = length & 0x7F;
    if (n == 0 || n > 4 || data.size() < 2 + n) return false;
    length = 0;
    for (std::size_t i = 0; i < n; ++i) length = (length << 8) | data[2 + i];
    header += n;
  }
  return header + length > data.size();
}

DiskEntry examine(const std::filesystem::path& path, const std::vector<pki::PublicKey>& trusted, const SequenceLedger& ledger,
                  Direction direction) {
  DiskEntry entry;
  entry.path = path;
  auto refuse = [&](ErrorId id, std::string message) {
    entry.state = DiskEntry::State::kRefused;
    entry.error = id;
    entry.message = std::move(message);
    return entry;
  };
  Bytes data;
  try {
    data = read_file_capped(path);
  } catch (const TransferError& e) {
    return refuse(e.id(), e.what());
  }
  auto bundle = open_bundle(data, trusted);
  if (!bundle) {
    const bool truncated = looks_truncated(data);
    return refuse(truncated ? ErrorId::kPartialFile : bundle.error(),
                  (truncated ? "truncated (" + std::to_string(data.size()) + " bytes; copied only in part?): " : std::string()) + bundle.message());
  }
  if (bundle->direction != direction) {
    return refuse(ErrorId::kWrongDirection, "a " + std::string(direction_name(bundle->direction)) + " bundle where " +
                                                std::string(direction_name(direction)) + " bundles are expected");
  }
  if (path.filename().string() != bundle_file_name(*bundle)) {
    return refuse(ErrorId::kBadFileName, "the file name does not match its content (which says '" + bundle_file_name(*bundle) +
                                             "'): renamed or copied under a wrong name");
  }
  entry.bundle = *bundle;
  if (ledger.already_imported(*bundle)) {
    entry.state = DiskEntry::State::kAlreadyImported;
    entry.message = "imported earlier (sequence " + std::to_string(bundle->sequence) + ")";
    return entry;
  }
  const auto ok = ledger.check(*bundle);
  if (!ok) {
    if (ok.error() == ErrorId::kOutOfSequence) {
      entry.state = DiskEntry::State::kWaiting;
      entry.error = ok.error();
      entry.message = ok.message();
      return entry;
    }
    return refuse(ok.error(), ok.message());
  }
  entry.state = DiskEntry::State::kReady;
  entry.message = "sequence " + std::to_string(bundle->sequence) + ", " + std::to_string(bundle->manifest.size()) + " parts";
  return entry;
}

}  // namespace

std::vector<DiskEntry> scan_folder(const std::filesystem::path& dir, const std::vector<pki::PublicKey>& trusted,
                                   const SequenceLedger& ledger, Direction direction) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) io_error("'" + dir.string() + "' is not a folder (is the disk mounted?)");
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) paths.push_back(e.path());
  if (ec) io_error("cannot list '" + dir.string() + "': " + ec.message());
  std::sort(paths.begin(), paths.end());
  std::vector<DiskEntry> out;
  for (const auto& path : paths) {
    const std::string name = path.filename().string();
    if (is_temporary(name)) {
      DiskEntry entry;
      entry.path = path;
      entry.state = DiskEntry::State::kPartial;
      entry.error = ErrorId::kPartialFile;
      entry.message = "a temporary file of an interrupted export; export again";
      out.push_back(std::move(entry));
    } else if (name.rfind("hanko-", 0) == 0 && path.extension() == kBundleExtension) {
      out.push_back(examine(path, trusted, ledger, direction));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const DiskEntry& a, const DiskEntry& b) {
    const std::uint64_t sa = a.bundle ? a.bundle->sequence : UINT64_MAX, sb = b.bundle ? b.bundle->sequence : UINT64_MAX;
    return sa < sb;
  });
  return out;
}

Bundle import_next(const std::filesystem::path& dir, const std::vector<pki::PublicKey>& trusted, SequenceLedger& ledger,
                   Direction direction, const std::filesystem::path& out) {
  const std::vector<DiskEntry> entries = scan_folder(dir, trusted, ledger, direction);
  const DiskEntry* ready = nullptr;
  std::string problems;
  for (const DiskEntry& e : entries) {
    if (e.state == DiskEntry::State::kReady && !ready) ready = &e;
    if (e.state == DiskEntry::State::kRefused || e.state == DiskEntry::State::kPartial || e.state == DiskEntry::State::kWaiting) {
      problems += "\n  " + e.path.filename().string() + ": " + std::string(disk_state_name(e.state)) + " [" +
                  std::string(error_id_name(e.error)) + "] " + e.message;
    }
  }
  if (!ready) {
    const DiskEntry* first_problem = nullptr;
    for (const DiskEntry& e : entries) {
      if (e.state != DiskEntry::State::kAlreadyImported) {
        first_problem = &e;
        break;
      }
    }
    if (!first_problem) {
      throw TransferError(entries.empty() ? ErrorId::kIo : ErrorId::kReplay,
                          "no new " + std::string(direction_name(direction)) + " bundle in '" + dir.string() + "'" +
                              (entries.empty() ? "" : " (" + std::to_string(entries.size()) + " already imported)"));
    }
    throw TransferError(first_problem->error, "nothing can be imported from '" + dir.string() + "':" + problems);
  }
  // Take the bytes in once, verify exactly those bytes, and only then write and record them.
  const Bytes data = read_file_capped(ready->path);
  const auto bundle = open_bundle(data, trusted);
  if (!bundle || bundle->sha256 != ready->bundle->sha256) {
    throw TransferError(ErrorId::kPartialFile, "'" + ready->path.string() + "' changed while it was being read; import again");
  }
  const auto ok = ledger.check(*bundle);
  if (!ok) throw TransferError(ok.error(), ok.message());
  write_file_atomic(out, data, false);
  ledger.record(*bundle);
  return *bundle;
}

}  // namespace hanko::transfer
