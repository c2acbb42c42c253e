#include "hanko/offline/ca_store.h"

#include <cctype>

#include <sstream>

#include "hanko/offline/database_key.h"
#include "hanko/offline/profiles.h"
#include "hanko/pki/certificate.h"

namespace hanko::offline {

namespace fs = std::filesystem;

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE generations (
  number INTEGER PRIMARY KEY,
  key_label TEXT NOT NULL UNIQUE,
  algorithm TEXT NOT NULL,
  certificate BLOB NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'retired', 'compromised', 'destroyed')),
  created INTEGER NOT NULL);
CREATE TABLE certificates (
  serial BLOB PRIMARY KEY,
  generation INTEGER NOT NULL REFERENCES generations(number),
  kind TEXT NOT NULL,
  profile TEXT NOT NULL,
  subject TEXT NOT NULL,
  subject_der BLOB NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  partition TEXT NOT NULL,
  der BLOB NOT NULL,
  requested_by TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  decision TEXT NOT NULL,
  revoked_at INTEGER,
  reason INTEGER,
  invalidity INTEGER);
CREATE INDEX certificates_subject ON certificates(subject_der) WHERE revoked_at IS NULL;
CREATE INDEX certificates_revoked ON certificates(generation, kind, partition) WHERE revoked_at IS NOT NULL;
CREATE TABLE crl_numbers (scope TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE crls (
  scope TEXT NOT NULL,
  number INTEGER NOT NULL,
  this_update INTEGER NOT NULL,
  next_update INTEGER NOT NULL,
  der BLOB NOT NULL,
  PRIMARY KEY (scope, number));
CREATE TABLE batches (
  batch_id TEXT PRIMARY KEY,
  processed INTEGER NOT NULL,
  items INTEGER NOT NULL,
  issued INTEGER NOT NULL,
  refused INTEGER NOT NULL);
CREATE TABLE cross_received (
  serial BLOB NOT NULL,
  issuer TEXT NOT NULL,
  der BLOB NOT NULL,
  issued_by_us BLOB NOT NULL,
  imported INTEGER NOT NULL,
  PRIMARY KEY (issuer, serial));
CREATE TABLE ra_keys (
  name TEXT PRIMARY KEY,
  spki BLOB NOT NULL,
  active INTEGER NOT NULL,
  registered INTEGER NOT NULL);
)sql";

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::int64_t seconds(pki::Time t) { return t.time_since_epoch().count(); }
pki::Time from_seconds(std::int64_t s) { return pki::Time(std::chrono::seconds(s)); }
std::optional<std::int64_t> seconds(std::optional<pki::Time> t) {
  return t ? std::optional<std::int64_t>(seconds(*t)) : std::nullopt;
}

GenerationStatus parse_status(const std::string& s) {
  if (s == "active") return GenerationStatus::kActive;
  if (s == "retired") return GenerationStatus::kRetired;
  if (s == "destroyed") return GenerationStatus::kDestroyed;
  return GenerationStatus::kCompromised;
}

CertificateKind parse_kind(const std::string& s) {
  if (s == "self-signed") return CertificateKind::kSelfSigned;
  if (s == "link") return CertificateKind::kLink;
  if (s == "cross") return CertificateKind::kCross;
  return CertificateKind::kSubscriber;
}

KeyGeneration read_generation(const sql::Statement& s) {
  KeyGeneration g;
  g.number = static_cast<int>(s.integer(0));
  g.key_label = s.text(1);
  g.algorithm = *pki::parse_signature_algorithm_name(s.text(2));
  g.certificate = s.blob(3);
  g.status = parse_status(s.text(4));
  g.created = from_seconds(s.integer(5));
  return g;
}

constexpr const char* kCertificateColumns =
    "serial, generation, kind, profile, subject, subject_der, not_before, not_after, partition, der, "
    "requested_by, batch_id, decision, revoked_at, reason, invalidity";

CertificateRecord read_certificate(const sql::Statement& s) {
  CertificateRecord r;
  r.serial = pki::Serial(s.blob_view(0));
  r.generation = static_cast<int>(s.integer(1));
  r.kind = parse_kind(s.text(2));
  r.profile = s.text(3);
  r.subject = s.text(4);
  r.subject_der = s.blob(5);
  r.not_before = from_seconds(s.integer(6));
  r.not_after = from_seconds(s.integer(7));
  r.partition = s.text(8);
  r.der = s.blob(9);
  r.requested_by = s.text(10);
  r.batch_id = s.text(11);
  r.decision = s.text(12);
  if (!s.is_null(13)) {
    r.revoked = true;
    r.revoked_at = from_seconds(s.integer(13));
  }
  if (!s.is_null(14)) r.reason = static_cast<pki::ReasonCode>(s.integer(14));
  if (!s.is_null(15)) r.invalidity_date = from_seconds(s.integer(15));
  return r;
}

}  // namespace

std::string_view generation_status_name(GenerationStatus s) {
  switch (s) {
    case GenerationStatus::kActive: return "active";
    case GenerationStatus::kRetired: return "retired";
    case GenerationStatus::kCompromised: return "compromised";
    case GenerationStatus::kDestroyed: return "destroyed";
  }
  return "?";
}

