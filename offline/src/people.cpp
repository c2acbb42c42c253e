#include "hanko/offline/people.h"

#include <cryptopp/misc.h>
#include <cryptopp/scrypt.h>

#include <algorithm>

#include "hanko/offline/profiles.h"

namespace hanko::offline {

namespace {

// The same work factor as the custodians' shares: about 0.1 s and 32 MiB per guess.
constexpr std::uint64_t kScryptN = 1u << 15;
constexpr unsigned kScryptR = 8;
constexpr unsigned kScryptP = 1;

struct RoleNames {
  Role role;
  const char* name;
  const char* title;
};
constexpr RoleNames kRoles[] = {
    {Role::kCaAdministrator, "ca-admin", "CA administrator"},
    {Role::kRaOperator, "ra-operator", "RA operator"},
    {Role::kAuditor, "auditor", "log inspector"},
    {Role::kSecurityOfficer, "security-officer", "security officer"},
    {Role::kManager, "manager", "operations manager"},
    {Role::kCustodian, "custodian", "custodian"},
    {Role::kWitness, "witness", "witness"},
};

std::vector<Role> parse_roles_text(const std::string& text) {
  std::vector<Role> roles;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    if (auto r = parse_role(item)) roles.push_back(*r);
    start = end + 1;
  }
  return roles;
}

}  // namespace

const std::vector<NeededRole>& roles_the_ca_needs() {
  static const std::vector<NeededRole> needed{{Role::kCaAdministrator, "key operations"},
                                              {Role::kManager, "approving key operations"},
                                              {Role::kAuditor, "audit-verify and audit-export"}};
  return needed;
}

const char* role_name(Role role) {
  for (const RoleNames& r : kRoles) {
    if (r.role == role) return r.name;
  }
  return "?";
}

const char* role_title(Role role) {
  for (const RoleNames& r : kRoles) {
    if (r.role == role) return r.title;
  }
  return "?";
}

std::optional<Role> parse_role(std::string_view name) {
  for (const RoleNames& r : kRoles) {
    if (name == r.name) return r.role;
  }
  return std::nullopt;
}

std::string roles_text(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) out += (out.empty() ? "" : ", ") + std::string(role_name(r));
  return out;
}

void check_separation_of_duties(const std::string& person, const std::vector<Role>& roles) {
  const auto has = [&](Role r) { return std::find(roles.begin(), roles.end(), r) != roles.end(); };
  const std::pair<Role, Role> exclusive[] = {
      {Role::kCaAdministrator, Role::kRaOperator},  // R50: each cannot do the other's work
      {Role::kAuditor, Role::kCaAdministrator},     // the log inspector checks what others did
      {Role::kAuditor, Role::kRaOperator},
      {Role::kManager, Role::kCaAdministrator},     // the manager approves and has no system rights
      {Role::kManager, Role::kRaOperator},
  };
  for (const auto& [a, b] : exclusive) {
    if (has(a) && has(b)) {
      throw PolicyError("'" + person + "' cannot be both " + role_title(a) + " and " + role_title(b) +
                        " (separation of duties, R50); give one of the roles to someone else");
    }
  }
}

bool Person::holds(Role r) const { return std::find(roles.begin(), roles.end(), r) != roles.end(); }

Credential Credential::make(const hsm::Secret& passphrase, BytesView salt) {
  Credential c;
  c.salt.assign(salt.begin(), salt.end());
  c.verifier.resize(32);
  CryptoPP::Scrypt scrypt;
  scrypt.DeriveKey(c.verifier.data(), c.verifier.size(), passphrase.view().data(), passphrase.size(), c.salt.data(),
                   c.salt.size(), kScryptN, kScryptR, kScryptP);
  return c;
}

bool Credential::matches(const hsm::Secret& passphrase) const {
  const Credential again = make(passphrase, salt);
  return again.verifier.size() == verifier.size() &&
         CryptoPP::VerifyBufsEqual(again.verifier.data(), verifier.data(), verifier.size());
}

PeopleRegistry::PeopleRegistry(sql::Database& db) : m_db(db) { m_db.exec(kSchema); }

void PeopleRegistry::enrol(const std::string& name, const std::vector<Role>& roles,
                           const std::optional<Credential>& credential, pki::Time now) {
  if (name.empty() || name.size() > 64) throw PolicyError("a person's name must have 1 to 64 characters");
  if (roles.empty()) throw PolicyError("'" + name + "' needs at least one role");
  check_separation_of_duties(name, roles);
  m_db.prepare("INSERT OR REPLACE INTO people (name, roles, salt, verifier, enrolled) VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(1, name)
      .bind(2, roles_text(roles))
      .bind(3, credential ? std::optional<Bytes>(credential->salt) : std::nullopt)
      .bind(4, credential ? std::optional<Bytes>(credential->verifier) : std::nullopt)
      .bind(5, static_cast<std::int64_t>(now.time_since_epoch().count()))
      .run();
}

std::optional<Person> PeopleRegistry::find(const std::string& name) {
  sql::Statement s = m_db.prepare("SELECT name, roles, enrolled, verifier IS NOT NULL FROM people WHERE name = ?1");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  Person p;
  p.name = s.text(0);
  p.roles = parse_roles_text(s.text(1));
  p.enrolled = pki::Time(std::chrono::seconds(s.integer(2)));
  p.has_passphrase = s.integer(3) != 0;
  return p;
}

std::vector<Person> PeopleRegistry::list() {
  std::vector<Person> out;
  sql::Statement s = m_db.prepare("SELECT name FROM people ORDER BY name");
  while (s.step()) out.push_back(*find(s.text(0)));
  return out;
}

bool PeopleRegistry::check_passphrase(const std::string& name, const hsm::Secret& passphrase) {
  sql::Statement s = m_db.prepare("SELECT salt, verifier FROM people WHERE name = ?1 AND verifier IS NOT NULL");
  s.bind(1, name);
  if (!s.step()) return false;
  Credential c;
  c.salt = s.blob(0);
  c.verifier = s.blob(1);
  return c.matches(passphrase);
}

}  // namespace hanko::offline
