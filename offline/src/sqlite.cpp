#include "hanko/offline/sqlite.h"

namespace hanko::offline::sql {

Database::Database(const std::string& path, bool create) {
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

}  // namespace hanko::offline::sql
