#pragma once
// The relay's durable state: one SQLite database in WAL mode with synchronous=FULL (through
// common/sqlite.h), so a request that was answered "accepted" is on the disk, whatever happens
// to the process afterwards. Each thread opens its own Store (its own connection).
//
// States of a request: queued -> in_batch -> issued | revoked | refused (with the signer's reason).
// Publications: pending -> done | dead (permanent error, kept as a dead letter) | superseded.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hanko/common/sqlite.h"
#include "hanko/pki/time.h"
#include "intake.h"

namespace hanko::relay {


inline constexpr const char* kRepositoryHttp = "http";
inline constexpr const char* kRepositoryLdap = "ldap";

struct RequestRow {
  std::string id;
  std::string ra_operator;
  std::string kind;
  std::string state;
  std::string batch_id;
  std::string serial;
  std::string reason;
  Bytes certificate;
  std::int64_t received = 0;
  std::int64_t updated = 0;
};

enum class InsertOutcome { kAccepted, kDuplicate, kConflict };

class Store {
 public:
  explicit Store(const std::filesystem::path& db_path);

  sql::Database& db() { return m_db; }

  // One transaction for many items (group commit): the caller answers only after it returns.
  std::vector<InsertOutcome> insert_requests(const std::vector<const CheckedItem*>& items, std::int64_t now);
  std::optional<RequestRow> request(const std::string& id);
  std::int64_t count_state(const std::string& state);

  void add_ra_key(const std::string& name, BytesView spki, std::int64_t now);
  RaRegistry ra_keys();

  void event(std::int64_t now, const std::string& kind, const std::string& message);

 private:
  sql::Database m_db;
};

std::int64_t unix_seconds(pki::Time t);
pki::Time from_unix(std::int64_t s);

}  // namespace hanko::relay
