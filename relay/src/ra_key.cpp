#include "ra_key.h"

#include <cryptopp/dsa.h>
#include <cryptopp/eccrypto.h>
#include <cryptopp/oids.h>
#include <cryptopp/osrng.h>
#include <cryptopp/queue.h>

#include "hanko/common/files.h"

namespace hanko::relay {

using Ecdsa = CryptoPP::ECDSA<CryptoPP::ECP, CryptoPP::SHA256>;

struct RaKey::Impl {
  CryptoPP::AutoSeededRandomPool rng;
  Ecdsa::PrivateKey key;
};

namespace {
Bytes take(CryptoPP::ByteQueue& q) {
  Bytes out(q.CurrentSize());
  q.Get(out.data(), out.size());
  return out;
}

Bytes spki_of(const Ecdsa::PrivateKey& key) {
  Ecdsa::PublicKey pub;
  key.MakePublicKey(pub);
  pub.AccessGroupParameters().SetEncodeAsOID(true);
  pub.AccessGroupParameters().SetPointCompression(false);
  CryptoPP::ByteQueue q;
  pub.DEREncode(q);
  return take(q);
}
}  // namespace

void RaKey::generate(const std::filesystem::path& private_key, const std::filesystem::path& public_key) {
  CryptoPP::AutoSeededRandomPool rng;
  Ecdsa::PrivateKey key;
  key.Initialize(rng, CryptoPP::ASN1::secp256r1());
  key.AccessGroupParameters().SetEncodeAsOID(true);
  CryptoPP::ByteQueue q;
  key.DEREncode(q);
  Bytes der = take(q);
  try {
    hanko::write_new_file(private_key, der, 0600);
  } catch (...) {
    CryptoPP::SecureWipeBuffer(der.data(), der.size());
    throw;
  }
  CryptoPP::SecureWipeBuffer(der.data(), der.size());
  hanko::write_new_file(public_key, spki_of(key));
}

RaKey::RaKey(const std::filesystem::path& private_key) : m_impl(std::make_unique<Impl>()) {
  Bytes der = hanko::read_file(private_key, 16 << 10);
  // Our own key file, not input from outside: Crypto++'s BER decoder is fine here.
  CryptoPP::ByteQueue q;
  q.Put(der.data(), der.size());
  CryptoPP::SecureWipeBuffer(der.data(), der.size());
  m_impl->key.BERDecode(q);
  if (!m_impl->key.Validate(m_impl->rng, 3)) throw std::runtime_error("RA key '" + private_key.string() + "' is not a valid P-256 key");
  m_public_key = pki::parse_public_key(spki_of(m_impl->key));
}

RaKey::~RaKey() = default;

Bytes RaKey::sign(BytesView data) {
  Ecdsa::Signer signer(m_impl->key);
  Bytes p1363(signer.MaxSignatureLength());
  p1363.resize(signer.SignMessage(m_impl->rng, data.data(), data.size(), p1363.data()));
  Bytes der(p1363.size() + 16);
  der.resize(CryptoPP::DSAConvertSignatureFormat(der.data(), der.size(), CryptoPP::DSA_DER, p1363.data(),
                                                 p1363.size(), CryptoPP::DSA_P1363));
  return der;
}

}  // namespace hanko::relay
