#pragma once
// R42: the CA database is encrypted at rest (SQLCipher). Its key is computed by the CA's token:
// HMAC-SHA256, under a private and non-extractable secret key named by ca.conf's database_key,
// of a fixed label. The database therefore opens only where the token is present and logged in
// (the PIN, rebuilt from the custodians' quorum); the data disk alone, stolen, copied or thrown
// away, reveals nothing. Backup sets carry a copy encrypted under a key derived from the backup
// key instead (see backup.h), so the backup center can open it with its own quorum.
#include <functional>
#include <string>

#include "hanko/hsm/secret.h"
#include "hanko/hsm/session.h"

namespace hanko::offline {

struct CaConfig;

// Makes the token's database key object from 32 fresh random bytes (read-write session, user
// logged in). Throws hsm::Error(KeyExists) when the label is taken.
void create_database_token_key(hsm::Session& session, const std::string& label);
// The 32-byte key of the database, computed in the token.
hsm::Secret database_key(hsm::Session& session, const std::string& label);
// HMAC-SHA256 of `label` under a secret key of the token, as a secret (the bytes the token
// returned are wiped). Derives the database key here and the backup copy's key (backup.h).
hsm::Secret token_derived_key(hsm::Session& session, CK_OBJECT_HANDLE key, std::string_view label);

// The keys this process may open encrypted databases with. A command that can log in to the
// token installs a source (cli.cpp: from --pin-fd or the custodians' shares); CaStore asks here
// and caches per token and label, so one command logs in for the database only once.
class DatabaseKeys {
 public:
  using Source = std::function<hsm::Secret(const CaConfig& config)>;
  static void set_source(Source source);
  static void remember(const CaConfig& config, const hsm::Secret& key);
  // Throws PolicyError, saying how to provide the PIN, when there is no key and no source.
  static hsm::Secret for_config(const CaConfig& config);
  static void forget_all() noexcept;

  // Installs a source for as long as it lives, then removes it (the source may capture the
  // command's options or the ceremony runner).
  class Scope {
   public:
    explicit Scope(Source source) { set_source(std::move(source)); }
    ~Scope() { set_source(nullptr); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  };
};

}  // namespace hanko::offline
