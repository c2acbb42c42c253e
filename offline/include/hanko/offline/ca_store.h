#pragma once
// The signer's CA database (SQLite, full synchronous writes): key generations, issued
// certificates with their requester and decision, revocations, CRL numbers per scope, signed
// lists, processed batch ids and registered RA keys. Lives in <state>/ca.db beside the reviewed
// configuration (ca.conf, profiles.conf). A lock file keeps a second process out.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hanko/common/files.h"
#include "hanko/common/sqlite.h"
#include "hanko/offline/audit.h"
#include "hanko/pki/certificate.h"
#include "hanko/pki/crl.h"

namespace hanko::offline {

struct CaConfig {
  std::string module;
  std::string token;
  // CRL distribution point URL templates; "{scope}" becomes the list's name (e.g. g1-CRL1).
  std::vector<std::string> crl_urls;
  std::string ocsp_url;
  // authorityInfoAccess caIssuers of subscriber certificates: where the issuing CA certificate
  // is served; "{generation}" becomes the issuing key generation's number.
  std::string ca_issuers_url;
  std::string policy_oid;
  std::string cps_url;
  int crl_validity_hours = 72;  // R21: each list valid 72 hours
  int crl_interval_hours = 24;  // R21: next list planned after 24 hours
  int partition_size = 100000;  // R23: subscriber certificates per CRL partition
  std::string transport_key;    // label of the key that signs result bundles (never the CA key, R4)
  std::string audit_key;        // label of the key that signs audit checkpoints (never the CA key, R4)
  // R42: label of the token secret key that computes the CA database's key; empty: a plain database
  // (states made before encryption, or by init without --encrypt-database).
  std::string database_key;
  std::string system_name = "hanko-signer";  // the "system" of audit entries (R40)

  std::string serialize() const;
  static CaConfig parse(std::string_view text);  // throws std::runtime_error naming the line
  // The addresses of one list: "{scope}" replaced; an ARL's LDAP address asks for
  // authorityRevocationList (RFC 4523) where the template says certificateRevocationList.
  std::vector<std::string> urls_for(const std::string& scope) const;
};

// kDestroyed (R8): the key was destroyed in the token; every backup of it is void.
enum class GenerationStatus { kActive, kRetired, kCompromised, kDestroyed };
std::string_view generation_status_name(GenerationStatus s);

struct KeyGeneration {
  int number = 0;
  std::string key_label;
  pki::SignatureAlgorithm algorithm{};
  Bytes certificate;  // the generation's self-signed certificate
  GenerationStatus status = GenerationStatus::kActive;
  pki::Time created{};
};

// What a certificate is, for the lists it belongs to (R20): subscriber certificates go on the
// CRL partitions, CA certificates (self-signed, link, cross) on the ARL, all on the fullCRL.
enum class CertificateKind { kSubscriber, kSelfSigned, kLink, kCross };
std::string_view kind_name(CertificateKind k);
bool is_ca_kind(CertificateKind k);

struct CertificateRecord {
  pki::Serial serial;
  int generation = 0;
  CertificateKind kind = CertificateKind::kSubscriber;
  std::string profile;
  std::string subject;  // display form
  Bytes subject_der;
  pki::Time not_before{};
  pki::Time not_after{};
  std::string partition;  // subscriber certificates only
  Bytes der;
  std::string requested_by;  // RA operator
  std::string batch_id;      // hex, empty for commands run by hand
  std::string decision;      // who approved, e.g. "approved by operator at signer"
  bool revoked = false;
  std::optional<pki::Time> revoked_at;
  std::optional<pki::ReasonCode> reason;
  std::optional<pki::Time> invalidity_date;
};

// R13: a cross-certification with a Bridge CA, both directions.
struct CrossPair {
  pki::Serial issued_to_us_serial;
  std::string bridge;   // the Bridge CA's name (display form)
  Bytes issued_to_us;   // the Bridge CA's certificate for our key (forward)
  Bytes issued_by_us;   // our certificate for the Bridge CA's key (reverse)
};

struct StoredCrl {
  std::string scope;
  std::uint64_t number = 0;
  pki::Time this_update{};
  pki::Time next_update{};
  Bytes der;
};

class CaStore {
 public:
  // Creates a new state folder with its first key generation; refuses an existing CA.
  static void create(const std::filesystem::path& dir, const CaConfig& config,
                     const KeyGeneration& first, const CertificateRecord& self_signed, pki::Time now);
  // Checks, before any key is generated, that `dir` can become a new state folder.
  static void check_can_create(const std::filesystem::path& dir);

