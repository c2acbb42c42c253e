#include "ocsp_responder.h"

#include <cryptopp/sha.h>

namespace hanko::relay {

StatusRecord lookup_status(Store& store, int generation, const pki::Serial& serial) {
  StatusRecord r;
  auto revoked = store.db().prepare("SELECT revoked_at, reason FROM revoked WHERE generation = ? AND serial = ?");
  revoked.bind(1, static_cast<std::int64_t>(generation)).bind(2, serial.hex());
  if (revoked.step()) {
    r.status = pki::CertStatus::kRevoked;
    r.revoked_at = from_unix(revoked.integer(0));
    if (!revoked.is_null(1)) r.reason = static_cast<pki::ReasonCode>(revoked.integer(1));
    return r;
  }
  auto issued = store.db().prepare("SELECT 1 FROM certificates WHERE generation = ? AND serial = ?");
  issued.bind(1, static_cast<std::int64_t>(generation)).bind(2, serial.hex());
  if (issued.step()) r.status = pki::CertStatus::kGood;
  return r;
}

OcspResponder::OcspResponder(const std::vector<Bytes>& certificates, const std::vector<Anchor>& anchors, pki::Signer& signer,
                             std::chrono::seconds validity)
    : m_signer(signer), m_validity(validity) {
  if (certificates.empty()) throw ArtifactError("OCSP responder: no responder certificate");
  for (const Bytes& der : certificates) {
    auto cert = pki::parse_certificate(der);
    if (!cert) throw ArtifactError("OCSP responder certificate: " + cert.message());
    const Anchor& issuer = issuing_anchor(*cert, anchors);
    const auto* eku = cert->extension(pki::oid::kExtKeyUsage);
    bool ocsp_signing = false;
    if (eku) {
      for (const auto& p : pki::decode_extended_key_usage(eku->value)) ocsp_signing |= p == pki::oid::kKpOcspSigning;
    }
    if (!ocsp_signing) throw ArtifactError("OCSP responder certificate lacks id-kp-OCSPSigning (use the ocsp-responder profile)");
    if (cert->public_key.spki != signer.public_key().spki) {
      throw ArtifactError("OCSP responder certificate is for another key than the token's responder key");
    }
    for (const Delegation& d : m_delegations) {
      if (d.generation == issuer.generation) {
        throw ArtifactError("two OCSP responder certificates for CA generation " + std::to_string(issuer.generation) + "; keep one");
      }
    }
    m_delegations.push_back({der, issuer.certificate, issuer.generation});
    m_key_hash.resize(CryptoPP::SHA1::DIGESTSIZE);
    CryptoPP::SHA1().CalculateDigest(m_key_hash.data(), cert->public_key.key_bits.data(), cert->public_key.key_bits.size());
  }
}

std::vector<int> OcspResponder::generations() const {
  std::vector<int> out;
  for (const Delegation& d : m_delegations) out.push_back(d.generation);
  return out;
}

OcspAnswer OcspResponder::respond(BytesView request, pki::Time now, const OcspLookup& lookup) {
  OcspAnswer a;
  const auto parsed = pki::parse_ocsp_request(request);
  if (!parsed) {
    a.der = pki::ocsp_error_response(pki::OcspResponseStatus::kMalformedRequest);
    a.error = true;
    return a;
  }
  // One signature, one delegate: the one for the generation of the first certificate asked about.
  const Delegation* delegate = &m_delegations.front();
  for (const Delegation& d : m_delegations) {
    if (!parsed->requests.empty() && pki::cert_id_matches_issuer(parsed->requests.front(), d.issuer)) delegate = &d;
  }
  pki::BasicResponseTemplate t;
  t.responder_key_hash = m_key_hash;
  t.produced_at = now;
  t.nonce = parsed->nonce;
  t.certificates.push_back(delegate->certificate);
  for (const pki::CertId& id : parsed->requests) {
    pki::SingleResponse r;
    r.cert_id = id;
    r.this_update = now;
    r.next_update = now + m_validity;
    // A delegated responder speaks only for the CA key that certified it (RFC 6960 4.2.2.2).
    if (pki::cert_id_matches_issuer(id, delegate->issuer)) {
      const StatusRecord s = lookup(delegate->generation, id.serial);
      r.status = s.status;
      r.revocation_time = s.revoked_at;
      r.reason = s.reason;
    }
    switch (r.status) {
      case pki::CertStatus::kGood: ++a.good; break;
      case pki::CertStatus::kRevoked: ++a.revoked; break;
      case pki::CertStatus::kUnknown: ++a.unknown; break;
    }
    t.responses.push_back(std::move(r));
  }
  try {
    a.der = pki::sign_ocsp_response(t, m_signer);
    a.next_update = now + m_validity;
  } catch (const std::exception&) {
    a.der = pki::ocsp_error_response(pki::OcspResponseStatus::kInternalError);
    a.error = true;
  }
  return a;
}

}  // namespace hanko::relay
