#include "hanko/hsm/pki_signer.h"

#include <stdexcept>

namespace hanko::hsm {

SignMechanism mechanism_for(pki::SignatureAlgorithm algorithm) {
  using A = pki::SignatureAlgorithm;
  using M = SignMechanism;
  switch (algorithm) {
    case A::kRsaPkcs1Sha256: return M::RsaPkcs1Sha256;
    case A::kRsaPkcs1Sha384: return M::RsaPkcs1Sha384;
    case A::kRsaPkcs1Sha512: return M::RsaPkcs1Sha512;
    case A::kRsaPssSha256: return M::RsaPssSha256;
    case A::kRsaPssSha384: return M::RsaPssSha384;
    case A::kRsaPssSha512: return M::RsaPssSha512;
    case A::kEcdsaSha256: return M::EcdsaSha256;
    case A::kEcdsaSha384: return M::EcdsaSha384;
    case A::kEcdsaSha512: return M::EcdsaSha512;
  }
  throw std::logic_error("unknown signature algorithm");
}

PkiSigner::PkiSigner(Session& session, KeyPair key, pki::SignatureAlgorithm algorithm)
    : m_session(session), m_key(std::move(key)), m_algorithm(algorithm) {
  m_public_key = pki::parse_public_key(m_session.public_key_info(m_key));
  if (!pki::algorithm_fits_key(algorithm, m_public_key)) {
    throw pki::BuildError("signature algorithm " + std::string(pki::signature_algorithm_name(algorithm)) +
                          " does not fit the " + m_public_key.description() + " key '" + m_key.label + "'");
  }
}

Bytes PkiSigner::sign(BytesView data) {
  const SignMechanism mechanism = mechanism_for(m_algorithm);
  // Large inputs (CRLs) are hashed here and only the digest crosses into the token.
  if (data.size() > (64u << 10)) {
    return m_session.sign_digest(m_key, mechanism, pki::digest(pki::hash_of(m_algorithm), data));
  }
  return m_session.sign(m_key, mechanism, data);
}

}  // namespace hanko::hsm