  // Opens an existing state folder: takes the lock and checks the database's integrity.
  explicit CaStore(std::filesystem::path dir);

  const std::filesystem::path& dir() const noexcept { return m_dir; }
  const CaConfig& config() const noexcept { return m_config; }
  sql::Database& db() noexcept { return *m_db; }
  AuditLog& audit() noexcept { return *m_audit; }

  // The newest time recorded; commands refuse to run with a clock earlier than this.
  pki::Time newest_time();
  void check_clock(pki::Time now);
  void record_time(pki::Time now);  // within the caller's transaction

  // The CA's identity: SHA-256 of generation 1's self-signed certificate, hex. It never changes
  // (rollovers add generations), so an operator can pin the state a ceremony must find.
  std::string identity();
  // Throws PolicyError unless identity() equals `expected` (hex; colons and case ignored).
  void check_identity(const std::string& expected);
  // The identity is public (a hash of the CA certificate) and is also kept in the clear beside an
  // encrypted database (R42), so a data disk of the wrong CA is refused before the token is
  // activated. Only a first check: the database's own identity is checked once it is open.
  static constexpr const char* kIdentityFile = "identity";
  void write_identity_file();
  static void check_recorded_identity(const std::filesystem::path& dir, const std::string& expected);

  bool terminated();
  void set_terminated(pki::Time now);

  std::vector<KeyGeneration> generations();
  KeyGeneration generation(int number);
  KeyGeneration current_generation();  // the newest active one
  void add_generation(const KeyGeneration& g);
  void set_generation_status(int number, GenerationStatus status);

  bool serial_exists(const pki::Serial& serial);
  enum class SerialState { kUnknown, kValid, kRevoked };
  SerialState serial_state(const pki::Serial& serial);  // without reading the certificate
  std::optional<CertificateRecord> find(const pki::Serial& serial);
  // A valid (unrevoked, unexpired) subscriber certificate with exactly this subject (R16).
  std::optional<pki::Serial> valid_for_subject(BytesView subject_der, pki::Time now);
  void insert(const CertificateRecord& record);
  void mark_revoked(const pki::Serial& serial, pki::Time when, pki::ReasonCode reason,
                    std::optional<pki::Time> invalidity_date);
  std::int64_t count_certificates(int generation, std::optional<bool> revoked = std::nullopt);
  // Serials of valid certificates signed by a generation (for compromise and termination).
  std::vector<pki::Serial> valid_serials(int generation);
  std::vector<CertificateRecord> certificates_of_kind(CertificateKind kind);
  std::vector<CertificateRecord> certificates_of_profile(const std::string& profile);
  // What 'list' and 'find' select; every field given must match.
  struct CertificateFilter {
    std::optional<pki::Serial> serial;
    std::optional<std::string> subject_contains;  // case-sensitive substring of the display form
    std::optional<std::string> profile;
    std::optional<int> generation;
    std::optional<std::string> batch_id;  // hex, as results print it
    enum class Status { kAny, kValid, kRevoked, kExpired } status = Status::kAny;  // kValid: not revoked, not expired at `at`
    std::optional<pki::Time> issued_from, issued_until;  // notBefore in [from, until)
    pki::Time at{};
  };
  // In order of issue (notBefore, then serial); streams, so a million records need no memory.
  void for_each_certificate(const CertificateFilter& filter, const std::function<void(const CertificateRecord&)>& fn);

  // The partition a new subscriber certificate of `generation` goes to: the named group, or the
  // newest numbered partition CRL<n> while it holds fewer than partition_size certificates.
  // `pending` counts certificates planned but not yet recorded (the rest of a batch).
  std::string assign_partition(int generation, const std::string& group, const std::map<std::string, int>& pending = {});
  std::vector<std::string> partitions(int generation);

