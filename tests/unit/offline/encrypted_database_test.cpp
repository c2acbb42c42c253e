// R42: the SQL layer's encryption (SQLCipher) and the process's database keyring.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "hanko/common/sqlite.h"
#include "hanko/offline/ca_store.h"
#include "hanko/offline/database_key.h"
#include "hanko/offline/profiles.h"

namespace hanko::offline {
namespace {

namespace fs = std::filesystem;

class EncryptedDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("hanko-encdb-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override {
    fs::remove_all(m_dir);
    DatabaseKeys::forget_all();
  }
  std::string path(const char* name) const { return (m_dir / name).string(); }
  static std::string contents(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static void write_row(sql::Database& db) {
    db.exec("CREATE TABLE t (x TEXT)");
    db.exec("INSERT INTO t VALUES ('山田太郎 secret-row')");
  }
  fs::path m_dir;
  const Bytes m_key = Bytes(32, 0x42);
  const Bytes m_other = Bytes(32, 0x43);
};

TEST_F(EncryptedDatabaseTest, ThisBuildEncrypts) { EXPECT_TRUE(sql::Database::encryption_available()); }

TEST_F(EncryptedDatabaseTest, RowsAreNotInTheFileAndTheKeyOpensThem) {
  {
    sql::Database db(path("a.db"), true, m_key);
    write_row(db);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  EXPECT_EQ(contents(path("a.db")).find("secret-row"), std::string::npos);
  EXPECT_NE(contents(path("a.db")).substr(0, 15), "SQLite format 3");
  sql::Database again(path("a.db"), false, m_key);
  sql::Statement s = again.prepare("SELECT x FROM t");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.text(0), "山田太郎 secret-row");
  sql::Statement page = again.prepare("PRAGMA cipher_page_size");
  ASSERT_TRUE(page.step());
  EXPECT_EQ(page.integer(0), 4096);
}

TEST_F(EncryptedDatabaseTest, AWrongKeyOrNoKeyIsNotADatabase) {
  { sql::Database db(path("a.db"), true, m_key); write_row(db); }
  try {
    sql::Database db(path("a.db"), false, m_other);
    FAIL() << "opened with another key";
  } catch (const sql::Error& e) {
    EXPECT_EQ(e.code() & 0xff, SQLITE_NOTADB) << e.what();
  }
  EXPECT_THROW(sql::Database(path("a.db"), false), sql::Error);
}

TEST_F(EncryptedDatabaseTest, APlainDatabaseRefusesAKey) {
  { sql::Database db(path("p.db"), true); write_row(db); }
  EXPECT_THROW(sql::Database(path("p.db"), false, m_key), sql::Error);
}

TEST_F(EncryptedDatabaseTest, ExportReEncryptsAndRefusesAnExistingFile) {
  { sql::Database db(path("p.db"), true); write_row(db); }
  sql::Database plain(path("p.db"), false);
  plain.export_to(path("e.db"), m_key);
  EXPECT_THROW(plain.export_to(path("e.db"), m_key), sql::Error);  // never overwrites
  EXPECT_EQ(contents(path("e.db")).find("secret-row"), std::string::npos);
  sql::Database encrypted(path("e.db"), false, m_key);
  sql::Statement page = encrypted.prepare("PRAGMA cipher_page_size");
  ASSERT_TRUE(page.step());
  EXPECT_EQ(page.integer(0), 4096) << "an encrypted copy has the same page size as a new database";
  encrypted.export_to(path("back.db"), {});
  sql::Database back(path("back.db"), false);
  sql::Statement s = back.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.integer(0), 1);
}

TEST_F(EncryptedDatabaseTest, KeyringRemembersAndRefusesWithoutASource) {
  CaConfig config;
  config.token = "t";
  config.database_key = "ca-database";
  EXPECT_THROW(DatabaseKeys::for_config(config), PolicyError);
  DatabaseKeys::remember(config, hsm::Secret(BytesView(m_key)));
  const hsm::Secret got = DatabaseKeys::for_config(config);
  EXPECT_TRUE(std::equal(got.view().begin(), got.view().end(), m_key.begin(), m_key.end()));
  CaConfig other = config;
  other.token = "u";
  int asked = 0;
  DatabaseKeys::set_source([&](const CaConfig&) {
    ++asked;
    return hsm::Secret(BytesView(m_other));
  });
  DatabaseKeys::for_config(other);
  DatabaseKeys::for_config(other);
  EXPECT_EQ(asked, 1) << "the source logs in once per token and label";
}

}  // namespace
}  // namespace hanko::offline
