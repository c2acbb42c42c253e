// Key backup by wrapping (R7) on the real SoftHSMv2: a CA key made for backup leaves the token
// only wrapped under a trusted key, the wrapping key does nothing but wrap, and the key unwrapped
// into a second token signs exactly like the original.
#include <cryptopp/dsa.h>
#include <cryptopp/eccrypto.h>
#include <cryptopp/hmac.h>
#include <cryptopp/sha.h>
#include <gtest/gtest.h>

#include "hanko/pki/bytes.h"
#include "hsm_test_support.h"

namespace hanko::hsm::test {
namespace {

Secret aes_value(std::uint8_t fill) { return Secret(BytesView(Bytes(32, fill))); }

bool verify_p256(const Bytes& spki, BytesView message, BytesView der_signature) {
  CryptoPP::ECDSA<CryptoPP::ECP, CryptoPP::SHA256>::PublicKey key;
  CryptoPP::ArraySource source(spki.data(), spki.size(), true);
  key.BERDecode(source);
  Bytes p1363(64);
  const std::size_t size =
      CryptoPP::DSAConvertSignatureFormat(p1363.data(), p1363.size(), CryptoPP::DSA_P1363, der_signature.data(),
                                          der_signature.size(), CryptoPP::DSA_DER);
  const CryptoPP::ECDSA<CryptoPP::ECP, CryptoPP::SHA256>::Verifier verifier(key);
  return verifier.VerifyMessage(message.data(), message.size(), p1363.data(), size);
}

class BackupTest : public TokenTest {
 protected:
  // The security officer installs the trusted wrapping key; the user session is left logged in.
  void install_wrapping_key(const Secret& value) {
    m_session.logout();
    {
      Session so(m_module, m_slot, true);
      so.login_so(so_pin());
      so.create_wrapping_key("backup-wrap", value);
    }
    m_session.login_user(user_pin());
  }
  CK_OBJECT_HANDLE wrapping_key() { return m_session.find_secret_key("backup-wrap").value(); }