  // What one list covers. A list must hold every revocation its scope claims: under RFC 5280
  // 6.3.3 a list without an issuingDistributionPoint, from the CA's *name*, is complete for every
  // certificate of that name, whichever key generation signed it, and so is a partition or ARL
  // whose IDP carries no address of its own. Such lists cover every generation.
  enum class ListKind { kPartition, kArl, kFull };
  struct ListCoverage {
    ListKind kind = ListKind::kFull;
    std::optional<int> generation;         // nullopt: every generation of the name
    std::optional<std::string> partition;  // kPartition: one partition (nullopt: every subscriber)
  };
  // Calls `entry` for every revoked, unexpired certificate the list covers.
  std::size_t count_revoked(const ListCoverage& coverage, pki::Time now);
  void for_each_revoked(const ListCoverage& coverage, pki::Time now,
                        const std::function<void(pki::RevokedCertificate&&)>& entry);

  // Takes the next CRL number of a number sequence and commits it at once, before the list is
  // signed. A sequence met for the first time continues above those matching the GLOB pattern
  // `continue_from` (the per-generation sequences a shared one replaces).
  std::uint64_t reserve_crl_number(const std::string& scope, const std::string& continue_from = {});
  // The number reserve_crl_number would take, without taking it (status reads, never writes).
  std::uint64_t peek_crl_number(const std::string& scope, const std::string& continue_from = {});

  // Things an operator must still do (a restore leaves some): shown by 'status' as warnings until
  // the command that does them clears them. Keyed, within the caller's transaction.
  void set_follow_up(const std::string& key, const std::string& text);
  void clear_follow_up(const std::string& key);
  std::vector<std::string> follow_ups();
  void store_crl(const StoredCrl& crl);
  std::optional<StoredCrl> latest_crl(const std::string& scope);
  // The newest list of each scope whose thisUpdate has come by `at` (pre-signed lists wait).
  // kWithoutDer leaves `der` empty: status and warnings need no megabytes of fullCRL.
  enum class ListContent { kWithDer, kWithoutDer };
  std::vector<StoredCrl> latest_crls(pki::Time at, ListContent content = ListContent::kWithDer);

  // The next sequence number of outgoing result bundles, taken and committed at once.
  std::uint64_t next_result_sequence();
  std::uint64_t result_sequence();  // the last one taken (0: none)

  // Restore (issue 27): what the lost signer did after the backup, taken in from its evidence,
  // within the caller's transaction. Nothing here ever lowers a number.
  std::uint64_t highest_crl_number();            // of every sequence, list and floor
  void raise_crl_numbers(std::uint64_t floor);   // every sequence, and every new one, continues above
  void raise_result_sequence(std::uint64_t sequence);
  struct RevocationWithoutCertificate {
    pki::RevokedCertificate entry;
    std::optional<int> generation;         // nullopt: unknown (every generation's lists carry it)
    std::optional<std::string> kind;       // "subscriber", "ca"; nullopt: unknown (every list)
    std::optional<std::string> partition;  // subscriber partition, when the list named it
    std::string source;                    // which evidence proved it
  };
  void add_revocation_without_certificate(const RevocationWithoutCertificate& r);
  std::int64_t count_revocations_without_certificate();

  void record_cross_pair(const CrossPair& pair, pki::Time when);
  std::vector<CrossPair> cross_pairs();

  bool batch_seen(const std::string& batch_id);
  void record_batch(const std::string& batch_id, pki::Time when, int items, int issued, int refused);
  // The encoded result batch, kept so that results lost on their way out (a full or pulled USB
  // disk, a crash after the commit) can be written again ('batch-results').
  void record_batch_result(const std::string& batch_id, BytesView result_der);
  std::optional<Bytes> batch_result(const std::string& batch_id);

  void register_ra_key(const std::string& name, BytesView spki, pki::Time when);
  std::optional<Bytes> ra_key(const std::string& name);  // only if active

 private:
  std::filesystem::path m_dir;
  FileLock m_lock;
  CaConfig m_config;
  std::unique_ptr<sql::Database> m_db;
  std::unique_ptr<AuditLog> m_audit;
  // The newest numbered partition of each generation and its size, read once: counting it for
  // every item made a batch quadratic in the CA's size. insert() forgets it.
  std::map<int, std::pair<int, std::int64_t>> m_newest_partition;
};

}  // namespace hanko::offline