std::string_view kind_name(CertificateKind k) {
  switch (k) {
    case CertificateKind::kSubscriber: return "subscriber";
    case CertificateKind::kSelfSigned: return "self-signed";
    case CertificateKind::kLink: return "link";
    case CertificateKind::kCross: return "cross";
  }
  return "?";
}

bool is_ca_kind(CertificateKind k) { return k != CertificateKind::kSubscriber; }

// ----- configuration -------------------------------------------------------------------------

std::string CaConfig::serialize() const {
  std::ostringstream out;
  out << "# hanko-offline CA configuration: reviewed content, never a PIN.\n";
  out << "module = " << module << "\n";
  out << "token = " << token << "\n";
  for (const std::string& u : crl_urls) out << "crl_url = " << u << "\n";
  if (!ocsp_url.empty()) out << "ocsp_url = " << ocsp_url << "\n";
  if (!ca_issuers_url.empty()) out << "ca_issuers_url = " << ca_issuers_url << "\n";
  if (!policy_oid.empty()) out << "policy_oid = " << policy_oid << "\n";
  if (!cps_url.empty()) out << "cps_url = " << cps_url << "\n";
  out << "crl_validity_hours = " << crl_validity_hours << "\n";
  out << "crl_interval_hours = " << crl_interval_hours << "\n";
  out << "partition_size = " << partition_size << "\n";
  if (!transport_key.empty()) out << "transport_key = " << transport_key << "\n";
  if (!audit_key.empty()) out << "audit_key = " << audit_key << "\n";
  if (!database_key.empty()) out << "database_key = " << database_key << "\n";
  out << "system_name = " << system_name << "\n";
  return out.str();
}

CaConfig CaConfig::parse(std::string_view text) {
  CaConfig c;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  const auto bad = [&](const std::string& why) {
    return std::runtime_error("ca.conf line " + std::to_string(number) + ": " + why);
  };
  const auto integer = [&](const std::string& v, int lo, int hi) {
    try {
      const int x = std::stoi(v);
      if (x >= lo && x <= hi) return x;
    } catch (const std::exception&) {
    }
    throw bad("'" + v + "' is not a number between " + std::to_string(lo) + " and " + std::to_string(hi));
  };
  while (std::getline(in, line)) {
    ++number;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto eq = t.find('=');
    if (eq == std::string::npos) throw bad("expected key = value");
    const std::string key = trim(t.substr(0, eq));
    const std::string value = trim(t.substr(eq + 1));
    if (key == "module") c.module = value;
    else if (key == "token") c.token = value;
    else if (key == "crl_url") c.crl_urls.push_back(value);
    else if (key == "ocsp_url") c.ocsp_url = value;
    else if (key == "ca_issuers_url") c.ca_issuers_url = value;
    else if (key == "policy_oid") c.policy_oid = value;
    else if (key == "cps_url") c.cps_url = value;
    else if (key == "crl_validity_hours") c.crl_validity_hours = integer(value, 1, 24 * 31);
    else if (key == "crl_interval_hours") c.crl_interval_hours = integer(value, 1, 24 * 31);
    else if (key == "partition_size") c.partition_size = integer(value, 1, 100000000);
    else if (key == "transport_key") c.transport_key = value;
    else if (key == "audit_key") c.audit_key = value;
    else if (key == "database_key") c.database_key = value;
    else if (key == "system_name") c.system_name = value;
    else throw bad("unknown setting '" + key + "'");
  }
  if (c.module.empty() || c.token.empty()) throw std::runtime_error("ca.conf must set module and token");
  if (c.crl_interval_hours >= c.crl_validity_hours) {
    throw std::runtime_error("ca.conf: crl_interval_hours must be shorter than crl_validity_hours, so a new list always comes before the old one expires (R21)");
  }
  return c;
}

std::vector<std::string> CaConfig::urls_for(const std::string& scope) const {
  std::vector<std::string> out;
  const bool arl = scope.size() > 4 && scope.compare(scope.size() - 4, 4, "-arl") == 0;
  for (std::string u : crl_urls) {
    const auto at = u.find("{scope}");
    if (at != std::string::npos) u.replace(at, 7, scope);
    // RFC 4523: a directory holds an ARL in authorityRevocationList, not certificateRevocationList,
    // and the relay publishes it there; an LDAP address of an ARL must ask for that attribute.
    const auto query = u.find('?');
    if (arl && u.rfind("ldap", 0) == 0 && query != std::string::npos &&
        u.compare(query + 1, 25, "certificateRevocationList") == 0) {
      u.replace(query + 1, 25, "authorityRevocationList");
    }
    out.push_back(u);
  }
  return out;
}

// ----- creation and opening ------------------------------------------------------------------

void CaStore::check_can_create(const fs::path& dir) {
  if (fs::exists(dir) && !fs::is_empty(dir)) {
    throw FileError("state folder '" + dir.string() + "' already exists and is not empty; choose a new folder (an existing CA is never overwritten)");
  }
  const fs::path parent = fs::absolute(dir).parent_path();
  if (!fs::is_directory(parent)) {
    throw FileError("cannot create state folder '" + dir.string() + "': '" + parent.string() + "' is not a folder");
  }
}

