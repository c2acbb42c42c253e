#pragma once
// The repositories the relay publishes to. Each write is a replace (never a delete first), and
// each can tell the number of the list it serves now, read back from the repository itself, so
// the relay never sends a repository backwards even if its own database were restored from an
// old backup.
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hanko/pki/bytes.h"
#include "hanko/pki/time.h"

typedef struct ldap LDAP;

namespace hanko::relay {

// transient: retry with back-off (repository down, disk full); permanent: a dead letter.
class PublishError : public std::runtime_error {
 public:
  PublishError(const std::string& what, bool transient) : std::runtime_error(what), m_transient(transient) {}
  bool transient() const noexcept { return m_transient; }

 private:
  bool m_transient;
};

// Files in a document root, each written to a temporary name, fsynced and renamed; the file's
// modification time is the list's thisUpdate so any web server sends the right Last-Modified.
class HttpRepository {
 public:
  explicit HttpRepository(std::filesystem::path doc_root);
  void write(const std::string& name, BytesView data, std::optional<pki::Time> modified);
  std::optional<std::uint64_t> live_number(const std::string& scope) const;
  const std::filesystem::path& doc_root() const noexcept { return m_root; }

 private:
  std::filesystem::path m_root;
};

// An LDAPv3 directory through libldap (synchronous calls with timeouts, on the publishing thread).
class LdapRepository {
 public:
  LdapRepository(std::string uri, std::string bind_dn, std::string password, std::string ca_dn);
  LdapRepository(const LdapRepository&) = delete;
  LdapRepository& operator=(const LdapRepository&) = delete;
  ~LdapRepository() noexcept;

  // Replaces every value of `attribute` (e.g. "certificateRevocationList;binary") of `dn`. When
  // the entry is missing and `object_class` is given, adds it (cRLDistributionPoint with cn).
  void replace(const std::string& dn, const std::string& attribute, const std::vector<Bytes>& values,
               const std::string& object_class = {}, const std::string& cn = {});
  // The first value of an attribute, or nothing when the entry or the attribute is missing.
  std::optional<Bytes> read(const std::string& dn, const std::string& attribute);
  std::string scope_dn(const std::string& scope) const { return "cn=" + scope + "," + m_ca_dn; }
  const std::string& ca_dn() const noexcept { return m_ca_dn; }
  bool connected() const noexcept { return m_ld != nullptr; }

 private:
  void connect();
  void drop() noexcept;
  [[noreturn]] void fail(const std::string& what, int rc);

  std::string m_uri;
  std::string m_bind_dn;
  std::string m_password;
  std::string m_ca_dn;
  LDAP* m_ld = nullptr;
};

}  // namespace hanko::relay
