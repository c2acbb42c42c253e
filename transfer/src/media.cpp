#include "hanko/transfer/media.h"

#include <algorithm>

#include "hanko/common/files.h"

namespace hanko::transfer {

namespace {

[[noreturn]] void io_error(const std::string& message) { throw TransferError(ErrorId::kIo, message); }

bool is_temporary(const std::string& name) { return name.rfind(kTemporaryPrefix, 0) == 0; }

}  // namespace

// The common helpers' errors become TransferError, which callers map to exit codes and messages.
Bytes read_file_capped(const std::filesystem::path& path, std::size_t max_size) {
  try {
    return read_file(path, max_size);
  } catch (const FileTooLarge&) {
    throw TransferError(ErrorId::kLimitExceeded, "'" + path.string() + "' is more than the " + std::to_string(max_size) +
                                                     " bytes a bundle may have; not read");
  } catch (const FileError& e) {
    throw TransferError(ErrorId::kIo, e.what());
  }
}

void write_file_atomic(const std::filesystem::path& path, BytesView data, bool replace) {
  try {
    if (replace) {
      hanko::write_file_atomic(path, data);
    } else {
      write_new_file(path, data);
    }
  } catch (const FileError& e) {
    throw TransferError(ErrorId::kIo, e.what());
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
