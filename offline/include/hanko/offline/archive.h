#pragma once
// Archive volumes (R43): everything the CA must keep for years, in plain formats a reader can
// still parse without hanko: every issued certificate (concatenated DER, with a TSV index holding
// who requested it, the decision and its revocation), every list ever signed, the key-generation
// records, processed batches, RA keys, the people and their roles, the configuration and the
// whole audit log (JSON lines with every field of the hash chain) with its signed checkpoints.
// MANIFEST lists every file's size and SHA-256 and is signed by the audit key; its time and the
// audit head it names time-stamp the volume in the CA's own log.
//
// MANIFEST:
//   hanko archive volume 1
//   ca <identity>            SHA-256 of generation 1's self-signed certificate
//   subject <CA name>
//   created <YYYY-MM-DD HH:MM:SS UTC>
//   audit <sequence> <head>
//   file <sha256> <size> <name>          one per file, sorted by name
//   signature <algorithm> <spki hex> <signature hex>    over every line before it
#include <filesystem>
#include <optional>
#include <string>

#include "hanko/offline/ca_store.h"
#include "hanko/pki/signer.h"

namespace hanko::offline {

class ArchiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ArchiveSummary {
  std::string identity;
  std::string subject;
  std::string created;
  std::int64_t certificates = 0;
  std::int64_t lists = 0;
  std::int64_t audit_entries = 0;
  std::int64_t files = 0;
  std::uint64_t bytes = 0;
};

// Writes a new volume folder (refuses an existing one; appears only when complete).
ArchiveSummary write_archive(CaStore& store, const std::filesystem::path& volume, pki::Signer& audit_key, pki::Time now);

// Checks a volume years later: the manifest's signature (by `audit_spki` when given, else by the
// key in the volume), every file's size and digest, no file missing or added, every certificate
// and list parses strictly and verifies with its generation's key, the audit chain recomputes and
// reaches every checkpoint. Throws ArchiveError naming the first problem.
ArchiveSummary verify_archive(const std::filesystem::path& volume, const std::optional<Bytes>& audit_spki);

// Is this folder an archive volume (its MANIFEST's first line)? Reads only that line.
bool is_archive_volume(const std::filesystem::path& folder);
// Every certificate and every list in a volume, as DER (call verify_archive first: this only
// splits the files). For a restore's reconciliation (reconcile.h).
struct ArchiveContent {
  std::vector<Bytes> certificates;
  std::vector<Bytes> lists;
};
ArchiveContent read_archive_content(const std::filesystem::path& volume);

// Copies a volume to new media, reading every copied file back, then verifies the copy.
ArchiveSummary copy_archive(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace hanko::offline
