#include "hanko/transfer/ledger.h"

#include <sstream>

#include "hanko/transfer/media.h"

namespace hanko::transfer {

// File format, one per signer key and direction (text, so a person can read it):
//   hanko-ledger 1
//   <sequence> <bundle id hex> <bundle sha256 hex>      one line per imported bundle, in order

SequenceLedger::SequenceLedger(std::filesystem::path dir) : m_dir(std::move(dir)) {}

std::filesystem::path SequenceLedger::file_for(const KeyId& signer, Direction direction) const {
  return m_dir / ("ledger-" + std::string(direction_name(direction)) + "-" + to_hex(BytesView(signer).first(16)) + ".txt");
}

std::vector<SequenceLedger::Entry> SequenceLedger::load(const KeyId& signer, Direction direction) const {
  const std::filesystem::path path = file_for(signer, direction);
  std::vector<Entry> entries;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return entries;
  const Bytes data = read_file_capped(path, 64u << 20);
  std::istringstream in(to_string(data));
  std::string line;
  if (!std::getline(in, line) || line != "hanko-ledger 1") {
    throw TransferError(ErrorId::kIo, "the sequence ledger '" + path.string() + "' is not a hanko ledger; refusing to guess");
  }
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    Entry e;
    if (!(fields >> e.sequence >> e.id_hex >> e.sha256_hex) || (!entries.empty() && e.sequence != entries.back().sequence + 1)) {
      throw TransferError(ErrorId::kIo, "the sequence ledger '" + path.string() + "' is damaged at line '" + line + "'");
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::uint64_t SequenceLedger::next_expected(const KeyId& signer, Direction direction) const {
  const auto entries = load(signer, direction);
  return entries.empty() ? 1 : entries.back().sequence + 1;
}

bool SequenceLedger::already_imported(const Bundle& b) const {
  const std::string id = to_hex(b.id), digest = to_hex(b.sha256);
  for (const Entry& e : load(b.signer, b.direction)) {
    if (e.id_hex == id && e.sha256_hex == digest) return true;
  }
  return false;
}

Result<bool> SequenceLedger::check(const Bundle& b) const {
  const auto entries = load(b.signer, b.direction);
  const std::string id = to_hex(b.id);
  for (const Entry& e : entries) {
    if (e.id_hex == id) {
      return {ErrorId::kReplay, "bundle " + id + " was already imported (as " + std::string(direction_name(b.direction)) + " sequence " +
                                    std::to_string(e.sequence) + "); a replay is refused"};
    }
  }
  const std::uint64_t expected = entries.empty() ? 1 : entries.back().sequence + 1;
  if (b.sequence < expected) {
    return {ErrorId::kReplay, "sequence " + std::to_string(b.sequence) + " was already used (the last imported " +
                                  std::string(direction_name(b.direction)) + " is " + std::to_string(expected - 1) +
                                  "); this bundle is a replay or was signed twice"};
  }
  if (b.sequence > expected) {
    const std::uint64_t last_missing = b.sequence - 1;
    std::string missing = last_missing == expected ? "bundle " + std::to_string(expected) + " is missing"
                          : last_missing == expected + 1
                              ? "bundles " + std::to_string(expected) + " and " + std::to_string(last_missing) + " are missing"
                              : "bundles " + std::to_string(expected) + " to " + std::to_string(last_missing) + " are missing";
    return {ErrorId::kOutOfSequence, "expected " + std::string(direction_name(b.direction)) + " sequence " + std::to_string(expected) +
                                         ", got " + std::to_string(b.sequence) + ": " + missing};
  }
  return true;
}

void SequenceLedger::record(const Bundle& b) {
  const auto ok = check(b);
  if (!ok) throw TransferError(ok.error(), ok.message());
  std::error_code ec;
  std::filesystem::create_directories(m_dir, ec);
  if (ec) throw TransferError(ErrorId::kIo, "cannot create the ledger folder '" + m_dir.string() + "': " + ec.message());
  std::string text = "hanko-ledger 1\n";
  for (const Entry& e : load(b.signer, b.direction)) text += std::to_string(e.sequence) + " " + e.id_hex + " " + e.sha256_hex + "\n";
  text += std::to_string(b.sequence) + " " + to_hex(b.id) + " " + to_hex(b.sha256) + "\n";
  write_file_atomic(file_for(b.signer, b.direction), view(text));
}

}  // namespace hanko::transfer
