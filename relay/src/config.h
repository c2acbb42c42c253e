#pragma once
// The relay's configuration: a reviewed text file of `key = value` lines ('#' starts a comment).
// Parsing does no I/O beyond reading the text it is given, so tests can feed strings.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hanko::relay {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Config {
  std::filesystem::path state_dir;       // relay.db, ledger/, outbox/, inbox/, archive/
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 8080;
  std::filesystem::path doc_root;        // the HTTP repository
  std::size_t max_body = 64 * 1024;      // intake body limit (a CSR-bearing item is ~2 KB)
  std::size_t max_connections = 512;
  double rate_per_second = 5000;         // per client address
  double rate_burst = 10000;
  std::size_t max_queue = 1000000;       // queued requests before intake answers 503
  std::size_t http_threads = 2;

  std::size_t batch_max_items = 1000;
  std::chrono::seconds batch_max_age{300};
  std::filesystem::path outbox;          // request bundles go here (a mounted disk)
  std::filesystem::path inbox;           // result bundles are picked up from here
  bool outbox_qr_html = false;           // also write a looping QR page per bundle

  std::string pkcs11_module;             // empty: hanko's default (SoftHSMv2)
  std::string token;                     // the relay's own token, never the CA's
  std::filesystem::path token_pin_file;  // 0600; a daemon has nobody to ask
  std::string transport_key_label = "relay-transport";
  std::vector<std::filesystem::path> signer_transport_keys;  // SPKI DER/PEM or certificate
  std::vector<std::filesystem::path> ca_certificates;        // trust anchors for lists and certs

  // LDAP repository (empty uri: none)
  std::string ldap_uri;
  std::string ldap_bind_dn;
  std::filesystem::path ldap_password_file;
  std::string ldap_ca_dn;                // the CA's entry, e.g. "o=Hanko Demo,c=JP"

  // OCSP responder (empty label: none)
  std::string ocsp_key_label;
  std::vector<std::filesystem::path> ocsp_certificates;  // one per CA generation answered for
  std::chrono::seconds ocsp_validity{3600};

  // Publication retries and freshness
  std::chrono::seconds retry_initial{1};
  std::chrono::seconds retry_max{300};
  int retry_dead_after = 1000;           // attempts before a transient failure is a dead letter
  std::chrono::seconds freshness_margin{6 * 3600};
  std::chrono::seconds cadence{24 * 3600};
  std::chrono::seconds watch_interval{60};
  std::string public_http_base;          // how clients reach the HTTP repository (self-fetch)

  std::filesystem::path file;            // where load() read it (empty for parse())
  std::string text;                      // what it read, to tell a changed file on SIGHUP

  static Config parse(const std::string& text, const std::filesystem::path& base_dir);
  static Config load(const std::filesystem::path& file);
};

}  // namespace hanko::relay