void CaStore::create(const fs::path& dir, const CaConfig& config, const KeyGeneration& first,
                     const CertificateRecord& self_signed, pki::Time now) {
  check_can_create(dir);
  fs::create_directories(dir);
  // The CA's records are nobody else's business: the folder and database are owner-only.
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  write_new_file(dir / "ca.conf", view(config.serialize()));
  {
    write_new_file(dir / "ca.db", {}, 0600);  // SQLite keeps the mode of an existing file
    const hsm::Secret key = config.database_key.empty() ? hsm::Secret() : DatabaseKeys::for_config(config);
    sql::Database db((dir / "ca.db").string(), true, key.view());
    sql::Transaction txn(db);
    db.exec(kSchema);
    db.exec(AuditLog::kSchema);
    db.prepare("INSERT INTO meta VALUES ('schema', ?1), ('newest_time', ?2), ('terminated', '0')")
        .bind(1, std::to_string(kSchemaVersion))
        .bind(2, std::to_string(seconds(now)))
        .run();
    txn.commit();
  }
  CaStore store(dir);
  sql::Transaction txn(store.db());
  store.add_generation(first);
  store.insert(self_signed);
  store.write_identity_file();
  store.audit().append({"ca.create", "success", "unidentified operator", "CA administrator",
                        "generation 1, key '" + first.key_label + "', self-signed certificate " + self_signed.serial.hex() +
                            ", subject " + self_signed.subject}, now);
  txn.commit();
}

CaStore::CaStore(fs::path dir) : m_dir(std::move(dir)), m_lock(m_dir / "lock", "the CA state at '" + m_dir.string() + "' is in use by another hanko-offline process; wait for it to finish") {
  if (!fs::exists(m_dir / "ca.conf") || !fs::exists(m_dir / "ca.db")) {
    throw FileError("'" + m_dir.string() + "' is not a CA state folder (no ca.conf or ca.db); run 'hanko-offline init' first");
  }
  m_config = CaConfig::parse(read_text_file(m_dir / "ca.conf", 1 << 20));
  // R42: an encrypted database needs its key from the token before anything is read.
  const hsm::Secret key = m_config.database_key.empty() ? hsm::Secret() : DatabaseKeys::for_config(m_config);
  try {
    m_db = std::make_unique<sql::Database>((m_dir / "ca.db").string(), false, key.view());
    sql::Statement check = m_db->prepare("PRAGMA quick_check");
    if (!check.step() || check.text(0) != "ok") {
      std::string first = check.text(0);
      if (const auto eol = first.find('\n'); eol != std::string::npos) first = first.substr(0, first.find('\n', eol + 1)) + " ...";
      throw sql::Error("integrity check failed: " + first, SQLITE_CORRUPT);
    }
    m_audit = std::make_unique<AuditLog>(*m_db, m_config.system_name);
    // Added after schema 1 without changing it: states made before simply gain the table.
    m_db->exec("CREATE TABLE IF NOT EXISTS batch_results (batch_id TEXT PRIMARY KEY, result BLOB NOT NULL)");
    // Revocations a restore took in from the lost signer's lists for certificates no evidence
    // holds (issue 27). NULL generation, kind or partition: unknown, so every list of that wider
    // scope carries the entry; NULL not_after: kept for ever.
    m_db->exec("CREATE TABLE IF NOT EXISTS revocations_without_certificate (serial BLOB PRIMARY KEY, generation INTEGER, "
               "kind TEXT, partition TEXT, not_after INTEGER, revoked_at INTEGER NOT NULL, reason INTEGER, invalidity INTEGER, "
               "source TEXT NOT NULL)");
    sql::Statement version = m_db->prepare("SELECT value FROM meta WHERE key = 'schema'");
    if (!version.step() || version.text(0) != std::to_string(kSchemaVersion)) {
      throw sql::Error("unknown schema version", SQLITE_CORRUPT);
    }
  } catch (const sql::Error& e) {
    if (!m_config.database_key.empty() && (e.code() & 0xff) == SQLITE_NOTADB) {
      throw FileError("the CA database '" + (m_dir / "ca.db").string() + "' cannot be decrypted with the key of token '" +
                      m_config.token + "': this is not the token of this CA, or the file is damaged (restore it from the latest backup)");
    }
    throw FileError("the CA database '" + (m_dir / "ca.db").string() + "' is damaged (" + e.what() +
                    "); restore it from the latest backup");
  }
}

std::string CaStore::identity() {
  return to_hex(pki::digest(pki::HashAlgorithm::kSha256, generation(1).certificate));
}

namespace {

std::string normalised_identity(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c != ':' && c != ' ' && c != '\n') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

void refuse_other_ca(const fs::path& dir, const std::string& what, const std::string& have, const std::string& want) {
  throw PolicyError("the CA state at '" + dir.string() + "' belongs to another CA (" + what + "identity " + have.substr(0, 16) +
                    "...) than the one expected (" + want.substr(0, 16) + "...); attach the data disk of the right CA");
}

}  // namespace

