#include "hanko/offline/database_key.h"

#include <cryptopp/osrng.h>
#include <cryptopp/secblock.h>

#include <map>
#include <mutex>

#include "hanko/offline/ca_store.h"
#include "hanko/offline/profiles.h"

namespace hanko::offline {

namespace {

constexpr std::string_view kDatabaseKeyInfo = "hanko CA database key 1";

struct Keyring {
  std::mutex mutex;
  DatabaseKeys::Source source;
  std::map<std::string, hsm::Secret> keys;  // by "token/label"
};

Keyring& keyring() {
  static Keyring k;
  return k;
}

std::string key_name(const CaConfig& config) { return config.token + "/" + config.database_key; }

}  // namespace

void create_database_token_key(hsm::Session& session, const std::string& label) {
  CryptoPP::AutoSeededRandomPool rng;
  CryptoPP::SecByteBlock value(32);
  rng.GenerateBlock(value, value.size());
  session.create_mac_key(label, hsm::Secret(BytesView(value.data(), value.size())));
}

hsm::Secret database_key(hsm::Session& session, const std::string& label) {
  const auto key = session.find_secret_key(label);
  if (!key) {
    throw PolicyError("token '" + session.token_label() + "' has no database key '" + label +
                      "': the CA database cannot be opened with this token (restore onto it from a backup set, or attach the CA's own token)");
  }
  return token_derived_key(session, *key, kDatabaseKeyInfo);
}

hsm::Secret token_derived_key(hsm::Session& session, CK_OBJECT_HANDLE key, std::string_view label) {
  Bytes mac = session.hmac_sha256(key, view(label));
  hsm::Secret out{BytesView(mac)};
  std::fill(mac.begin(), mac.end(), std::uint8_t{0});
  return out;
}

void DatabaseKeys::set_source(Source source) {
  std::lock_guard lock(keyring().mutex);
  keyring().source = std::move(source);
}

void DatabaseKeys::remember(const CaConfig& config, const hsm::Secret& key) {
  std::lock_guard lock(keyring().mutex);
  keyring().keys.insert_or_assign(key_name(config), hsm::Secret(key.view()));
}

hsm::Secret DatabaseKeys::for_config(const CaConfig& config) {
  std::unique_lock lock(keyring().mutex);
  Keyring& k = keyring();
  if (const auto it = k.keys.find(key_name(config)); it != k.keys.end()) return hsm::Secret(it->second.view());
  if (!k.source) {
    throw PolicyError("the CA database is encrypted (R42) and opens only with its token: this step has no PIN yet "
                      "(give --pin-fd or the custodians' --share files)");
  }
  const Source source = k.source;
  lock.unlock();  // the source logs in to the token, which may take a while
  hsm::Secret key = source(config);
  remember(config, key);
  return key;
}

void DatabaseKeys::forget_all() noexcept {
  std::lock_guard lock(keyring().mutex);
  keyring().keys.clear();
  keyring().source = nullptr;
}

}  // namespace hanko::offline
