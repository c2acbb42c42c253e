#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "hanko/pki/csr.h"

using namespace hanko;
using namespace hanko::pki;

namespace {
Bytes vector_file(const std::string& name) {
  std::ifstream in(std::string(HANKO_TEST_DATA) + "/csr/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  return Bytes(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST(Csr, ParsesOpenSslRsaRequest) {
  const auto req = parse_certification_request(vector_file("rsa2048.der"));
  ASSERT_TRUE(req) << req.message();
  EXPECT_EQ(req->subject.to_string(), "C=JP, O=Hanko Test, CN=rsa2048");
  EXPECT_EQ(req->public_key.bits, 2048u);
  EXPECT_EQ(req->signature_algorithm, SignatureAlgorithm::kRsaPkcs1Sha256);
}

TEST(Csr, ParsesOpenSslEcRequest) {
  const auto req = parse_certification_request(vector_file("p256.der"));
  ASSERT_TRUE(req) << req.message();
  EXPECT_EQ(req->public_key.description(), "ECDSA P-256");
}

TEST(Csr, ParsesJapaneseSubjectAndExtensionRequest) {
  const auto req = parse_certification_request(vector_file("japanese.der"));
  ASSERT_TRUE(req) << req.message();
  EXPECT_EQ(*req->subject.first(oid::kCommonName), "山田太郎");
  ASSERT_EQ(req->requested_extensions.size(), 1u);
  EXPECT_EQ(req->requested_extensions[0].oid, oid::kSubjectAltName);
}

TEST(Csr, WeakKeyParsesButReportsItsSize) {
  // Key-size policy belongs to the profile; the parser reports the size faithfully.
  const auto req = parse_certification_request(vector_file("rsa1024.der"));
  ASSERT_TRUE(req) << req.message();
  EXPECT_EQ(req->public_key.bits, 1024u);
}

struct BadCsr {
  const char* file;
  ErrorId expected;
};

class BadCsrTest : public ::testing::TestWithParam<BadCsr> {};

TEST_P(BadCsrTest, IsRefusedWithItsErrorId) {
  const auto req = parse_certification_request(vector_file(GetParam().file));
  ASSERT_FALSE(req);
  EXPECT_EQ(req.error(), GetParam().expected) << req.message();
  EXPECT_FALSE(req.message().empty());
}

INSTANTIATE_TEST_SUITE_P(Vectors, BadCsrTest,
                         ::testing::Values(BadCsr{"bad-signature.der", ErrorId::kBadSignature},
                                           BadCsr{"trailing.der", ErrorId::kTrailingBytes},
                                           BadCsr{"truncated.der", ErrorId::kTruncated},
                                           BadCsr{"nonminimal-length.der", ErrorId::kNonMinimalLength},
                                           BadCsr{"indefinite.der", ErrorId::kIndefiniteLength}));
