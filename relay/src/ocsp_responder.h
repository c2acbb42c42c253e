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
  // Checks each responder certificate: issued by a known CA key, id-kp-OCSPSigning, the signer's
  // key; at most one per CA generation. After a rollover the older generation certifies its own
  // responder (RFC 6960 4.2.2.2: a delegate speaks only for the key that certified it), so
  // certificates issued before the rollover keep a status service.
  OcspResponder(const std::vector<Bytes>& certificates, const std::vector<Anchor>& anchors, pki::Signer& signer,
                std::chrono::seconds validity);
  // Answers with the delegate of the generation that issued the first certificate asked about;
  // certificates of other generations in the same request get "unknown".
  OcspAnswer respond(BytesView request, pki::Time now, const OcspLookup& lookup);
  std::vector<int> generations() const;

 private:
  struct Delegation {
    Bytes certificate;
    pki::Certificate issuer;
    int generation = 0;
  };
  std::vector<Delegation> m_delegations;
  Bytes m_key_hash;
  pki::Signer& m_signer;
  std::chrono::seconds m_validity;
};

}  // namespace hanko::relay
