#include "hanko/hsm/session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "hsm_test_support.h"

namespace hanko::hsm::test {
namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::size_t object_count(Session& session) {
  // Public and private keys of every label: key_labels() would hide a duplicate with one label.
  std::size_t count = 0;
  for (const std::string& label : session.key_labels()) {
    if (session.find_key_pair(label)) count += 2;
  }
  return count;
}

TEST(KeyTypeNames, RoundTrip) {
  for (const KeyType type :
       {KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096, KeyType::EcP256, KeyType::EcP384}) {
    EXPECT_EQ(parse_key_type(key_type_name(type)), type);
  }
  EXPECT_EQ(key_type_name(KeyType::EcP256), "p256");
  EXPECT_EQ(key_type_name(KeyType::Rsa3072), "rsa3072");
  EXPECT_FALSE(parse_key_type("rsa1024").has_value());
  EXPECT_EQ(parse_sign_mechanism("rsa-pss-sha384"), SignMechanism::RsaPssSha384);
  EXPECT_FALSE(parse_sign_mechanism("ecdsa-sha1").has_value());
}

TEST_F(TokenTest, FindKeyPairReturnsWhatGenerateMade) {
  const KeyPair made = m_session.generate_key_pair(KeyType::EcP384, "issuing-ca");
  EXPECT_EQ(made.id.size(), 16u);
  const KeyPair found = m_session.key_pair("issuing-ca");
  EXPECT_EQ(found.private_key, made.private_key);
  EXPECT_EQ(found.public_key, made.public_key);
  EXPECT_EQ(found.id, made.id);
  EXPECT_EQ(found.type, KeyType::EcP384);
  EXPECT_EQ(found.label, "issuing-ca");
  EXPECT_EQ(m_session.attribute(made.public_key, CKA_ID), made.id);
}

TEST_F(TokenTest, DuplicateLabelIsRefusedAndCreatesNothing) {
  m_session.generate_key_pair(KeyType::EcP256, "root");
  const std::size_t before = object_count(m_session);
  const Error error = catch_error([&] { m_session.generate_key_pair(KeyType::EcP384, "root"); });
  EXPECT_EQ(error.reason(), Reason::KeyExists);
  EXPECT_TRUE(contains(error.what(), "a key labelled 'root' already exists in token '" +
                                         std::string(kTokenLabel) + "'"))
      << error.what();
  EXPECT_EQ(object_count(m_session), before);
  EXPECT_EQ(m_session.key_pair("root").type, KeyType::EcP256);
}

TEST_F(TokenTest, UnknownLabelNamesLabelTokenAndKnownKeys) {
  m_session.generate_key_pair(KeyType::EcP256, "known");
  EXPECT_FALSE(m_session.find_key_pair("unknown").has_value());
  const Error error = catch_error([&] { m_session.key_pair("unknown"); });
  EXPECT_EQ(error.reason(), Reason::KeyNotFound);
  EXPECT_TRUE(contains(error.what(), "no key labelled 'unknown' in token '" +
                                         std::string(kTokenLabel) + "' (keys: 'known')"))
      << error.what();
}

TEST_F(TokenTest, KeyLabelsAreSortedAndUnique) {
  EXPECT_TRUE(m_session.key_labels().empty());
  m_session.generate_key_pair(KeyType::EcP256, "b");
  m_session.generate_key_pair(KeyType::EcP256, "a");
  EXPECT_EQ(m_session.key_labels(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(TokenTest, DestroyRemovesBothHalves) {
  const KeyPair key = m_session.generate_key_pair(KeyType::EcP256, "doomed");
  m_session.destroy_key_pair(key);
  EXPECT_FALSE(m_session.find_key_pair("doomed").has_value());
  EXPECT_TRUE(m_session.key_labels().empty());
  // The label is free again.
  EXPECT_NO_THROW(m_session.generate_key_pair(KeyType::EcP256, "doomed"));
}

TEST_F(TokenTest, ReadOnlySessionCannotGenerate) {
  Session read_only(m_module, m_slot, false);
  const Error error = catch_error([&] { read_only.generate_key_pair(KeyType::EcP256, "nope"); });
  EXPECT_EQ(error.call(), "C_GenerateKeyPair");
  EXPECT_EQ(error.rv(), CKR_SESSION_READ_ONLY);
}

TEST_F(TokenTest, KeysPersistAcrossSessions) {
  const KeyPair key = m_session.generate_key_pair(KeyType::EcP256, "persistent");
  Session other(m_module, m_slot, false);
  other.login_user(user_pin());
  EXPECT_EQ(other.key_pair("persistent").id, key.id);
}

TEST_F(TokenTest, MovedSessionKeepsLoginAndHandle) {
  m_session.generate_key_pair(KeyType::EcP256, "k");
  Session moved(std::move(m_session));
  EXPECT_TRUE(moved.logged_in());
  EXPECT_EQ(m_session.handle(), CK_INVALID_HANDLE);  // NOLINT(bugprone-use-after-move)
  EXPECT_NO_THROW(moved.key_pair("k"));
  m_session = std::move(moved);
  EXPECT_NO_THROW(m_session.key_pair("k"));
}

TEST_F(TokenTest, SessionsOnTwoThreadsSignConcurrently) {
  m_session.generate_key_pair(KeyType::EcP256, "threaded");
  std::atomic<int> signatures{0};
  const auto work = [&] {
    try {  // an exception escaping a thread would abort the whole test binary
      Session session(m_module, m_slot, false);  // one session per thread
      session.login_user(user_pin());
      const KeyPair key = session.key_pair("threaded");
      for (int i = 0; i < 100; ++i) {
        if (!session.sign(key, SignMechanism::EcdsaSha256, view("tbs")).empty()) ++signatures;
      }
    } catch (const std::exception& error) {
      ADD_FAILURE() << error.what();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) threads.emplace_back(work);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(signatures.load(), 200);
  EXPECT_TRUE(m_session.logged_in());  // the threads' logouts left the fixture's login alone
  EXPECT_NO_THROW(m_session.key_pair("threaded"));
}

}  // namespace
}  // namespace hanko::hsm::test
