#pragma once
// Glue between the two libraries that must not know each other: a pki::Signer whose private key
// lives in a PKCS#11 token reached through hanko::hsm.
#include "hanko/hsm/session.h"
#include "hanko/pki/signer.h"

namespace hanko::hsm {

// Maps a certificate signature algorithm to the token mechanism that produces it.
SignMechanism mechanism_for(pki::SignatureAlgorithm algorithm);

class PkiSigner final : public pki::Signer {
 public:
  // The session must be logged in and outlive the signer. Checks that `algorithm` fits the key.
  PkiSigner(Session& session, KeyPair key, pki::SignatureAlgorithm algorithm);

  pki::SignatureAlgorithm algorithm() const override { return m_algorithm; }
  const pki::PublicKey& public_key() const override { return m_public_key; }
  Bytes sign(BytesView data) override;

 private:
  Session& m_session;
  KeyPair m_key;
  pki::SignatureAlgorithm m_algorithm;
  pki::PublicKey m_public_key;
};

}  // namespace hanko::hsm