void CaStore::check_identity(const std::string& expected) {
  const std::string want = normalised_identity(expected);
  const std::string have = identity();
  if (want != have) {
    const auto cert = pki::parse_certificate(generation(1).certificate);
    refuse_other_ca(m_dir, (cert ? cert->subject.to_string() : std::string("?")) + ", ", have, want);
  }
}

void CaStore::write_identity_file() {
  write_file_atomic(m_dir / kIdentityFile, view(identity() + "\n"), 0600);
}

void CaStore::check_recorded_identity(const fs::path& dir, const std::string& expected) {
  if (!fs::exists(dir / kIdentityFile)) return;
  const std::string want = normalised_identity(expected);
  const std::string have = normalised_identity(read_text_file(dir / kIdentityFile, 1024));
  if (want != have) refuse_other_ca(dir, "", have, want);
}

pki::Time CaStore::newest_time() {
  sql::Statement s = m_db->prepare("SELECT value FROM meta WHERE key = 'newest_time'");
  s.step();
  return from_seconds(std::stoll(s.text(0)));
}

void CaStore::check_clock(pki::Time now) {
  const pki::Time newest = newest_time();
  if (now < newest) {
    throw std::runtime_error("the clock says " + pki::format_time(now) + ", earlier than " +
                             pki::format_time(newest) + " already recorded in the CA database; set the clock right before signing anything");
  }
}

void CaStore::record_time(pki::Time now) {
  m_db->prepare("UPDATE meta SET value = ?1 WHERE key = 'newest_time' AND CAST(value AS INTEGER) < ?2")
      .bind(1, std::to_string(seconds(now)))
      .bind(2, seconds(now))
      .run();
}

bool CaStore::terminated() {
  sql::Statement s = m_db->prepare("SELECT value FROM meta WHERE key = 'terminated'");
  return s.step() && s.text(0) == "1";
}

void CaStore::set_terminated(pki::Time now) {
  m_db->prepare("UPDATE meta SET value = '1' WHERE key = 'terminated'").run();
  record_time(now);
}

// ----- generations ---------------------------------------------------------------------------

std::vector<KeyGeneration> CaStore::generations() {
  std::vector<KeyGeneration> out;
  sql::Statement s = m_db->prepare("SELECT number, key_label, algorithm, certificate, status, created FROM generations ORDER BY number");
  while (s.step()) out.push_back(read_generation(s));
  return out;
}

KeyGeneration CaStore::generation(int number) {
  sql::Statement s = m_db->prepare("SELECT number, key_label, algorithm, certificate, status, created FROM generations WHERE number = ?1");
  s.bind(1, number);
  if (!s.step()) throw std::runtime_error("no key generation " + std::to_string(number) + "; see 'hanko-offline status'");
  return read_generation(s);
}

KeyGeneration CaStore::current_generation() {
  sql::Statement s = m_db->prepare(
      "SELECT number, key_label, algorithm, certificate, status, created FROM generations WHERE status = 'active' ORDER BY number DESC LIMIT 1");
  if (!s.step()) throw std::runtime_error("this CA has no active key (compromised or terminated); it can no longer issue");
  return read_generation(s);
}

