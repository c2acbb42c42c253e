#pragma once
// The audit log (R40, R41): every event with its type, time, result, actor (person and role) and
// system, appended to the CA database in the same transaction as the change it records, and
// hash-chained: each entry's hash covers the previous hash and its own fields, so a changed byte,
// a deleted, reordered or inserted entry breaks the chain. Checkpoints (sequence number and chain
// head) are signed by a dedicated audit key in the HSM (never the CA key, R4) and carried out of
// the signer, so a log cut after its last exported checkpoint is detected too.
#include <optional>
#include <string>
#include <vector>

#include "hanko/common/sqlite.h"
#include "hanko/pki/signer.h"
#include "hanko/pki/time.h"

namespace hanko::offline {

struct AuditEvent {
  std::string type;     // e.g. "certificate.issue", "list.sign", "key.generate", "command.start"
  std::string result;   // "success", "refused", "failure"
  std::string actor;    // person
  std::string role;     // "CA administrator", "RA operator", "custodian", ...
  std::string details;  // what, with identifiers (serials, scopes, batch ids)
};

struct AuditEntry {
  std::int64_t sequence = 0;
  pki::Time time{};
  AuditEvent event;
  std::string system;
  Bytes previous_hash;  // 32 bytes; zeros for the first entry
  Bytes hash;           // SHA-256(previous_hash || encoding of the fields)
};

// A signed statement "the log up to `sequence` has head `head`".
struct AuditCheckpoint {
  std::int64_t sequence = 0;
  Bytes head;
  pki::Time time{};
  Bytes der;  // SEQUENCE { sequence INTEGER, head OCTET STRING, time GeneralizedTime, alg, signature }
};

class AuditLog {
 public:
  static constexpr const char* kSchema = R"sql(
CREATE TABLE audit (
  sequence INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  type TEXT NOT NULL,
  result TEXT NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  system TEXT NOT NULL,
  details TEXT NOT NULL,
  previous_hash BLOB NOT NULL,
  hash BLOB NOT NULL);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE audit_checkpoints (sequence INTEGER PRIMARY KEY, der BLOB NOT NULL);
)sql";

  AuditLog(sql::Database& db, std::string system) : m_db(db), m_system(std::move(system)) {}

  // Appends within the caller's transaction (or its own when there is none).
  AuditEntry append(const AuditEvent& event, pki::Time now);
  std::optional<AuditEntry> head();
  std::vector<AuditEntry> entries(std::int64_t from = 1, std::int64_t to = INT64_MAX);

  // Signs the current head with the audit key and stores the checkpoint.
  AuditCheckpoint checkpoint(pki::Signer& audit_key, pki::Time now);
  std::vector<AuditCheckpoint> checkpoints();

  struct Verification {
    bool ok = false;
    std::int64_t entries = 0;
    std::int64_t checkpoints = 0;
    std::string problem;  // the first problem found, naming the entry
  };
  // Recomputes the chain, checks every stored checkpoint's signature and that it matches the
  // chain, and that the log reaches every checkpoint in `exported` (cut detection).
  Verification verify(const pki::PublicKey& audit_key, const std::vector<AuditCheckpoint>& exported = {});

  static Bytes entry_hash(BytesView previous_hash, std::int64_t sequence, pki::Time time,
                          const AuditEvent& event, const std::string& system);
  static AuditCheckpoint parse_checkpoint(BytesView der);  // strict; throws pki::ParseError
  // Is a parsed checkpoint signed by this audit key? Throws pki::ParseError on a damaged one.
  static bool signed_by(const AuditCheckpoint& checkpoint, const pki::PublicKey& audit_key);

 private:
  sql::Database& m_db;
  std::string m_system;
};

}  // namespace hanko::offline
