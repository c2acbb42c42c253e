#pragma once
// The signer's minimal file-based state (the CA database of the signer issue replaces it):
//   ca.conf     configuration (key=value)
//   ca.crt      the current self-signed CA certificate (DER)
//   index.tsv   one line per issued certificate: status, dates, revocation, profile, subject
//   crlnumber   the last CRL number used
//   issued/     every issued certificate as <SERIAL>.crt
//   crls/       every CRL as <number>.crl
// Every file is replaced atomically; a lock file keeps two processes out.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hanko/offline/files.h"
#include "hanko/pki/certificate.h"
#include "hanko/pki/crl.h"

namespace hanko::offline {

struct CaConfig {
  std::string module;
  std::string token;
  std::string key_label;
  pki::SignatureAlgorithm signature_algorithm = pki::SignatureAlgorithm::kRsaPkcs1Sha256;
  std::vector<std::string> crl_urls;   // HTTP and LDAP distribution points, in order
  std::string ocsp_url;
  std::string policy_oid;
  std::string cps_url;
  int crl_validity_hours = 72;         // R21: each list valid 72 hours

  std::string serialize() const;
  static CaConfig parse(std::string_view text);  // throws std::runtime_error naming the line
};

struct IndexEntry {
  pki::Serial serial;
  bool revoked = false;
  pki::Time not_before{};
  pki::Time not_after{};
  std::optional<pki::Time> revocation_date;
  std::optional<pki::ReasonCode> reason;
  std::optional<pki::Time> invalidity_date;
  std::string profile;
  std::string subject;  // display form
};

class CaState {
 public:
  // Opens an existing state folder and takes its lock.
  explicit CaState(std::filesystem::path dir);
  // Creates a new state folder; refuses one that exists and is not empty.
  static void create(const std::filesystem::path& dir, const CaConfig& config, BytesView ca_certificate);
  // Checks, before any key is generated, that `dir` can become a new state folder.
  static void check_can_create(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const noexcept { return m_dir; }
  const CaConfig& config() const noexcept { return m_config; }
  const pki::Certificate& ca_certificate() const noexcept { return m_ca; }
  const std::vector<IndexEntry>& entries() const noexcept { return m_entries; }
  const IndexEntry* find(const pki::Serial& serial) const;
  // A valid (unrevoked, unexpired at `now`) certificate for exactly this subject, if any (R16).
  const IndexEntry* valid_for_subject(const std::string& subject, pki::Time now) const;

  void record_issued(const IndexEntry& entry, BytesView certificate);
  void record_revocation(const pki::Serial& serial, pki::Time when, pki::ReasonCode reason,
                         std::optional<pki::Time> invalidity_date);
  // Reserves and persists the next CRL number before the list is signed, so a number is never
  // used twice even if the process dies after signing.
  std::uint64_t reserve_crl_number();
  void record_crl(std::uint64_t number, BytesView crl);

 private:
  void save_index();

  std::filesystem::path m_dir;
  FileLock m_lock;
  CaConfig m_config;
  pki::Certificate m_ca;
  std::vector<IndexEntry> m_entries;
};

}  // namespace hanko::offline
