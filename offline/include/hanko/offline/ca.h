#pragma once
// What the CA does, independent of where its key is and of the clock: time, randomness and the
// signer are passed in.
#include <optional>

#include "hanko/offline/ca_state.h"
#include "hanko/offline/profiles.h"
#include "hanko/pki/csr.h"

namespace CryptoPP {
class RandomNumberGenerator;
}

namespace hanko::offline {

struct CaCertificateRequest {
  pki::Name subject;
  pki::Time not_before{};
  int validity_years = 10;  // R10
};

// A self-signed CA certificate: basicConstraints cA (critical), keyCertSign + cRLSign, SKI = AKI.
Bytes make_self_signed_certificate(const CaCertificateRequest& request, pki::Signer& signer,
                                   CryptoPP::RandomNumberGenerator& rng);

// Everything that will go into a certificate, for the operator to read before it is signed.
struct IssuancePlan {
  pki::CertificateTemplate certificate;
  const Profile* profile = nullptr;
  std::string summary;
};

// Checks the request against the profile and the CA's records and lays out the certificate.
// Throws PolicyError naming what is wrong; writes nothing.
IssuancePlan plan_issuance(const CaState& state, const pki::CertificationRequest& request,
                           const Profile& profile, pki::Time now,
                           CryptoPP::RandomNumberGenerator& rng);

// Signs a plan and records the certificate. Checks first that the signer's key is the CA's.
Bytes issue(CaState& state, const IssuancePlan& plan, pki::Signer& signer);

// R22: the reasons this CA uses. Refuses certificateHold (no suspension) and the rest.
pki::ReasonCode check_revocation_reason(std::string_view name);

void revoke(CaState& state, const pki::Serial& serial, pki::ReasonCode reason, pki::Time now,
            std::optional<pki::Time> invalidity_date);

// A full CRL of every revoked, unexpired certificate, valid crl_validity_hours (R21).
Bytes make_crl(CaState& state, pki::Time now, pki::Signer& signer);

// Refuses a signer whose public key is not the one in ca.crt.
void check_signer_matches_ca(const CaState& state, const pki::Signer& signer);

}  // namespace hanko::offline
