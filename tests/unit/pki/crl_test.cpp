#include <gtest/gtest.h>

#include <cryptopp/osrng.h>

#include "hanko/pki/certificate.h"
#include "hanko/pki/crl.h"
#include "hanko/pki/testing/software_signer.h"

using namespace hanko;
using namespace hanko::pki;

namespace {
CrlTemplate make_template(const Signer& signer, std::size_t entries) {
  CryptoPP::AutoSeededRandomPool rng;
  CrlTemplate t;
  t.issuer = Name::parse_text("/C=JP/O=Hanko Test/CN=Test Root");
  t.this_update = parse_time_text("2026-11-22T00:00:00Z");
  t.next_update = t.this_update + std::chrono::hours(72);
  t.crl_number = 7;
  t.authority_key_id = key_identifier(signer.public_key());
  for (std::size_t i = 0; i < entries; ++i) {
    RevokedCertificate r;
    r.serial = random_serial(rng);
    r.revocation_date = t.this_update - std::chrono::hours(1);
    if (i % 3 == 0) r.reason = ReasonCode::kKeyCompromise;
    if (i % 5 == 0) r.invalidity_date = t.this_update - std::chrono::hours(48);
    t.revoked.push_back(r);
  }
  return t;
}
}  // namespace

TEST(Crl, RoundTripsEntriesAndExtensions) {
  SoftwareSigner signer(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  CrlTemplate t = make_template(signer, 20);
  t.issuing_distribution_point = IssuingDistributionPoint{{GeneralName::uri("http://repo.example.jp/crl1.crl")}, true, false, false, std::nullopt};
  const auto crl = parse_crl(sign_crl(t, signer));
  ASSERT_TRUE(crl) << crl.message();
  EXPECT_EQ(*crl->crl_number, 7u);
  ASSERT_EQ(crl->entries.size(), 20u);
  EXPECT_EQ(crl->entries[0].serial, t.revoked[0].serial);
  EXPECT_EQ(*crl->entries[0].reason, ReasonCode::kKeyCompromise);
  EXPECT_EQ(*crl->entries[0].invalidity_date, *t.revoked[0].invalidity_date);
  EXPECT_FALSE(crl->entries[1].reason.has_value());
  const auto idp = decode_issuing_distribution_point(crl->extension(oid::kIssuingDistributionPoint)->value);
  EXPECT_TRUE(idp.only_user_certs);
  EXPECT_TRUE(crl->extension(oid::kIssuingDistributionPoint)->critical);
  EXPECT_TRUE(verify_crl_signature(*crl, signer.public_key()));
}

TEST(Crl, EmptyListLeavesRevokedCertificatesOut) {
  SoftwareSigner signer(SoftwareKeyType::kRsa2048, SignatureAlgorithm::kRsaPkcs1Sha256);
  const Bytes der = sign_crl(make_template(signer, 0), signer);
  const auto crl = parse_crl(der);
  ASSERT_TRUE(crl) << crl.message();
  EXPECT_EQ(crl->entry_count, 0u);
}

TEST(Crl, UnspecifiedReasonIsLeftOut) {
  SoftwareSigner signer(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  CrlTemplate t = make_template(signer, 1);
  t.revoked[0].reason = ReasonCode::kUnspecified;
  t.revoked[0].invalidity_date.reset();
  const auto crl = parse_crl(sign_crl(t, signer));
  ASSERT_TRUE(crl);
  EXPECT_FALSE(crl->entries[0].reason.has_value());
}

TEST(Crl, RefusesTrailingBytesAndEmptyEntryList) {
  SoftwareSigner signer(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  Bytes der = sign_crl(make_template(signer, 2), signer);
  der.push_back(0);
  EXPECT_EQ(parse_crl(der).error(), ErrorId::kTrailingBytes);
}

TEST(Crl, ReasonNames) {
  EXPECT_EQ(*parse_reason_name("cACompromise"), ReasonCode::kCaCompromise);
  EXPECT_EQ(reason_name(ReasonCode::kCessationOfOperation), "cessationOfOperation");
  EXPECT_FALSE(parse_reason_name("bogus"));
}
