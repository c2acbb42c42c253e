#include <gtest/gtest.h>

#include "hanko/pki/testing/software_signer.h"
#include "intake.h"

using namespace hanko;
using namespace hanko::relay;

namespace {

transfer::RequestItem revoke_item(const std::string& id, const std::string& op) {
  transfer::RequestItem item;
  item.item_id = id;
  item.ra_operator = op;
  item.created = pki::parse_time_text("2026-11-22T00:00:00Z");
  transfer::RevokeAction a;
  a.serial = pki::Serial::from_hex("5A0F01");
  a.reason = pki::ReasonCode::kKeyCompromise;
  item.revoke = a;
  return item;
}

}  // namespace

TEST(Intake, AcceptsASignedItemFromAKnownOperator) {
  pki::SoftwareSigner ra(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  RaRegistry registry{{"RA 1", ra.public_key()}};
  const Bytes der = transfer::sign_request_item(revoke_item("r-1", "RA 1"), ra);
  const IntakeResult r = check_signed_item(der, registry);
  ASSERT_TRUE(r) << r.message;
  EXPECT_EQ(r.item->kind, "revoke");
  EXPECT_EQ(r.item->der, der);
}

TEST(Intake, RefusesUnknownOperatorBadSignatureAndMalformedInput) {
  pki::SoftwareSigner ra(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  pki::SoftwareSigner other(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  RaRegistry registry{{"RA 1", ra.public_key()}};
  EXPECT_EQ(check_signed_item(transfer::sign_request_item(revoke_item("r-1", "RA 2"), ra), registry).error, IntakeError::kUnknownOperator);
  EXPECT_EQ(check_signed_item(transfer::sign_request_item(revoke_item("r-1", "RA 1"), other), registry).error, IntakeError::kBadSignature);
  Bytes der = transfer::sign_request_item(revoke_item("r-1", "RA 1"), ra);
  der.push_back(0);
  EXPECT_EQ(check_signed_item(der, registry).error, IntakeError::kMalformed);
  EXPECT_EQ(check_signed_item(Bytes{0x30, 0x00}, registry).error, IntakeError::kMalformed);
  EXPECT_EQ(check_signed_item(transfer::sign_request_item(revoke_item("../etc", "RA 1"), ra), registry).error, IntakeError::kMalformed);
}

TEST(Intake, JsonEnvelopeAndBase64AreStrict) {
  std::string why;
  EXPECT_EQ(parse_json_envelope(" {\"item\" : \"AAEC\"} ", why), (Bytes{0, 1, 2}));
  EXPECT_FALSE(parse_json_envelope("{\"item\":\"AAEC\",\"x\":1}", why));
  EXPECT_FALSE(parse_json_envelope("{\"other\":\"AAEC\"}", why));
  EXPECT_FALSE(parse_json_envelope("{\"item\":\"AAE\"}", why));
  EXPECT_FALSE(base64_decode("AB=="));  // non-zero padding bits
  EXPECT_EQ(base64_decode("AA=="), (Bytes{0}));
  EXPECT_EQ(base64_encode(Bytes{0, 1, 2, 3}), "AAECAw==");
}
