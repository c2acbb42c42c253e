#pragma once
// The sequence ledger: what has been imported from each peer in each direction, kept in a state
// folder so that replays and gaps are refused across runs. One small text file per signer key and
// direction, replaced atomically on every record.
#include <filesystem>
#include <optional>

#include "hanko/transfer/bundle.h"

namespace hanko::transfer {

class SequenceLedger {
 public:
  explicit SequenceLedger(std::filesystem::path dir);

  // The sequence number the next bundle from `signer` in `direction` must carry (1 at first).
  std::uint64_t next_expected(const KeyId& signer, Direction direction) const;
  // Was this exact bundle (same id and digest) imported already?
  bool already_imported(const Bundle& b) const;
  // kReplay for an id or sequence seen before, kOutOfSequence naming the missing bundles.
  Result<bool> check(const Bundle& b) const;
  // check(), then appends the bundle and rewrites the file atomically. Throws TransferError.
  void record(const Bundle& b);

 private:
  struct Entry {
    std::uint64_t sequence = 0;
    std::string id_hex;
    std::string sha256_hex;
  };
  std::filesystem::path file_for(const KeyId& signer, Direction direction) const;
  std::vector<Entry> load(const KeyId& signer, Direction direction) const;

  std::filesystem::path m_dir;
};

}  // namespace hanko::transfer
