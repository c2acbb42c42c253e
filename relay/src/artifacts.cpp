#include "artifacts.h"

#include <algorithm>
#include <regex>

#include "hanko/common/files.h"
#include "hanko/pki/pem.h"

namespace hanko::relay {

std::vector<Anchor> load_anchors(const std::vector<std::filesystem::path>& files) {
  std::vector<Anchor> out;
  const std::regex gen_name(R"(ca-g([0-9]+)\.(crt|der|pem))");
  for (const auto& f : files) {
    Bytes der = hanko::read_file(f, 1 << 20);
    if (pki::looks_like_pem(der)) der = pki::pem_decode(to_string(der), "CERTIFICATE");
    auto cert = pki::parse_certificate(der);
    if (!cert) throw ArtifactError("CA certificate '" + f.string() + "': " + cert.message());
    if (!cert->is_self_issued() || !cert->is_ca() || !pki::verify_certificate_signature(*cert, cert->public_key)) {
      throw ArtifactError("CA certificate '" + f.string() + "' is not a self-signed CA certificate");
    }
    Anchor a;
    std::smatch m;
    const std::string name = f.filename().string();
    a.generation = std::regex_match(name, m, gen_name) ? std::stoi(m[1].str()) : static_cast<int>(out.size()) + 1;
    a.key_id = pki::key_identifier(cert->public_key);
    a.certificate = std::move(cert).value();
    out.push_back(std::move(a));
  }
  return out;
}

Anchor learn_generation(int generation, BytesView new_with_old, BytesView self_signed, const std::vector<Anchor>& anchors) {
  int newest = 0;
  for (const Anchor& a : anchors) newest = std::max(newest, a.generation);
  if (generation != newest + 1) {
    throw ArtifactError("generation " + std::to_string(generation) + " is not the next one (the relay knows up to " + std::to_string(newest) + ")");
  }
  auto link = pki::parse_certificate(new_with_old);
  if (!link) throw ArtifactError("NewWithOld link certificate: " + link.message());
  const Anchor& signer = issuing_anchor(*link, anchors);  // signed by a generation already trusted
  if (!link->is_ca() || link->subject != signer.certificate.subject) {
    throw ArtifactError("NewWithOld link certificate is not a CA certificate of the same CA");
  }
  auto cert = pki::parse_certificate(self_signed);
  if (!cert) throw ArtifactError("ca-g" + std::to_string(generation) + ".crt: " + cert.message());
  if (!cert->is_self_issued() || !cert->is_ca() || !pki::verify_certificate_signature(*cert, cert->public_key)) {
    throw ArtifactError("ca-g" + std::to_string(generation) + ".crt is not a self-signed CA certificate");
  }
  if (cert->subject != link->subject || cert->public_key.spki != link->public_key.spki) {
    throw ArtifactError("ca-g" + std::to_string(generation) + ".crt does not carry the name and key its NewWithOld link certificate vouches for");
  }
  Anchor a;
  a.generation = generation;
  a.key_id = pki::key_identifier(cert->public_key);
  a.certificate = std::move(cert).value();
  return a;
}

std::string scope_from_uri(const std::string& uri) {
  static const std::regex http(R"(^https?://[^/]+/(?:.*/)?([A-Za-z0-9_.-]+)\.crl$)");
  static const std::regex ldap(R"(^ldap://[^/]*/cn=([A-Za-z0-9_.-]+),.*$)", std::regex::icase);
  std::smatch m;
  if (std::regex_match(uri, m, http)) return m[1].str();
  if (std::regex_match(uri, m, ldap)) return m[1].str();
  return {};
}

namespace {
const Anchor* anchor_for(const pki::Name& issuer, const std::optional<Bytes>& aki, const std::vector<Anchor>& anchors) {
  for (const Anchor& a : anchors) {
    if (a.certificate.subject == issuer && aki && *aki == a.key_id) return &a;
  }
  return nullptr;
}
}  // namespace

ListInfo check_list(BytesView der, const std::vector<Anchor>& anchors, pki::Crl* keep) {
  pki::CrlParseOptions options;
  options.keep_entries = keep != nullptr;
  options.keep_der = false;
  auto parsed = pki::parse_crl(der, options);
  if (!parsed) throw ArtifactError("not a CRL hanko accepts [" + std::string(pki::error_id_name(parsed.error())) + "]: " + parsed.message());
  const pki::Crl& crl = *parsed;
  std::optional<Bytes> aki;
  if (const auto* e = crl.extension(pki::oid::kAuthorityKeyIdentifier)) aki = pki::decode_authority_key_identifier(e->value).key_id;
  const Anchor* a = anchor_for(crl.issuer, aki, anchors);
  if (!a) throw ArtifactError("CRL issued by '" + crl.issuer.to_string() + "' with no matching known CA key (issuer and AKI)");
  // The signature is over the caller's buffer (keep_der = false keeps offsets into `der`).
  if (!pki::verify_signature(a->certificate.public_key, crl.signature_algorithm, der.subspan(crl.tbs_offset, crl.tbs_size),
                             crl.signature)) {
    throw ArtifactError("CRL signature does not verify with the key of generation " + std::to_string(a->generation));
  }
  if (!crl.crl_number) throw ArtifactError("CRL without a cRLNumber");
  if (!crl.next_update || *crl.next_update <= crl.this_update) throw ArtifactError("CRL without a nextUpdate after its thisUpdate");
  ListInfo info;
  info.generation = a->generation;
  info.number = *crl.crl_number;
  info.this_update = crl.this_update;
  info.next_update = *crl.next_update;
  info.entries = crl.entry_count;
  const std::string prefix = "g" + std::to_string(a->generation) + "-";
  if (const auto* e = crl.extension(pki::oid::kIssuingDistributionPoint)) {
    const auto idp = pki::decode_issuing_distribution_point(e->value);
    std::string scope;
    for (const auto& n : idp.full_name) {
      if (n.kind != pki::GeneralName::Kind::kUri) continue;
      const std::string s = scope_from_uri(n.text);
      if (s.empty()) continue;
      if (!scope.empty() && s != scope) throw ArtifactError("issuingDistributionPoint names two scopes: " + scope + " and " + s);
      scope = s;
    }
    if (scope.rfind(prefix, 0) != 0) throw ArtifactError("issuingDistributionPoint scope '" + scope + "' does not belong to generation " + std::to_string(a->generation));
    const bool arl = scope == prefix + "arl";
    if (arl != idp.only_ca_certs || (!arl && !idp.only_user_certs) || scope == prefix + "full") {
      throw ArtifactError("issuingDistributionPoint flags do not match the scope " + scope);
    }
    info.scope = scope;
    info.arl = arl;
  } else {
    info.scope = prefix + "full";
  }
  if (keep) *keep = std::move(parsed).value();
  return info;
}

const Anchor& issuing_anchor(const pki::Certificate& cert, const std::vector<Anchor>& anchors) {
  const Anchor* a = anchor_for(cert.issuer, cert.authority_key_id(), anchors);
  if (!a && cert.is_self_issued()) {
    for (const Anchor& x : anchors) {
      if (x.certificate.der == cert.der) return x;
    }
  }
  if (!a) throw ArtifactError("certificate " + cert.serial.hex() + " has no matching known CA key (issuer and AKI)");
  if (!pki::verify_certificate_signature(cert, a->certificate.public_key)) {
    throw ArtifactError("certificate " + cert.serial.hex() + ": signature does not verify with generation " + std::to_string(a->generation));
  }
  return *a;
}

}  // namespace hanko::relay
