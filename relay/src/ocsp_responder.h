#pragma once
// The OCSP responder (RFC 6960, R27): good / revoked with reason / unknown from the imported
// issuance and the released fullCRLs, signed by a delegated responder certificate the offline CA
// issued (profile ocsp-responder), whose key is in the relay's own token.
#include <chrono>
#include <functional>
#include <optional>

#include "artifacts.h"
#include "hanko/pki/ocsp.h"
#include "store.h"

namespace hanko::relay {

struct StatusRecord {
  pki::CertStatus status = pki::CertStatus::kUnknown;
  pki::Time revoked_at{};
  std::optional<pki::ReasonCode> reason;
};
using OcspLookup = std::function<StatusRecord(int generation, const pki::Serial& serial)>;
StatusRecord lookup_status(Store& store, int generation, const pki::Serial& serial);

struct OcspAnswer {
  Bytes der;
  int good = 0, revoked = 0, unknown = 0;
  bool error = false;
  std::optional<pki::Time> next_update;
};

class OcspResponder {
 public:
  // Checks the responder certificate: issued by a known CA key, id-kp-OCSPSigning, the signer's key.
  OcspResponder(Bytes certificate, const std::vector<Anchor>& anchors, pki::Signer& signer, std::chrono::seconds validity);
  OcspAnswer respond(BytesView request, pki::Time now, const OcspLookup& lookup);
  int generation() const noexcept { return m_generation; }

 private:
  Bytes m_certificate;
  pki::Certificate m_issuer;
  int m_generation = 0;
  Bytes m_key_hash;
  pki::Signer& m_signer;
  std::chrono::seconds m_validity;
};

}  // namespace hanko::relay
