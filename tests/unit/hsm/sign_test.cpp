// Every key type: attributes as generated, public key info, and every fitting mechanism checked
// with Crypto++ as the outside judge. One key per type (RSA-4096 generation is slow).
#include <cryptopp/dsa.h>
#include <cryptopp/eccrypto.h>
#include <cryptopp/oids.h>
#include <cryptopp/osrng.h>
#include <cryptopp/pssr.h>
#include <cryptopp/rsa.h>
#include <cryptopp/sha.h>
#include <gtest/gtest.h>

#include <string>

#include "hanko/pki/bytes.h"
#include "hsm_test_support.h"

namespace hanko::hsm::test {
namespace {

constexpr SignMechanism kAllMechanisms[] = {
    SignMechanism::RsaPkcs1Sha256, SignMechanism::RsaPkcs1Sha384, SignMechanism::RsaPkcs1Sha512,
    SignMechanism::RsaPssSha256,   SignMechanism::RsaPssSha384,   SignMechanism::RsaPssSha512,
    SignMechanism::EcdsaSha256,    SignMechanism::EcdsaSha384,    SignMechanism::EcdsaSha512,
};

// Crypto++ signature standard for PSS with a given salt length, to show the length is enforced.
template <int SaltLength>
struct PssWithSalt : CryptoPP::SignatureStandard {
  using SignatureMessageEncodingMethod =
      CryptoPP::PSSR_MEM<false, CryptoPP::P1363_MGF1, SaltLength>;
};

template <typename Scheme, typename Key>
bool verify_with(const Key& key, BytesView message, BytesView signature) {
  const typename Scheme::Verifier verifier(key);
  return verifier.VerifyMessage(message.data(), message.size(), signature.data(), signature.size());
}

CryptoPP::RSA::PublicKey rsa_key(const Bytes& spki) {
  CryptoPP::RSA::PublicKey key;
  CryptoPP::ArraySource source(spki.data(), spki.size(), true);
  key.BERDecode(source);
  return key;
}

template <typename Hash>
typename CryptoPP::ECDSA<CryptoPP::ECP, Hash>::PublicKey ec_key(const Bytes& spki) {
  typename CryptoPP::ECDSA<CryptoPP::ECP, Hash>::PublicKey key;
  CryptoPP::ArraySource source(spki.data(), spki.size(), true);
  key.BERDecode(source);
  return key;
}

template <typename Hash>
bool verify_ecdsa(const Bytes& spki, BytesView message, BytesView der_signature) {
  const auto key = ec_key<Hash>(spki);
  const std::size_t half = key.GetGroupParameters().GetSubgroupOrder().ByteCount();
  Bytes p1363(2 * half);
  const std::size_t size = CryptoPP::DSAConvertSignatureFormat(
      p1363.data(), p1363.size(), CryptoPP::DSA_P1363, der_signature.data(), der_signature.size(),
      CryptoPP::DSA_DER);
  if (size != p1363.size()) return false;
  return verify_with<CryptoPP::ECDSA<CryptoPP::ECP, Hash>>(key, message, p1363);
}

bool verify(const Bytes& spki, SignMechanism mechanism, BytesView message, BytesView signature) {
  using namespace CryptoPP;
  switch (mechanism) {
    case SignMechanism::RsaPkcs1Sha256:
      return verify_with<RSASS<PKCS1v15, SHA256>>(rsa_key(spki), message, signature);
    case SignMechanism::RsaPkcs1Sha384:
      return verify_with<RSASS<PKCS1v15, SHA384>>(rsa_key(spki), message, signature);
    case SignMechanism::RsaPkcs1Sha512:
      return verify_with<RSASS<PKCS1v15, SHA512>>(rsa_key(spki), message, signature);
    case SignMechanism::RsaPssSha256:
      return verify_with<RSASS<PSS, SHA256>>(rsa_key(spki), message, signature);
    case SignMechanism::RsaPssSha384:
      return verify_with<RSASS<PSS, SHA384>>(rsa_key(spki), message, signature);
    case SignMechanism::RsaPssSha512:
      return verify_with<RSASS<PSS, SHA512>>(rsa_key(spki), message, signature);
    case SignMechanism::EcdsaSha256: return verify_ecdsa<SHA256>(spki, message, signature);
    case SignMechanism::EcdsaSha384: return verify_ecdsa<SHA384>(spki, message, signature);
    case SignMechanism::EcdsaSha512: return verify_ecdsa<SHA512>(spki, message, signature);
  }
  return false;
}

template <typename Hash>
Bytes digest_with(BytesView message) {
  Bytes digest(Hash::DIGESTSIZE);
  Hash().CalculateDigest(digest.data(), message.data(), message.size());
  return digest;
}

Bytes digest_of(SignMechanism mechanism, BytesView message) {
  switch (digest_size(mechanism)) {
    case 32: return digest_with<CryptoPP::SHA256>(message);
    case 48: return digest_with<CryptoPP::SHA384>(message);
    default: return digest_with<CryptoPP::SHA512>(message);
  }
}

unsigned key_bits(KeyType type) {
  switch (type) {
    case KeyType::Rsa2048: return 2048;
    case KeyType::Rsa3072: return 3072;
    case KeyType::Rsa4096: return 4096;
    case KeyType::EcP256: return 256;
    case KeyType::EcP384: return 384;
  }
  return 0;
}

// The start of a named-curve SubjectPublicKeyInfo, up to the point: id-ecPublicKey + curve OID.
std::string ec_spki_prefix(KeyType type) {
  return type == KeyType::EcP256 ? "3059301306072A8648CE3D020106082A8648CE3D030107034200"
                                 : "3076301006072A8648CE3D020106052B81040022036200";
}

Bytes message_of(std::size_t size) {
  Bytes message(size);
  for (std::size_t i = 0; i < size; ++i) message[i] = static_cast<std::uint8_t>(i * 31 + 7);
  return message;
}

class KeyTypeTest : public TokenTest, public ::testing::WithParamInterface<KeyType> {
 protected:
  KeyTypeTest() : m_key(m_session.generate_key_pair(GetParam(), "ca-key")) {}
  KeyPair m_key;
};

TEST_P(KeyTypeTest, GeneratedKeyIsASigningOnlyNonExtractableTokenKey) {
  EXPECT_EQ(m_key.type, GetParam());
  const CK_OBJECT_HANDLE priv = m_key.private_key;
  EXPECT_TRUE(m_session.bool_attribute(priv, CKA_TOKEN));
  EXPECT_TRUE(m_session.bool_attribute(priv, CKA_PRIVATE));
  EXPECT_TRUE(m_session.bool_attribute(priv, CKA_SENSITIVE));
  EXPECT_FALSE(m_session.bool_attribute(priv, CKA_EXTRACTABLE));
  EXPECT_TRUE(m_session.bool_attribute(priv, CKA_SIGN));
  EXPECT_FALSE(m_session.bool_attribute(priv, CKA_DECRYPT));
  EXPECT_FALSE(m_session.bool_attribute(priv, CKA_UNWRAP));
  EXPECT_FALSE(m_session.bool_attribute(priv, CKA_DERIVE));
  EXPECT_FALSE(m_session.bool_attribute(priv, CKA_MODIFIABLE));
  const CK_OBJECT_HANDLE pub = m_key.public_key;
  EXPECT_TRUE(m_session.bool_attribute(pub, CKA_VERIFY));
  EXPECT_FALSE(m_session.bool_attribute(pub, CKA_ENCRYPT));
  EXPECT_FALSE(m_session.bool_attribute(pub, CKA_WRAP));
  EXPECT_EQ(to_string(m_session.attribute(priv, CKA_LABEL)), "ca-key");
  EXPECT_EQ(m_session.attribute(priv, CKA_ID), m_session.attribute(pub, CKA_ID));

  const CK_ATTRIBUTE_TYPE secret = is_rsa(GetParam()) ? CKA_PRIVATE_EXPONENT : CKA_VALUE;
  const Error error = catch_error([&] { m_session.attribute(priv, secret); });
  EXPECT_EQ(error.rv(), CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(error.call(), "C_GetAttributeValue(" + attribute_name(secret) + ")");
}

TEST_P(KeyTypeTest, PublicKeyInfoParsesWithTheRightSize) {
  const Bytes spki = m_session.public_key_info(m_key);
  CryptoPP::AutoSeededRandomPool rng;
  if (is_rsa(GetParam())) {
    const CryptoPP::RSA::PublicKey key = rsa_key(spki);
    EXPECT_EQ(key.GetModulus().BitCount(), key_bits(GetParam()));
    EXPECT_EQ(key.GetPublicExponent(), CryptoPP::Integer(65537));
    EXPECT_TRUE(key.Validate(rng, 3));
  } else {
    EXPECT_EQ(to_hex(spki).rfind(ec_spki_prefix(GetParam()), 0), 0u) << to_hex(spki);
    const auto key = ec_key<CryptoPP::SHA256>(spki);
    EXPECT_EQ(key.GetGroupParameters().GetSubgroupOrder().BitCount(), key_bits(GetParam()));
    EXPECT_TRUE(key.Validate(rng, 3));
  }
  // Stable: the same key always gives the same bytes.
  EXPECT_EQ(m_session.public_key_info(m_session.key_pair("ca-key")), spki);
}

TEST_P(KeyTypeTest, EveryFittingMechanismVerifies) {
  const Bytes spki = m_session.public_key_info(m_key);
  // Short (token hashes RSA input), exactly at and just above the 64 KiB switch (hanko hashes).
  for (const std::size_t size : {std::size_t{0}, std::size_t{77}, std::size_t{64 * 1024},
                                 std::size_t{64 * 1024 + 1}, std::size_t{300 * 1024}}) {
    const Bytes message = message_of(size);
    for (const SignMechanism mechanism : kAllMechanisms) {
      if (!fits(GetParam(), mechanism)) continue;
      const Bytes signature = m_session.sign(m_key, mechanism, message);
      EXPECT_TRUE(verify(spki, mechanism, message, signature))
          << sign_mechanism_name(mechanism) << " over " << size << " bytes";
    }
  }
}

TEST_P(KeyTypeTest, SignDigestMatchesSign) {
  const Bytes spki = m_session.public_key_info(m_key);
  const Bytes message = message_of(1000);
  for (const SignMechanism mechanism : kAllMechanisms) {
    if (!fits(GetParam(), mechanism)) continue;
    Bytes digest = digest_of(mechanism, message);
    const Bytes signature = m_session.sign_digest(m_key, mechanism, digest);
    EXPECT_TRUE(verify(spki, mechanism, message, signature)) << sign_mechanism_name(mechanism);
    digest.pop_back();
    const Error error = catch_error([&] { m_session.sign_digest(m_key, mechanism, digest); });
    EXPECT_EQ(error.reason(), Reason::InvalidArgument);
  }
}

TEST_P(KeyTypeTest, MismatchedMechanismIsRefused) {
  for (const SignMechanism mechanism : kAllMechanisms) {
    if (fits(GetParam(), mechanism)) continue;
    const Error error = catch_error([&] { m_session.sign(m_key, mechanism, view("data")); });
    EXPECT_EQ(error.reason(), Reason::MechanismMismatch);
    EXPECT_NE(
        std::string(error.what())
            .find("cannot sign with " + std::string(key_type_name(GetParam())) + " key 'ca-key'"),
        std::string::npos)
        << error.what();
  }
}

INSTANTIATE_TEST_SUITE_P(AllKeyTypes, KeyTypeTest,
                         ::testing::Values(KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096,
                                           KeyType::EcP256, KeyType::EcP384),
                         [](const auto& test) { return std::string(key_type_name(test.param)); });

// Separate from the RSA-4096 instance above so that only one test pays for a slow key.
TEST_F(TokenTest, PssSaltLengthEqualsHashLength) {
  const KeyPair key = m_session.generate_key_pair(KeyType::Rsa2048, "pss");
  const CryptoPP::RSA::PublicKey public_key = rsa_key(m_session.public_key_info(key));
  const Bytes message = message_of(100);
  const Bytes signature = m_session.sign(key, SignMechanism::RsaPssSha256, message);
  // Crypto++'s PSS (used in the tests above) checks the salt length it expects: the hash length.
  EXPECT_TRUE((verify_with<CryptoPP::RSASS<CryptoPP::PSS, CryptoPP::SHA256>>(public_key, message,
                                                                             signature)));
  EXPECT_TRUE((verify_with<CryptoPP::RSASS<PssWithSalt<32>, CryptoPP::SHA256>>(public_key, message,
                                                                               signature)));
  EXPECT_FALSE((verify_with<CryptoPP::RSASS<PssWithSalt<20>, CryptoPP::SHA256>>(public_key, message,
                                                                                signature)));
  EXPECT_FALSE((verify_with<CryptoPP::RSASS<PssWithSalt<0>, CryptoPP::SHA256>>(public_key, message,
                                                                               signature)));
}

TEST_F(TokenTest, EcdsaSignatureIsMinimalDer) {
  const KeyPair key = m_session.generate_key_pair(KeyType::EcP256, "der");
  // Over many signatures r or s regularly has a leading zero byte or a high bit set.
  for (int i = 0; i < 200; ++i) {
    const Bytes sig = m_session.sign(key, SignMechanism::EcdsaSha256, message_of(i));
    ASSERT_GE(sig.size(), 8u);
    ASSERT_EQ(sig[0], 0x30);
    ASSERT_EQ(sig[1], sig.size() - 2);
    std::size_t at = 2;
    for (int part = 0; part < 2; ++part) {
      ASSERT_EQ(sig[at], 0x02);
      const std::size_t length = sig[at + 1];
      const std::uint8_t first = sig[at + 2];
      ASSERT_EQ(first & 0x80, 0) << "negative INTEGER";
      if (length > 1) {
        ASSERT_FALSE(first == 0 && (sig[at + 3] & 0x80) == 0) << "non-minimal INTEGER";
      }
      at += 2 + length;
    }
    ASSERT_EQ(at, sig.size());
  }
}

}  // namespace
}  // namespace hanko::hsm::test
