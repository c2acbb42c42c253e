#pragma once
// Removable media: bundles written to a folder (a mounted USB disk) and taken in from one.
// Export is atomic (temporary name, fsync, rename, fsync of the folder); import never deletes or
// changes anything on the disk.
#include <filesystem>
#include <string>
#include <vector>

#include "hanko/transfer/bundle.h"
#include "hanko/transfer/ledger.h"

namespace hanko::transfer {

inline constexpr const char* kBundleExtension = ".hkb";

// Reads a whole regular file of at most `max_size` bytes (TransferError kIo / kLimitExceeded).
Bytes read_file_capped(const std::filesystem::path& path, std::size_t max_size = kMaxBundleSize);
// Crash-safe write: temporary name in the same folder, fsync, rename (or link when !replace,
// refusing to overwrite), fsync of the folder.
void write_file_atomic(const std::filesystem::path& path, BytesView data, bool replace = true);

// Writes an already encoded bundle (checked with parse_bundle first) as DIR/bundle_file_name().
// Returns the path. An identical file already there is left alone; a different one is an error.
std::filesystem::path export_to_folder(BytesView bundle_der, const std::filesystem::path& dir);

// What import found on a disk, one entry per file that looks like ours.
struct DiskEntry {
  enum class State {
    kReady,            // verified, next in sequence: can be taken in
    kWaiting,          // verified, a later sequence number (take the earlier ones first)
    kAlreadyImported,  // recorded in the ledger already
    kRefused,          // corrupted, truncated, renamed, foreign signer, replay...
    kPartial,          // a temporary file of an interrupted export
  };
  std::filesystem::path path;
  State state = State::kRefused;
  std::optional<Bundle> bundle;
  ErrorId error = ErrorId::kMalformed;
  std::string message;  // why refused, or a short description
};
std::string_view disk_state_name(DiskEntry::State s);

// Looks at every file in `dir` (not recursive): *.hkb files are opened against `trusted`,
// checked against their file name and the ledger; temporary files are reported as partial;
// other files are ignored. Sorted by sequence number.
std::vector<DiskEntry> scan_folder(const std::filesystem::path& dir, const std::vector<pki::PublicKey>& trusted,
                                   const SequenceLedger& ledger, Direction direction);

// Takes in the next bundle in sequence: verifies it again from the bytes it copies, writes those
// bytes to `out` (atomically, never overwriting), then records it in the ledger.
// Throws TransferError explaining what is wrong (nothing waiting, a gap, every refusal).
Bundle import_next(const std::filesystem::path& dir, const std::vector<pki::PublicKey>& trusted,
                   SequenceLedger& ledger, Direction direction, const std::filesystem::path& out);

}  // namespace hanko::transfer
