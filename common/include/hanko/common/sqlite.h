#pragma once
// A thin RAII layer over SQLite's C API: the connection, prepared statements and transactions.
// Errors name the SQL that failed and SQLite's own message. Built twice: against SQLCipher for
// the signer (HANKO_SQLCIPHER: databases may be encrypted, R42) and against SQLite for the relay.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "hanko/pki/bytes.h"

namespace hanko::sql {

class Error : public std::runtime_error {
 public:
  Error(const std::string& what, int code) : std::runtime_error(what), m_code(code) {}
  int code() const noexcept { return m_code; }

 private:
  int m_code;
};

class Statement;

class Database {
 public:
  // Opens (creating when `create`) a database with full synchronous writes and WAL. A non-empty
  // `key` (32 bytes) opens or creates it encrypted (SQLCipher, AES-256 and an HMAC per page);
  // a wrong key, or a plain file opened with a key, throws Error with SQLITE_NOTADB.
  Database(const std::string& path, bool create, BytesView key = {});
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() noexcept;

  void exec(const char* sql);
  Statement prepare(const char* sql);
  sqlite3* handle() const noexcept { return m_db; }
  std::int64_t changes() const noexcept { return sqlite3_changes(m_db); }

  // Whether this build can encrypt (the signer's, linked with SQLCipher).
  static bool encryption_available() noexcept;
  // A consistent copy of the whole database in a new file, encrypted under `key` (32 bytes) or
  // plain when `key` is empty. Run it while no other writer can interfere.
  void export_to(const std::string& path, BytesView key);

 private:
  sqlite3* m_db = nullptr;
};

class Statement {
 public:
  Statement(sqlite3* db, const char* sql);
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() noexcept;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, BytesView value);
  Statement& bind_null(int index);
  // Text bound without a copy (SQLITE_STATIC), for secrets the caller wipes after the statement.
  Statement& bind_secret(int index, BytesView text);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Steps once: true while a row is available.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  void reset();

  bool is_null(int column) const;
  std::int64_t integer(int column) const;
  std::string text(int column) const;
  Bytes blob(int column) const;
  BytesView blob_view(int column) const;  // valid until the next step
  std::optional<std::int64_t> optional_integer(int column) const;

 private:
  [[noreturn]] void fail(const char* what, int rc) const;
  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back in the destructor unless committed.
class Transaction {
 public:
  explicit Transaction(Database& db);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() noexcept;
  void commit();

 private:
  Database& m_db;
  bool m_done = false;
};

}  // namespace hanko::sql
