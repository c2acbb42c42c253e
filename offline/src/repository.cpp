#include "hanko/offline/repository.h"

#include <cryptopp/osrng.h>

#include "hanko/offline/html.h"
#include "hanko/offline/profiles.h"
#include "hanko/pki/cms.h"

namespace hanko::offline {

namespace {

std::string fingerprint(BytesView digest) { return to_hex(digest, ':'); }


struct Listed {
  std::string name;
  pki::Certificate certificate;
};

std::vector<Listed> listed_certificates(CaStore& store) {
  std::vector<Listed> out;
  for (NamedCertificate& c : ca_and_link_certificates(store)) out.push_back({std::move(c.name), pki::parse_certificate(c.der).value()});
  return out;
}

std::string fingerprints_text(const std::vector<Listed>& listed) {
  std::string text = "# SHA-1 and SHA-256 fingerprints of the self-signed and link certificates (R18)\n";
  for (const Listed& l : listed) {
    text += l.name + "\n  subject " + l.certificate.subject.to_string() + "\n  SHA-1   " +
            fingerprint(l.certificate.fingerprint_sha1()) + "\n  SHA-256 " + fingerprint(l.certificate.fingerprint_sha256()) + "\n";
  }
  return text;
}

std::string fingerprints_html(const std::vector<Listed>& listed) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>CA certificate fingerprints</title>\n"
      "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #999;padding:.3em .6em;text-align:left}"
      "table{border-collapse:collapse}code{font-size:.9em}</style></head><body>\n"
      "<h1>CA certificate fingerprints</h1>\n<p>Compare these with the certificate you hold before you trust it. "
      "This page is signed: fingerprints.html.p7s (CMS, detached).</p>\n"
      "<table><tr><th>File</th><th>Subject</th><th>Valid</th><th>SHA-1</th><th>SHA-256</th></tr>\n";
  for (const Listed& l : listed) {
    html += "<tr><td><a href=\"" + html_escape(l.name) + "\">" + html_escape(l.name) + "</a></td><td>" +
            html_escape(l.certificate.subject.to_string()) + "</td><td>" + pki::format_time(l.certificate.not_before) + " to " +
            pki::format_time(l.certificate.not_after) + "</td><td><code>" + fingerprint(l.certificate.fingerprint_sha1()) +
            "</code></td><td><code>" + fingerprint(l.certificate.fingerprint_sha256()) + "</code></td></tr>\n";
  }
  return html + "</table>\n</body></html>\n";
}

}  // namespace

std::vector<NamedCertificate> ca_and_link_certificates(CaStore& store) {
  std::vector<NamedCertificate> out;
  for (const KeyGeneration& g : store.generations()) out.push_back({"ca-g" + std::to_string(g.number) + ".crt", g.certificate});
  for (const CertificateRecord& r : store.certificates_of_kind(CertificateKind::kLink)) {
    // NewWithOld is signed by the old generation; OldWithNew by the new one.
    const int new_generation = r.profile == "NewWithOld" ? r.generation + 1 : r.generation;
    out.push_back({"g" + std::to_string(new_generation) + "-" + r.profile + ".crt", r.der});
  }
  return out;
}

std::vector<RepositoryFile> repository_files(CaStore& store) {
  const std::vector<Listed> listed = listed_certificates(store);
  std::vector<Bytes> bundle;
  for (const Listed& l : listed) bundle.push_back(l.certificate.der);
  for (const CertificateRecord& r : store.certificates_of_kind(CertificateKind::kCross)) bundle.push_back(r.der);
  return {
      {"fingerprints.txt", "text/plain", to_bytes(fingerprints_text(listed))},
      {"fingerprints.html", "text/html", to_bytes(fingerprints_html(listed))},
      {"ca-certs.p7c", "application/pkcs7-mime", pki::encode_certificate_bundle(bundle)},
  };
}

pki::Certificate repository_signer_certificate(Ca& ca, const pki::PublicKey& key, pki::Signer& ca_signer, pki::Time now) {
  CaStore& store = ca.store();
  const auto profiles = ca.profiles();
  if (std::none_of(profiles.begin(), profiles.end(), [](const Profile& p) { return p.name == kRepositorySignerProfile; })) {
    throw PolicyError(std::string("profiles.conf of this CA has no [") + kRepositorySignerProfile +
                      "] profile, so the fingerprints page cannot be signed (R18); add the section new CAs get: validity = 1y, key_usage = digitalSignature");
  }
  // Issued by the current generation only: after a rollover everything is signed by the new key (R11).
  const int current = store.current_generation().number;
  std::optional<pki::Certificate> newest;
  for (const CertificateRecord& r : store.certificates_of_profile(kRepositorySignerProfile)) {
    if (r.revoked || r.generation != current) continue;
    const pki::Certificate c = pki::parse_certificate(r.der).value();
    if (c.public_key.spki != key.spki || c.not_before > now) continue;
    if (!newest || c.not_after > newest->not_after) newest = c;
  }
  if (newest && newest->not_after > now + std::chrono::hours(24 * 30)) return *newest;

  const pki::Certificate ca_cert = pki::parse_certificate(store.current_generation().certificate).value();
  const std::string organisation = ca_cert.subject.first(pki::oid::kOrganizationName).value_or("hanko");
  IssueRequest request;
  request.csr.subject = pki::Name::build({{pki::oid::kOrganizationName, organisation},
                                          {pki::oid::kCommonName, "Repository Signer g" + std::to_string(current) + " " + pki::format_time(now)}});
  request.csr.public_key = key;
  request.profile = kRepositorySignerProfile;
  request.requested_by = "the signer itself (R18: fingerprints page)";
  request.decision = "automatic: the CA's own equipment (R4)";
  CryptoPP::AutoSeededRandomPool rng;
  const PlannedCertificate plan = ca.plan(request, now, rng);
  return pki::parse_certificate(ca.issue({plan}, ca_signer, now).front()).value();
}

std::vector<RepositoryFile> signed_repository_files(CaStore& store, pki::Signer& signer, const pki::Certificate& signer_certificate,
                                                    pki::Time now) {
  std::vector<RepositoryFile> files = repository_files(store);
  // The signature carries the link certificates, so a relying party holding an older generation
  // finds a path (through NewWithOld). Not the self-signed ones: a relying party has its anchor,
  // and a self-signed certificate of a newer generation among the untrusted ones leads OpenSSL's
  // path building astray ("self-signed certificate in certificate chain").
  std::vector<Bytes> chain;
  for (const CertificateRecord& r : store.certificates_of_kind(CertificateKind::kLink)) chain.push_back(r.der);
  std::vector<RepositoryFile> signatures;
  for (const RepositoryFile& f : files) {
    if (f.name == "ca-certs.p7c") continue;
    signatures.push_back({f.name + ".p7s", "application/pkcs7-signature", pki::sign_detached(f.content, signer, signer_certificate, chain, now)});
  }
  files.insert(files.end(), signatures.begin(), signatures.end());
  return files;
}

}  // namespace hanko::offline
