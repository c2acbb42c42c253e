#pragma once
// The people who may act on the CA and their roles (R50, R51). Each person is registered with a
// credential: a passphrase kept only as a scrypt verifier (salted, memory-hard), so a stolen
// database does not give away anyone's passphrase. Custodians prove themselves with their sealed
// share instead (custody.h). Role changes are audited by the caller, in the same transaction.
#include <optional>
#include <string>
#include <vector>

#include "hanko/common/sqlite.h"
#include "hanko/hsm/secret.h"
#include "hanko/pki/time.h"

namespace hanko::offline {

// The roles of R50, plus the custodian of a key share (R5) and a witness (present, no rights).
enum class Role { kCaAdministrator, kRaOperator, kAuditor, kSecurityOfficer, kManager, kCustodian, kWitness };

const char* role_name(Role role);             // "ca-admin", "ra-operator", ...
const char* role_title(Role role);            // "CA administrator", ...
std::optional<Role> parse_role(std::string_view name);

// R50: a CA administrator cannot register or revoke subscribers, an RA operator cannot operate
// the CA system, and the log inspector checks both; a manager approves but operates nothing.
// Throws PolicyError naming the conflicting pair.
void check_separation_of_duties(const std::string& person, const std::vector<Role>& roles);

struct Person {
  std::string name;
  std::vector<Role> roles;
  pki::Time enrolled{};
  bool has_passphrase = false;
  bool holds(Role r) const;
};

// A passphrase verifier: the salt and the scrypt output, computed away from the database.
struct Credential {
  Bytes salt;
  Bytes verifier;
  static Credential make(const hsm::Secret& passphrase, BytesView salt);
  bool matches(const hsm::Secret& passphrase) const;  // constant-time comparison
};

class PeopleRegistry {
 public:
  static constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS people (
  name TEXT PRIMARY KEY,
  roles TEXT NOT NULL,
  salt BLOB,
  verifier BLOB,
  enrolled INTEGER NOT NULL);
)sql";

  explicit PeopleRegistry(sql::Database& db);

  // Registers or replaces a person (within the caller's transaction); checks separation of duties.
  void enrol(const std::string& name, const std::vector<Role>& roles, const std::optional<Credential>& credential,
             pki::Time now);
  std::optional<Person> find(const std::string& name);
  std::vector<Person> list();
  // True when the person is registered with a passphrase and it matches.
  bool check_passphrase(const std::string& name, const hsm::Secret& passphrase);

 private:
  sql::Database& m_db;
};

std::string roles_text(const std::vector<Role>& roles);  // "ca-admin, witness"

// R50: the roles a CA cannot work without, and what nobody can do while one is empty.
struct NeededRole {
  Role role;
  const char* work;  // "key operations"
};
const std::vector<NeededRole>& roles_the_ca_needs();

}  // namespace hanko::offline
