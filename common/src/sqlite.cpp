#include "hanko/common/sqlite.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hanko/hsm/secret.h"

namespace hanko::sql {

namespace {

#ifdef HANKO_SQLCIPHER
// SQLCipher's raw-key form, x'<64 hex digits>': the 32 bytes are the AES key itself, no
// passphrase stretching (the key is random and comes from the token). Wiped after use.
hsm::Secret raw_key_spec(BytesView key) {
  if (key.size() != 32) throw Error("database key must be 32 bytes", SQLITE_MISUSE);
  static const char* const kHex = "0123456789abcdef";
  Bytes spec(3 + 64);
  spec[0] = 'x';
  spec[1] = '\'';
  for (std::size_t i = 0; i < 32; ++i) {
    spec[2 + 2 * i] = static_cast<std::uint8_t>(kHex[key[i] >> 4]);
    spec[3 + 2 * i] = static_cast<std::uint8_t>(kHex[key[i] & 15]);
  }
  spec[66] = '\'';
  hsm::Secret out{BytesView(spec)};
  std::fill(spec.begin(), spec.end(), std::uint8_t{0});
  return out;
}

// 4 KiB pages for every encrypted database and copy (SQLCipher 3 defaults to 1 KiB: four times
// the AES and HMAC calls when a fullCRL walks a million rows; 1.95 -> 1.47 s). A file-format
// setting: set before every key, and before every ATTACH of a copy, so they always agree.
void use_4k_cipher_pages(sqlite3* db) {
  sqlite3_exec(db, "PRAGMA cipher_default_page_size = 4096", nullptr, nullptr, nullptr);
}
#endif

}  // namespace

#ifdef HANKO_SQLCIPHER
bool Database::encryption_available() noexcept { return true; }
#else
bool Database::encryption_available() noexcept { return false; }
#endif

Database::Database(const std::string& path, bool create, BytesView key) {
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    sqlite3_close(m_db);
    m_db = nullptr;
    throw Error("cannot open database '" + path + "': " + message, rc);
  }
  sqlite3_extended_result_codes(m_db, 1);
  sqlite3_busy_timeout(m_db, 5000);
  if (!key.empty()) {
#ifdef HANKO_SQLCIPHER
    use_4k_cipher_pages(m_db);
    const hsm::Secret spec = raw_key_spec(key);
    if (const int krc = sqlite3_key(m_db, spec.view().data(), static_cast<int>(spec.view().size())); krc != SQLITE_OK) {
      sqlite3_close(m_db);
      m_db = nullptr;
      throw Error("cannot set the key of database '" + path + "'", krc);
    }
#else
    sqlite3_close(m_db);
    m_db = nullptr;
    throw Error("database '" + path + "' is encrypted, and this program's SQLite cannot decrypt", SQLITE_NOTADB);
#endif
  }
  // The first read proves the key (SQLCipher checks each page's HMAC): a wrong key fails here.
  if (const int prc = sqlite3_exec(m_db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr); prc != SQLITE_OK) {
    const std::string message = sqlite3_errmsg(m_db);
    sqlite3_close(m_db);
    m_db = nullptr;
    throw Error("cannot read database '" + path + "': " + message, prc);
  }
  // FULL: every commit reaches the disk before it returns; a power cut loses nothing committed.
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
  exec("PRAGMA secure_delete=ON");
}

Database::~Database() noexcept { sqlite3_close(m_db); }

void Database::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw Error(std::string("database: ") + text + " (in: " + sql + ")", rc);
  }
}

Statement Database::prepare(const char* sql) { return Statement(m_db, sql); }

void Database::export_to(const std::string& path, BytesView key) {
#ifdef HANKO_SQLCIPHER
  // ATTACH opens with this connection's flags, which may lack CREATE; the copy is owner-only.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw Error("cannot create '" + path + "': " + std::strerror(errno), SQLITE_CANTOPEN);
  ::close(fd);
  // ATTACH ... KEY with bound parameters: the key never becomes SQL text.
  const hsm::Secret spec = key.empty() ? hsm::Secret() : raw_key_spec(key);
  use_4k_cipher_pages(m_db);
  Statement attach(m_db, "ATTACH DATABASE ?1 AS export KEY ?2");
  attach.bind(1, path).bind_secret(2, spec.view());
  attach.run();
  try {
    exec("SELECT sqlcipher_export('export')");
  } catch (...) {
    sqlite3_exec(m_db, "DETACH DATABASE export", nullptr, nullptr, nullptr);
    throw;
  }
  exec("DETACH DATABASE export");
#else
  // Only the signer copies its database; the relay's build has no use for it.
  (void)key;
  throw Error("cannot copy '" + path + "': copies are made by the signer's SQLCipher build", SQLITE_MISUSE);
#endif
}

Statement::Statement(sqlite3* db, const char* sql) : m_db(db) {
  const int rc = sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr);
  if (rc != SQLITE_OK) throw Error(std::string("database: ") + sqlite3_errmsg(db) + " (in: " + sql + ")", rc);
}

Statement::Statement(Statement&& other) noexcept : m_db(other.m_db), m_stmt(other.m_stmt) { other.m_stmt = nullptr; }

Statement::~Statement() noexcept { sqlite3_finalize(m_stmt); }

void Statement::fail(const char* what, int rc) const {
  throw Error(std::string("database: ") + what + ": " + sqlite3_errmsg(m_db) + " (in: " + sqlite3_sql(m_stmt) + ")", rc);
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (const int rc = sqlite3_bind_int64(m_stmt, index, value); rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  if (const int rc = sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT); rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int index, BytesView value) {
  // A zero-length blob must not turn into NULL. SQLITE_STATIC: no copy of a 50 MB list; callers
  // keep the bytes alive until the statement has run (every caller binds and runs at once).
  static const std::uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  if (const int rc = sqlite3_bind_blob64(m_stmt, index, data, value.size(), SQLITE_STATIC); rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind_secret(int index, BytesView text) {
  static const char kEmpty = 0;
  const char* data = text.empty() ? &kEmpty : reinterpret_cast<const char*>(text.data());
  if (const int rc = sqlite3_bind_text(m_stmt, index, data, static_cast<int>(text.size()), SQLITE_STATIC); rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (const int rc = sqlite3_bind_null(m_stmt, index); rc != SQLITE_OK) fail("bind", rc);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail("step", rc);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(m_stmt, column) == SQLITE_NULL; }
std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(m_stmt, column); }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(m_stmt, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, column))) : std::string();
}

BytesView Statement::blob_view(int column) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, column));
  return p ? BytesView(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, column))) : BytesView();
}

Bytes Statement::blob(int column) const {
  const BytesView v = blob_view(column);
  return Bytes(v.begin(), v.end());
}

std::optional<std::int64_t> Statement::optional_integer(int column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}

Transaction::Transaction(Database& db) : m_db(db) { m_db.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() noexcept {
  if (!m_done) sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  m_db.exec("COMMIT");
  m_done = true;
}

}  // namespace hanko::sql