void CaStore::add_generation(const KeyGeneration& g) {
  m_db->prepare("INSERT INTO generations VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
      .bind(1, g.number)
      .bind(2, g.key_label)
      .bind(3, std::string(pki::signature_algorithm_name(g.algorithm)))
      .bind(4, BytesView(g.certificate))
      .bind(5, std::string(generation_status_name(g.status)))
      .bind(6, seconds(g.created))
      .run();
}

void CaStore::set_generation_status(int number, GenerationStatus status) {
  m_db->prepare("UPDATE generations SET status = ?1 WHERE number = ?2")
      .bind(1, std::string(generation_status_name(status)))
      .bind(2, number)
      .run();
}

// ----- certificates --------------------------------------------------------------------------

CaStore::SerialState CaStore::serial_state(const pki::Serial& serial) {
  sql::Statement s = m_db->prepare("SELECT revoked_at IS NOT NULL FROM certificates WHERE serial = ?1");
  s.bind(1, serial.magnitude());
  if (!s.step()) return SerialState::kUnknown;
  return s.integer(0) ? SerialState::kRevoked : SerialState::kValid;
}

bool CaStore::serial_exists(const pki::Serial& serial) {
  sql::Statement s = m_db->prepare("SELECT 1 FROM certificates WHERE serial = ?1");
  s.bind(1, serial.magnitude());
  return s.step();
}

std::optional<CertificateRecord> CaStore::find(const pki::Serial& serial) {
  sql::Statement s = m_db->prepare((std::string("SELECT ") + kCertificateColumns + " FROM certificates WHERE serial = ?1").c_str());
  s.bind(1, serial.magnitude());
  if (!s.step()) return std::nullopt;
  return read_certificate(s);
}

std::optional<pki::Serial> CaStore::valid_for_subject(BytesView subject_der, pki::Time now) {
  sql::Statement s = m_db->prepare(
      "SELECT serial FROM certificates WHERE subject_der = ?1 AND revoked_at IS NULL AND not_after > ?2 AND kind = 'subscriber' LIMIT 1");
  s.bind(1, subject_der).bind(2, seconds(now));
  if (!s.step()) return std::nullopt;
  return pki::Serial(s.blob_view(0));
}

void CaStore::insert(const CertificateRecord& r) {
  m_newest_partition.clear();
  sql::Statement s = m_db->prepare(
      "INSERT INTO certificates VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  s.bind(1, r.serial.magnitude())
      .bind(2, r.generation)
      .bind(3, std::string(kind_name(r.kind)))
      .bind(4, r.profile)
      .bind(5, r.subject)
      .bind(6, BytesView(r.subject_der))
      .bind(7, seconds(r.not_before))
      .bind(8, seconds(r.not_after))
      .bind(9, r.partition)
      .bind(10, BytesView(r.der))
      .bind(11, r.requested_by)
      .bind(12, r.batch_id)
      .bind(13, r.decision)
      .bind(14, seconds(r.revoked_at))
      .bind(15, r.reason ? std::optional<std::int64_t>(static_cast<std::int64_t>(*r.reason)) : std::nullopt)
      .bind(16, seconds(r.invalidity_date));
  s.run();
}

void CaStore::mark_revoked(const pki::Serial& serial, pki::Time when, pki::ReasonCode reason,
                           std::optional<pki::Time> invalidity_date) {
  sql::Statement s = m_db->prepare(
      "UPDATE certificates SET revoked_at = ?1, reason = ?2, invalidity = ?3 WHERE serial = ?4 AND revoked_at IS NULL");
  s.bind(1, seconds(when)).bind(2, static_cast<std::int64_t>(reason)).bind(3, seconds(invalidity_date)).bind(4, serial.magnitude());
  s.run();
  if (m_db->changes() != 1) throw std::runtime_error("certificate " + serial.hex() + " is unknown or already revoked");
}

std::int64_t CaStore::count_certificates(int generation, std::optional<bool> revoked) {
  std::string sql = "SELECT COUNT(*) FROM certificates WHERE generation = ?1";
  if (revoked) sql += *revoked ? " AND revoked_at IS NOT NULL" : " AND revoked_at IS NULL";
  sql::Statement s = m_db->prepare(sql.c_str());
  s.bind(1, generation);
  s.step();
  return s.integer(0);
}

std::vector<pki::Serial> CaStore::valid_serials(int generation) {
  sql::Statement s = m_db->prepare("SELECT serial FROM certificates WHERE generation = ?1 AND revoked_at IS NULL");
  s.bind(1, generation);
  std::vector<pki::Serial> out;
  while (s.step()) out.emplace_back(s.blob_view(0));
  return out;
}

std::vector<CertificateRecord> CaStore::certificates_of_kind(CertificateKind kind) {
  sql::Statement s = m_db->prepare((std::string("SELECT ") + kCertificateColumns + " FROM certificates WHERE kind = ?1 ORDER BY not_before").c_str());
  s.bind(1, std::string(kind_name(kind)));
  std::vector<CertificateRecord> out;
  while (s.step()) out.push_back(read_certificate(s));
  return out;
}

std::vector<CertificateRecord> CaStore::certificates_of_profile(const std::string& profile) {
  sql::Statement s = m_db->prepare((std::string("SELECT ") + kCertificateColumns + " FROM certificates WHERE profile = ?1 ORDER BY not_before").c_str());
  s.bind(1, profile);
  std::vector<CertificateRecord> out;
  while (s.step()) out.push_back(read_certificate(s));
  return out;
}

void CaStore::for_each_certificate(const CertificateFilter& f, const std::function<void(const CertificateRecord&)>& fn) {
  std::string sql = std::string("SELECT ") + kCertificateColumns + " FROM certificates WHERE 1";
  if (f.serial) sql += " AND serial = ?8";
  if (f.subject_contains) sql += " AND instr(subject, ?1) > 0";
  if (f.profile) sql += " AND profile = ?2";
  if (f.generation) sql += " AND generation = ?3";
  if (f.batch_id) sql += " AND lower(batch_id) = lower(?4)";
  if (f.issued_from) sql += " AND not_before >= ?5";
  if (f.issued_until) sql += " AND not_before < ?6";
  switch (f.status) {
    case CertificateFilter::Status::kAny: break;
    case CertificateFilter::Status::kValid: sql += " AND revoked_at IS NULL AND not_after > ?7"; break;
    case CertificateFilter::Status::kRevoked: sql += " AND revoked_at IS NOT NULL"; break;
    case CertificateFilter::Status::kExpired: sql += " AND revoked_at IS NULL AND not_after <= ?7"; break;
  }
  sql += " ORDER BY not_before, serial";
  sql::Statement s = m_db->prepare(sql.c_str());
  if (f.serial) s.bind(8, f.serial->magnitude());
  if (f.subject_contains) s.bind(1, *f.subject_contains);
  if (f.profile) s.bind(2, *f.profile);
  if (f.generation) s.bind(3, *f.generation);
  if (f.batch_id) s.bind(4, *f.batch_id);
  if (f.issued_from) s.bind(5, seconds(*f.issued_from));
  if (f.issued_until) s.bind(6, seconds(*f.issued_until));
  if (f.status == CertificateFilter::Status::kValid || f.status == CertificateFilter::Status::kExpired) s.bind(7, seconds(f.at));
  while (s.step()) fn(read_certificate(s));
}

std::string CaStore::assign_partition(int generation, const std::string& group, const std::map<std::string, int>& pending) {
  if (!group.empty()) return group;
  auto cached = m_newest_partition.find(generation);
  if (cached == m_newest_partition.end()) {
    sql::Statement s = m_db->prepare(
        "SELECT partition, COUNT(*) FROM certificates WHERE generation = ?1 AND kind = 'subscriber' AND partition GLOB 'CRL[0-9]*' "
        "GROUP BY partition ORDER BY CAST(SUBSTR(partition, 4) AS INTEGER) DESC LIMIT 1");
    s.bind(1, generation);
    std::pair<int, std::int64_t> found{1, 0};
    if (s.step()) found = {std::stoi(s.text(0).substr(3)), s.integer(1)};
    cached = m_newest_partition.emplace(generation, found).first;
  }
  int newest = cached->second.first;
  std::int64_t count = cached->second.second;
  // Partitions planned in this batch beyond the newest recorded one.
  for (const auto& [name, planned] : pending) {
    if (name.rfind("CRL", 0) != 0 || name.size() < 4 || name.find_first_not_of("0123456789", 3) != std::string::npos) continue;
    const int n = std::stoi(name.substr(3));
    if (n > newest) {
      newest = n;
      count = 0;
    }
  }
  const std::string name = "CRL" + std::to_string(newest);
  if (const auto it = pending.find(name); it != pending.end()) count += it->second;
  return count < m_config.partition_size ? name : "CRL" + std::to_string(newest + 1);
}

std::vector<std::string> CaStore::partitions(int generation) {
  sql::Statement s = m_db->prepare(
      "SELECT partition FROM certificates WHERE generation = ?1 AND kind = 'subscriber' UNION "
      "SELECT partition FROM revocations_without_certificate WHERE generation = ?1 AND kind = 'subscriber' AND partition IS NOT NULL "
      "ORDER BY partition");
  s.bind(1, generation);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

namespace {
// ?1 is the time; ?2 the generation and ?3 the partition, where the coverage names them.
sql::Statement revoked_query(sql::Database& db, const char* columns, const CaStore::ListCoverage& c, pki::Time now) {
  std::string text = std::string("SELECT ") + columns + " FROM certificates WHERE revoked_at IS NOT NULL AND not_after >= ?1";
  if (c.generation) text += " AND generation = ?2";
  if (c.kind == CaStore::ListKind::kPartition) text += " AND kind = 'subscriber'";
  if (c.kind == CaStore::ListKind::kPartition && c.partition) text += " AND partition = ?3";
  if (c.kind == CaStore::ListKind::kArl) text += " AND kind != 'subscriber'";
  // Revocations taken in without their certificate: what is unknown of them widens, never
  // narrows, the lists that carry them (a serial too many on a list harms nobody; one missing
  // un-revokes). The second table is read only when it holds anything.
  if (sql::Statement any = db.prepare("SELECT 1 FROM revocations_without_certificate LIMIT 1"); any.step()) {
    std::string more = " FROM revocations_without_certificate WHERE (not_after IS NULL OR not_after >= ?1)";
    if (c.generation) more += " AND (generation IS NULL OR generation = ?2)";
    if (c.kind == CaStore::ListKind::kPartition) more += " AND (kind IS NULL OR kind = 'subscriber')";
    if (c.kind == CaStore::ListKind::kPartition && c.partition) more += " AND (partition IS NULL OR partition = ?3)";
    if (c.kind == CaStore::ListKind::kArl) more += " AND (kind IS NULL OR kind != 'subscriber')";
    const std::string cols = columns;
    if (cols == "COUNT(*)") {
      text = "SELECT (SELECT COUNT(*)" + text.substr(text.find(" FROM ")) + ") + (SELECT COUNT(*)" + more + ")";
    } else {
      text += " UNION ALL SELECT " + cols + more;
    }
  }
  sql::Statement s = db.prepare(text.c_str());
  s.bind(1, seconds(now));
  if (c.generation) s.bind(2, *c.generation);
  if (c.kind == CaStore::ListKind::kPartition && c.partition) s.bind(3, *c.partition);
  return s;
}
}  // namespace

std::size_t CaStore::count_revoked(const ListCoverage& coverage, pki::Time now) {
  sql::Statement s = revoked_query(*m_db, "COUNT(*)", coverage, now);
  s.step();
  return static_cast<std::size_t>(s.integer(0));
}

void CaStore::for_each_revoked(const ListCoverage& coverage, pki::Time now,
                               const std::function<void(pki::RevokedCertificate&&)>& entry) {
  sql::Statement s = revoked_query(*m_db, "serial, revoked_at, reason, invalidity", coverage, now);
  while (s.step()) {
    pki::RevokedCertificate r;
    r.serial = pki::Serial(s.blob_view(0));
    r.revocation_date = from_seconds(s.integer(1));
    if (!s.is_null(2)) r.reason = static_cast<pki::ReasonCode>(s.integer(2));
    if (!s.is_null(3)) r.invalidity_date = from_seconds(s.integer(3));
    entry(std::move(r));
  }
}

// ----- lists ---------------------------------------------------------------------------------

std::uint64_t CaStore::reserve_crl_number(const std::string& scope, const std::string& continue_from) {
  sql::Transaction txn(*m_db);
  // A new sequence that takes over from older ones starts above all of them: numbers of one scope
  // only rise (RFC 5280 5.2.3).
  // A restore sets a floor (crl_number_floor): a sequence the set did not know may have been
  // used by the lost signer, so it too starts above every number seen.
  if (continue_from.empty()) {
    m_db->prepare("INSERT OR IGNORE INTO crl_numbers VALUES (?1, (SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta "
                  "WHERE key = 'crl_number_floor'))")
        .bind(1, scope)
        .run();
  } else {
    m_db->prepare("INSERT OR IGNORE INTO crl_numbers VALUES (?1, MAX((SELECT COALESCE(MAX(last), 0) FROM crl_numbers WHERE scope GLOB ?2), "
                  "(SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'crl_number_floor')))")
        .bind(1, scope)
        .bind(2, continue_from)
        .run();
  }
  m_db->prepare("UPDATE crl_numbers SET last = last + 1 WHERE scope = ?1").bind(1, scope).run();
  sql::Statement s = m_db->prepare("SELECT last FROM crl_numbers WHERE scope = ?1");
  s.bind(1, scope);
  s.step();
  const auto number = static_cast<std::uint64_t>(s.integer(0));
  s.reset();
  txn.commit();
  return number;
}

std::uint64_t CaStore::peek_crl_number(const std::string& scope, const std::string& continue_from) {
  sql::Statement s = m_db->prepare(
      "SELECT COALESCE((SELECT last FROM crl_numbers WHERE scope = ?1), MAX((SELECT COALESCE(MAX(last), 0) FROM crl_numbers "
      "WHERE ?2 != '' AND scope GLOB ?2), (SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'crl_number_floor')))");
  s.bind(1, scope).bind(2, continue_from);
  s.step();
  return static_cast<std::uint64_t>(s.integer(0)) + 1;
}

void CaStore::set_follow_up(const std::string& key, const std::string& text) {
  m_db->prepare("INSERT OR REPLACE INTO meta VALUES (?1, ?2)").bind(1, "follow-up:" + key).bind(2, text).run();
}

void CaStore::clear_follow_up(const std::string& key) {
  m_db->prepare("DELETE FROM meta WHERE key = ?1").bind(1, "follow-up:" + key).run();
}

std::vector<std::string> CaStore::follow_ups() {
  sql::Statement s = m_db->prepare("SELECT value FROM meta WHERE key GLOB 'follow-up:*' ORDER BY key");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

void CaStore::store_crl(const StoredCrl& crl) {
  m_db->prepare("INSERT INTO crls VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(1, crl.scope)
      .bind(2, static_cast<std::int64_t>(crl.number))
      .bind(3, seconds(crl.this_update))
      .bind(4, seconds(crl.next_update))
      .bind(5, BytesView(crl.der))
      .run();
}

std::optional<StoredCrl> CaStore::latest_crl(const std::string& scope) {
  sql::Statement s = m_db->prepare("SELECT scope, number, this_update, next_update, der FROM crls WHERE scope = ?1 ORDER BY number DESC LIMIT 1");
  s.bind(1, scope);
  if (!s.step()) return std::nullopt;
  return StoredCrl{s.text(0), static_cast<std::uint64_t>(s.integer(1)), from_seconds(s.integer(2)), from_seconds(s.integer(3)), s.blob(4)};
}

std::vector<StoredCrl> CaStore::latest_crls(pki::Time at, ListContent content) {
  const std::string sql = std::string("SELECT c.scope, c.number, c.this_update, c.next_update, ") +
                          (content == ListContent::kWithDer ? "c.der" : "x''") +
                          " FROM crls c JOIN (SELECT scope, MAX(number) AS number FROM crls WHERE this_update <= ?1 GROUP BY scope) m "
                          "ON c.scope = m.scope AND c.number = m.number ORDER BY c.scope";
  sql::Statement s = m_db->prepare(sql.c_str());
  s.bind(1, seconds(at));
  std::vector<StoredCrl> out;
  while (s.step()) {
    out.push_back({s.text(0), static_cast<std::uint64_t>(s.integer(1)), from_seconds(s.integer(2)), from_seconds(s.integer(3)), s.blob(4)});
  }
  return out;
}

// ----- cross-certificates --------------------------------------------------------------------

void CaStore::record_cross_pair(const CrossPair& pair, pki::Time when) {
  m_db->prepare("INSERT INTO cross_received VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(1, pair.issued_to_us_serial.magnitude())
      .bind(2, pair.bridge)
      .bind(3, BytesView(pair.issued_to_us))
      .bind(4, BytesView(pair.issued_by_us))
      .bind(5, seconds(when))
      .run();
}

std::vector<CrossPair> CaStore::cross_pairs() {
  sql::Statement s = m_db->prepare("SELECT serial, issuer, der, issued_by_us FROM cross_received ORDER BY imported");
  std::vector<CrossPair> out;
  while (s.step()) out.push_back({pki::Serial(s.blob_view(0)), s.text(1), s.blob(2), s.blob(3)});
  return out;
}

// ----- batches and RA keys -------------------------------------------------------------------

std::uint64_t CaStore::highest_crl_number() {
  sql::Statement s = m_db->prepare("SELECT MAX((SELECT COALESCE(MAX(last), 0) FROM crl_numbers), (SELECT COALESCE(MAX(number), 0) FROM crls), "
                                   "(SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'crl_number_floor'))");
  s.step();
  return static_cast<std::uint64_t>(s.integer(0));
}

void CaStore::raise_crl_numbers(std::uint64_t floor) {
  const auto f = static_cast<std::int64_t>(floor);
  m_db->prepare("UPDATE crl_numbers SET last = ?1 WHERE last < ?1").bind(1, f).run();
  m_db->prepare("INSERT OR REPLACE INTO meta VALUES ('crl_number_floor', ?1)").bind(1, std::to_string(floor)).run();
}

std::uint64_t CaStore::result_sequence() {
  sql::Statement s = m_db->prepare("SELECT value FROM meta WHERE key = 'result_sequence'");
  return s.step() ? static_cast<std::uint64_t>(std::stoull(s.text(0))) : 0;
}

void CaStore::raise_result_sequence(std::uint64_t sequence) {
  if (sequence <= result_sequence()) return;
  m_db->prepare("INSERT OR REPLACE INTO meta VALUES ('result_sequence', ?1)").bind(1, std::to_string(sequence)).run();
}

void CaStore::add_revocation_without_certificate(const RevocationWithoutCertificate& r) {
  m_db->prepare("INSERT OR IGNORE INTO revocations_without_certificate VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8)")
      .bind(1, r.entry.serial.magnitude())
      .bind(2, r.generation ? std::optional<std::int64_t>(*r.generation) : std::nullopt)
      .bind(3, r.kind)
      .bind(4, r.partition)
      .bind(5, seconds(r.entry.revocation_date))
      .bind(6, r.entry.reason ? std::optional<std::int64_t>(static_cast<std::int64_t>(*r.entry.reason)) : std::nullopt)
      .bind(7, seconds(r.entry.invalidity_date))
      .bind(8, r.source)
      .run();
}

std::int64_t CaStore::count_revocations_without_certificate() {
  sql::Statement s = m_db->prepare("SELECT COUNT(*) FROM revocations_without_certificate");
  s.step();
  return s.integer(0);
}

std::uint64_t CaStore::next_result_sequence() {
  sql::Transaction txn(*m_db);
  m_db->prepare("INSERT OR IGNORE INTO meta VALUES ('result_sequence', '0')").run();
  m_db->prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'result_sequence'").run();
  sql::Statement s = m_db->prepare("SELECT value FROM meta WHERE key = 'result_sequence'");
  s.step();
  const auto n = static_cast<std::uint64_t>(std::stoull(s.text(0)));
  s.reset();
  txn.commit();
  return n;
}

bool CaStore::batch_seen(const std::string& batch_id) {
  sql::Statement s = m_db->prepare("SELECT 1 FROM batches WHERE batch_id = ?1");
  s.bind(1, batch_id);
  return s.step();
}

void CaStore::record_batch(const std::string& batch_id, pki::Time when, int items, int issued, int refused) {
  m_db->prepare("INSERT INTO batches VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(1, batch_id)
      .bind(2, seconds(when))
      .bind(3, items)
      .bind(4, issued)
      .bind(5, refused)
      .run();
}

void CaStore::record_batch_result(const std::string& batch_id, BytesView result_der) {
  m_db->prepare("INSERT OR REPLACE INTO batch_results VALUES (?1, ?2)").bind(1, batch_id).bind(2, result_der).run();
}

std::optional<Bytes> CaStore::batch_result(const std::string& batch_id) {
  sql::Statement s = m_db->prepare("SELECT result FROM batch_results WHERE batch_id = ?1");
  s.bind(1, batch_id);
  if (!s.step()) return std::nullopt;
  return s.blob(0);
}

void CaStore::register_ra_key(const std::string& name, BytesView spki, pki::Time when) {
  m_db->prepare("INSERT INTO ra_keys VALUES (?1, ?2, 1, ?3)").bind(1, name).bind(2, spki).bind(3, seconds(when)).run();
}

std::optional<Bytes> CaStore::ra_key(const std::string& name) {
  sql::Statement s = m_db->prepare("SELECT spki FROM ra_keys WHERE name = ?1 AND active = 1");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return s.blob(0);
}

}  // namespace hanko::offline