  // A second token (the backup center's) with a logged-in session.
  Session second_token() {
    const CK_SLOT_ID slot = m_module.init_token(m_module.first_free_slot().value(), so_pin(), "backup center", user_pin());
    Session session(m_module, slot, true);
    session.login_user(user_pin());
    return session;
  }
};

TEST_F(BackupTest, KeyForBackupIsSensitiveExtractableAndWrapWithTrustedOnly) {
  const KeyPair key = m_session.generate_key_pair(KeyType::EcP256, "ca", KeyBackup::kWrapWithTrustedOnly);
  EXPECT_TRUE(m_session.bool_attribute(key.private_key, CKA_SENSITIVE));
  EXPECT_TRUE(m_session.bool_attribute(key.private_key, CKA_EXTRACTABLE));
  EXPECT_TRUE(m_session.bool_attribute(key.private_key, CKA_WRAP_WITH_TRUSTED));
  EXPECT_TRUE(m_session.backup_allowed(key));
  const KeyPair plain = m_session.generate_key_pair(KeyType::EcP256, "plain");
  EXPECT_FALSE(m_session.bool_attribute(plain.private_key, CKA_EXTRACTABLE));
  EXPECT_FALSE(m_session.backup_allowed(plain));
  // Reading the private value stays impossible.
  EXPECT_EQ(catch_error([&] { m_session.attribute(key.private_key, CKA_VALUE); }).rv(), CKR_ATTRIBUTE_SENSITIVE);
}

TEST_F(BackupTest, UntrustedWrappingKeyIsRefused) {
  const KeyPair key = m_session.generate_key_pair(KeyType::EcP256, "ca", KeyBackup::kWrapWithTrustedOnly);
  // A user may create an AES key that wraps, but never a trusted one.
  const CK_OBJECT_HANDLE untrusted = m_session.create_unwrapping_key("not-trusted", aes_value(7), false);
  EXPECT_EQ(catch_error([&] { m_session.wrap_private_key(untrusted, key); }).rv(), CKR_KEY_FUNCTION_NOT_PERMITTED);
  install_wrapping_key(aes_value(1));
  // Trusted, but the key was made without backup: it never leaves.
  const KeyPair plain = m_session.generate_key_pair(KeyType::EcP256, "plain");
  EXPECT_EQ(catch_error([&] { m_session.wrap_private_key(wrapping_key(), plain); }).rv(), CKR_KEY_UNEXTRACTABLE);
  EXPECT_FALSE(m_session.wrap_private_key(wrapping_key(), m_session.key_pair("ca")).empty());
}

TEST_F(BackupTest, UserCannotCreateTrustedKey) {
  const Error error = catch_error([&] { m_session.create_wrapping_key("fake-trusted", aes_value(2)); });
  EXPECT_EQ(error.reason(), Reason::Pkcs11);
}

TEST_F(BackupTest, WrappingKeyCannotDecryptOrBeChanged) {
  install_wrapping_key(aes_value(3));
  const CK_OBJECT_HANDLE wrap = wrapping_key();
  EXPECT_FALSE(m_session.bool_attribute(wrap, CKA_DECRYPT));
  EXPECT_FALSE(m_session.bool_attribute(wrap, CKA_ENCRYPT));
  EXPECT_FALSE(m_session.bool_attribute(wrap, CKA_UNWRAP));
  EXPECT_TRUE(m_session.bool_attribute(wrap, CKA_TRUSTED));
  CK_FUNCTION_LIST_PTR f = m_module.functions();
  CK_MECHANISM ecb{CKM_AES_ECB, nullptr, 0};
  EXPECT_EQ(f->C_DecryptInit(m_session.handle(), &ecb, wrap), CKR_KEY_FUNCTION_NOT_PERMITTED);
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE turn_on{CKA_DECRYPT, &yes, sizeof yes};
  EXPECT_NE(f->C_SetAttributeValue(m_session.handle(), wrap, &turn_on, 1), CKR_OK);
  // A session with no login at all cannot either.
  Session anonymous(m_module, m_slot, true);
  EXPECT_NE(f->C_SetAttributeValue(anonymous.handle(), wrap, &turn_on, 1), CKR_OK);
  EXPECT_EQ(f->C_DecryptInit(anonymous.handle(), &ecb, wrap), CKR_KEY_FUNCTION_NOT_PERMITTED);
}

TEST_F(BackupTest, RsaKeyUnwrappedInSecondTokenSignsByteIdentically) {
  const KeyPair key = m_session.generate_key_pair(KeyType::Rsa2048, "root-g1", KeyBackup::kWrapWithTrustedOnly);
  install_wrapping_key(aes_value(4));
  const KeyPair again = m_session.key_pair("root-g1");
  const Bytes wrapped = m_session.wrap_private_key(wrapping_key(), again);
  const PublicComponents components = m_session.public_components(again);
  const Bytes message = to_bytes("tbsCertList of the next CRL");
  const Bytes original = m_session.sign(again, SignMechanism::RsaPkcs1Sha256, message);

  Session center = second_token();
  const CK_OBJECT_HANDLE unwrap = center.create_unwrapping_key("backup-unwrap", aes_value(4), false);
  const KeyPair restored = center.unwrap_key_pair(unwrap, wrapped, components, "root-g1", key.id);
  EXPECT_EQ(center.sign(restored, SignMechanism::RsaPkcs1Sha256, message), original);
  EXPECT_EQ(center.public_key_info(restored), m_session.public_key_info(again));
  // Found again by label, both halves, with the same ID.
  const KeyPair found = center.key_pair("root-g1");
  EXPECT_EQ(found.id, key.id);
  EXPECT_TRUE(center.bool_attribute(found.private_key, CKA_SENSITIVE));
  EXPECT_TRUE(center.bool_attribute(found.private_key, CKA_WRAP_WITH_TRUSTED));
  EXPECT_FALSE(center.bool_attribute(found.private_key, CKA_DECRYPT));
}

TEST_F(BackupTest, EcKeyUnwrappedInSecondTokenSignsVerifiably) {
  const KeyPair key = m_session.generate_key_pair(KeyType::EcP256, "audit", KeyBackup::kWrapWithTrustedOnly);
  install_wrapping_key(aes_value(5));
  const KeyPair again = m_session.key_pair("audit");
  const Bytes wrapped = m_session.wrap_private_key(wrapping_key(), again);
  const Bytes spki = m_session.public_key_info(again);
  Session center = second_token();
  const CK_OBJECT_HANDLE unwrap = center.create_unwrapping_key("backup-unwrap", aes_value(5), false);
  const KeyPair restored = center.unwrap_key_pair(unwrap, wrapped, m_session.public_components(again), "audit", key.id);
  const Bytes message = to_bytes("audit checkpoint");
  EXPECT_TRUE(verify_p256(spki, message, center.sign(restored, SignMechanism::EcdsaSha256, message)));
  EXPECT_EQ(center.public_key_info(center.key_pair("audit")), spki);
}

TEST_F(BackupTest, WrongUnwrappingKeyLeavesNothing) {
  m_session.generate_key_pair(KeyType::EcP256, "ca", KeyBackup::kWrapWithTrustedOnly);
  install_wrapping_key(aes_value(6));
  const KeyPair again = m_session.key_pair("ca");
  const Bytes wrapped = m_session.wrap_private_key(wrapping_key(), again);
  Session center = second_token();
  const CK_OBJECT_HANDLE unwrap = center.create_unwrapping_key("backup-unwrap", aes_value(9), false);
  EXPECT_EQ(catch_error([&] { center.unwrap_key_pair(unwrap, wrapped, m_session.public_components(again), "ca", again.id); })
                .reason(),
            Reason::Pkcs11);
  EXPECT_TRUE(center.key_labels().empty());
}

TEST_F(BackupTest, MacKeyInTokenMatchesSoftwareHmacAndIsPrivate) {
  const CK_OBJECT_HANDLE mac = m_session.create_mac_key("backup-mac", aes_value(8));
  const Bytes message = to_bytes("manifest");
  const Bytes tag = m_session.hmac_sha256(mac, message);
  const Bytes value(32, 8);
  CryptoPP::HMAC<CryptoPP::SHA256> judge(value.data(), value.size());
  Bytes expected(32);
  judge.CalculateDigest(expected.data(), message.data(), message.size());
  EXPECT_EQ(tag, expected);
  EXPECT_TRUE(m_session.bool_attribute(mac, CKA_PRIVATE));
  // Login state is per token and process: log out so the second session is really anonymous.
  m_session.logout();
  Session anonymous(m_module, m_slot, false);
  EXPECT_FALSE(anonymous.find_secret_key("backup-mac").has_value());
}

TEST_F(BackupTest, DestroyObjectRemovesKey) {
  const CK_OBJECT_HANDLE mac = m_session.create_mac_key("gone", aes_value(8));
  m_session.destroy_object(mac);
  EXPECT_FALSE(m_session.find_secret_key("gone").has_value());
}

}  // namespace
}  // namespace hanko::hsm::test
