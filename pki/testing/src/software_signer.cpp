#include "hanko/pki/testing/software_signer.h"

#include <cryptopp/dsa.h>
#include <cryptopp/eccrypto.h>
#include <cryptopp/oids.h>
#include <cryptopp/osrng.h>
#include <cryptopp/pssr.h>
#include <cryptopp/queue.h>
#include <cryptopp/rsa.h>
#include <cryptopp/sha.h>

namespace hanko::pki {

using namespace CryptoPP;

struct SoftwareSigner::Keys {
  AutoSeededRandomPool rng;
  std::optional<RSA::PrivateKey> rsa;
  std::optional<DL_PrivateKey_EC<ECP>> ec;
};

namespace {
Bytes public_key_der(const X509PublicKey& key) {
  ByteQueue q;
  key.DEREncode(q);
  Bytes out(q.CurrentSize());
  q.Get(out.data(), out.size());
  return out;
}

template <class Signer>
Bytes sign_with(Signer signer, RandomNumberGenerator& rng, BytesView data) {
  Bytes sig(signer.MaxSignatureLength());
  sig.resize(signer.SignMessage(rng, data.data(), data.size(), sig.data()));
  return sig;
}

template <class Hash>
Bytes ecdsa_sign(const DL_PrivateKey_EC<ECP>& key, RandomNumberGenerator& rng, BytesView data) {
  typename ECDSA<ECP, Hash>::PrivateKey k;
  k.Initialize(key.GetGroupParameters(), key.GetPrivateExponent());
  const Bytes p1363 = sign_with(typename ECDSA<ECP, Hash>::Signer(k), rng, data);
  Bytes out(p1363.size() + 16);
  out.resize(DSAConvertSignatureFormat(out.data(), out.size(), DSA_DER, p1363.data(), p1363.size(), DSA_P1363));
  return out;
}
}  // namespace

SoftwareSigner::SoftwareSigner(SoftwareKeyType type, SignatureAlgorithm algorithm)
    : m_keys(std::make_unique<Keys>()), m_algorithm(algorithm) {
  Bytes spki;
  if (type == SoftwareKeyType::kRsa2048 || type == SoftwareKeyType::kRsa3072) {
    m_keys->rsa.emplace();
    m_keys->rsa->GenerateRandomWithKeySize(m_keys->rng, type == SoftwareKeyType::kRsa2048 ? 2048 : 3072);
    spki = public_key_der(RSA::PublicKey(*m_keys->rsa));
  } else {
    m_keys->ec.emplace();
    m_keys->ec->Initialize(m_keys->rng, type == SoftwareKeyType::kEcP256 ? ASN1::secp256r1() : ASN1::secp384r1());
    DL_PublicKey_EC<ECP> pub;
    m_keys->ec->MakePublicKey(pub);
    pub.AccessGroupParameters().SetPointCompression(false);
    pub.AccessGroupParameters().SetEncodeAsOID(true);
    spki = public_key_der(pub);
  }
  m_public_key = parse_public_key(spki);
  if (!algorithm_fits_key(algorithm, m_public_key)) throw BuildError("algorithm does not fit the key type");
}

SoftwareSigner::~SoftwareSigner() = default;
SoftwareSigner::SoftwareSigner(SoftwareSigner&&) noexcept = default;
SoftwareSigner& SoftwareSigner::operator=(SoftwareSigner&&) noexcept = default;

Bytes SoftwareSigner::sign(BytesView data) {
  auto& rng = m_keys->rng;
  switch (m_algorithm) {
    case SignatureAlgorithm::kRsaPkcs1Sha256: return sign_with(RSASS<PKCS1v15, SHA256>::Signer(*m_keys->rsa), rng, data);
    case SignatureAlgorithm::kRsaPkcs1Sha384: return sign_with(RSASS<PKCS1v15, SHA384>::Signer(*m_keys->rsa), rng, data);
    case SignatureAlgorithm::kRsaPkcs1Sha512: return sign_with(RSASS<PKCS1v15, SHA512>::Signer(*m_keys->rsa), rng, data);
    case SignatureAlgorithm::kRsaPssSha256: return sign_with(RSASS<PSS, SHA256>::Signer(*m_keys->rsa), rng, data);
    case SignatureAlgorithm::kRsaPssSha384: return sign_with(RSASS<PSS, SHA384>::Signer(*m_keys->rsa), rng, data);
    case SignatureAlgorithm::kRsaPssSha512: return sign_with(RSASS<PSS, SHA512>::Signer(*m_keys->rsa), rng, data);
    case SignatureAlgorithm::kEcdsaSha256: return ecdsa_sign<SHA256>(*m_keys->ec, rng, data);
    case SignatureAlgorithm::kEcdsaSha384: return ecdsa_sign<SHA384>(*m_keys->ec, rng, data);
    case SignatureAlgorithm::kEcdsaSha512: return ecdsa_sign<SHA512>(*m_keys->ec, rng, data);
  }
  return {};
}

}  // namespace hanko::pki
