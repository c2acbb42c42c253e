#include "publishers.h"

#include <fcntl.h>
#include <ldap.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "hanko/common/files.h"
#include "hanko/pki/crl.h"

namespace hanko::relay {

namespace fs = std::filesystem;

HttpRepository::HttpRepository(fs::path doc_root) : m_root(std::move(doc_root)) { fs::create_directories(m_root); }

void HttpRepository::write(const std::string& name, BytesView data, std::optional<pki::Time> modified) {
  const fs::path target = m_root / name;
  try {
    hanko::write_file_atomic(target, data, 0644);
  } catch (const std::exception& e) {
    // ENOSPC, EIO, a read-only mount: the old file is still served intact; try again later.
    throw PublishError(std::string("document root: ") + e.what(), true);
  }
  if (modified) {
    timespec times[2];
    times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(modified->time_since_epoch().count());
    times[0].tv_nsec = times[1].tv_nsec = 0;
    if (::utimensat(AT_FDCWD, target.c_str(), times, 0) != 0) {
      throw PublishError("cannot set the modification time of " + target.string() + ": " + std::strerror(errno), true);
    }
  }
}

std::optional<std::uint64_t> HttpRepository::live_number(const std::string& scope) const {
  const fs::path p = m_root / (scope + ".crl");
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::nullopt;
  const Bytes der = hanko::read_file(p, 512u << 20);
  auto crl = pki::parse_crl(der, {.keep_entries = false, .keep_der = false});
  if (!crl || !crl->crl_number) return std::nullopt;  // garbage there: anything valid replaces it
  return crl->crl_number;
}

LdapRepository::LdapRepository(std::string uri, std::string bind_dn, std::string password, std::string ca_dn)
    : m_uri(std::move(uri)), m_bind_dn(std::move(bind_dn)), m_password(std::move(password)), m_ca_dn(std::move(ca_dn)) {}

LdapRepository::~LdapRepository() noexcept { drop(); }

void LdapRepository::drop() noexcept {
  if (m_ld) ldap_unbind_ext_s(m_ld, nullptr, nullptr);
  m_ld = nullptr;
}

void LdapRepository::fail(const std::string& what, int rc) {
  // Server down, busy or timing out: wait and retry. Anything the server refuses on content
  // (syntax, schema, access) will be refused again: a dead letter for a person to read.
  const bool transient = rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT || rc == LDAP_BUSY ||
                         rc == LDAP_UNAVAILABLE || rc == LDAP_TIMELIMIT_EXCEEDED || rc == LDAP_OTHER || rc == LDAP_LOCAL_ERROR;
  if (transient) drop();
  throw PublishError("LDAP " + m_uri + ": " + what + ": " + ldap_err2string(rc) + " (" + std::to_string(rc) + ")", transient);
}

void LdapRepository::connect() {
  if (m_ld) return;
  int rc = ldap_initialize(&m_ld, m_uri.c_str());
  if (rc != LDAP_SUCCESS) {
    m_ld = nullptr;
    throw PublishError("LDAP " + m_uri + ": " + ldap_err2string(rc), false);
  }
  const int version = LDAP_VERSION3;
  ldap_set_option(m_ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  timeval network{2, 0}, op{10, 0};
  ldap_set_option(m_ld, LDAP_OPT_NETWORK_TIMEOUT, &network);
  ldap_set_option(m_ld, LDAP_OPT_TIMEOUT, &op);
  ldap_set_option(m_ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  berval cred{static_cast<ber_len_t>(m_password.size()), m_password.data()};
  rc = ldap_sasl_bind_s(m_ld, m_bind_dn.empty() ? nullptr : m_bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
  if (rc != LDAP_SUCCESS) {
    drop();
    const bool transient = rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT || rc == LDAP_BUSY || rc == LDAP_UNAVAILABLE;
    throw PublishError("LDAP " + m_uri + ": bind as '" + m_bind_dn + "': " + ldap_err2string(rc), transient);
  }
}

void LdapRepository::replace(const std::string& dn, const std::string& attribute, const std::vector<Bytes>& values,
                             const std::string& object_class, const std::string& cn) {
  connect();
  std::vector<berval> vals(values.size());
  std::vector<berval*> ptrs;
  for (std::size_t i = 0; i < values.size(); ++i) {
    vals[i].bv_len = static_cast<ber_len_t>(values[i].size());
    vals[i].bv_val = reinterpret_cast<char*>(const_cast<std::uint8_t*>(values[i].data()));
    ptrs.push_back(&vals[i]);
  }
  ptrs.push_back(nullptr);
  std::string type = attribute;
  LDAPMod mod{};
  mod.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES;
  mod.mod_type = type.data();
  mod.mod_bvalues = ptrs.data();
  LDAPMod* mods[] = {&mod, nullptr};
  int rc = ldap_modify_ext_s(m_ld, dn.c_str(), mods, nullptr, nullptr);
  if (rc == LDAP_NO_SUCH_OBJECT && !object_class.empty()) {
    std::string oc_type = "objectClass", cn_type = "cn", oc = object_class, cn_value = cn;
    char* oc_vals[] = {oc.data(), nullptr};
    char* cn_vals[] = {cn_value.data(), nullptr};
    LDAPMod m_oc{}, m_cn{};
    m_oc.mod_op = LDAP_MOD_ADD;
    m_oc.mod_type = oc_type.data();
    m_oc.mod_values = oc_vals;
    m_cn.mod_op = LDAP_MOD_ADD;
    m_cn.mod_type = cn_type.data();
    m_cn.mod_values = cn_vals;
    mod.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
    LDAPMod* add[] = {&m_oc, &m_cn, &mod, nullptr};
    rc = ldap_add_ext_s(m_ld, dn.c_str(), add, nullptr, nullptr);
  }
  if (rc != LDAP_SUCCESS) fail("replace " + attribute + " of '" + dn + "'", rc);
}

std::optional<Bytes> LdapRepository::read(const std::string& dn, const std::string& attribute) {
  connect();
  std::string attr = attribute;
  char* attrs[] = {attr.data(), nullptr};
  LDAPMessage* res = nullptr;
  timeval limit{10, 0};
  const int rc = ldap_search_ext_s(m_ld, dn.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, nullptr, nullptr, &limit, 1, &res);
  if (rc == LDAP_NO_SUCH_OBJECT) {
    ldap_msgfree(res);
    return std::nullopt;
  }
  if (rc != LDAP_SUCCESS) {
    ldap_msgfree(res);
    fail("read " + attribute + " of '" + dn + "'", rc);
  }
  std::optional<Bytes> out;
  if (LDAPMessage* e = ldap_first_entry(m_ld, res)) {
    // The server may name the attribute with or without ";binary": take the first one there.
    BerElement* ber = nullptr;
    for (char* a = ldap_first_attribute(m_ld, e, &ber); a; a = ldap_next_attribute(m_ld, e, ber)) {
      berval** v = ldap_get_values_len(m_ld, e, a);
      if (v && v[0] && !out) out = Bytes(v[0]->bv_val, v[0]->bv_val + v[0]->bv_len);
      ldap_value_free_len(v);
      ldap_memfree(a);
    }
    if (ber) ber_free(ber, 0);
  }
  ldap_msgfree(res);
  return out;
}

}  // namespace hanko::relay
