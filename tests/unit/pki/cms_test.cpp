#include <cryptopp/osrng.h>
#include <gtest/gtest.h>

#include "hanko/pki/cms.h"
#include "hanko/pki/testing/software_signer.h"

using namespace hanko;
using namespace hanko::pki;

namespace {

Certificate make_certificate(Signer& issuer, const std::optional<Name>& issuer_name, const PublicKey& subject_key, const std::string& subject,
                             bool ca) {
  CryptoPP::AutoSeededRandomPool rng;
  CertificateTemplate t;
  t.serial = random_serial(rng);
  t.subject = Name::parse_text(subject);
  t.issuer = issuer_name ? *issuer_name : t.subject;
  t.not_before = parse_time_text("2026-01-01");
  t.not_after = add_years(t.not_before, 1);
  t.subject_public_key_info = subject_key.spki;
  t.extensions = {make_basic_constraints({ca, std::nullopt}),
                  make_key_usage(ca ? key_usage::kKeyCertSign | key_usage::kCrlSign : key_usage::kDigitalSignature),
                  make_subject_key_identifier(key_identifier(subject_key)),
                  make_authority_key_identifier(key_identifier(issuer.public_key()))};
  return parse_certificate(sign_certificate(t, issuer)).value();
}

struct Fixture {
  SoftwareSigner ca_key{SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256};
  SoftwareSigner signer_key{SoftwareKeyType::kRsa2048, SignatureAlgorithm::kRsaPkcs1Sha256};
  Certificate ca = make_certificate(ca_key, std::nullopt, ca_key.public_key(), "/C=JP/O=Hanko Test/CN=Root", true);
  Certificate signer = make_certificate(ca_key, ca.subject, signer_key.public_key(), "/C=JP/O=Hanko Test/CN=Repository", false);
};

const Bytes kPage = to_bytes("ca-g1.crt\n  SHA-256 AB:CD\n");

}  // namespace

TEST(Cms, CertificateBundleRoundTripsSorted) {
  Fixture f;
  const Bytes der = encode_certificate_bundle({f.signer.der, f.ca.der});
  const auto sd = parse_signed_data(der);
  ASSERT_TRUE(sd) << sd.message();
  EXPECT_EQ(sd->certificates.size(), 2u);
  EXPECT_TRUE(sd->signers.empty());
  EXPECT_FALSE(sd->has_content);
  // The same set in the other order gives the same bytes: a DER SET OF is sorted.
  EXPECT_EQ(encode_certificate_bundle({f.ca.der, f.signer.der}), der);
}

TEST(Cms, DetachedSignatureVerifiesAndNamesItsSigner) {
  Fixture f;
  const Bytes der = sign_detached(kPage, f.signer_key, f.signer, {f.ca.der}, parse_time_text("2026-06-01"));
  const auto sd = parse_signed_data(der);
  ASSERT_TRUE(sd) << sd.message();
  ASSERT_EQ(sd->signers.size(), 1u);
  EXPECT_EQ(sd->signers[0].signing_time, parse_time_text("2026-06-01"));
  EXPECT_EQ(verify_detached(*sd, kPage).serial, f.signer.serial);
}

TEST(Cms, ChangedContentOrSignatureIsRefused) {
  Fixture f;
  const Bytes der = sign_detached(kPage, f.signer_key, f.signer, {f.ca.der}, parse_time_text("2026-06-01"));
  Bytes changed = kPage;
  changed[3] ^= 1;
  const auto sd = parse_signed_data(der);
  try {
    verify_detached(*sd, changed);
    FAIL() << "a changed page verified";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.id(), ErrorId::kBadSignature);
    EXPECT_NE(std::string(e.what()).find("changed"), std::string::npos) << e.what();
  }
  Bytes forged = der;
  forged[forged.size() - 5] ^= 1;  // inside the signature value
  const auto sd2 = parse_signed_data(forged);
  ASSERT_TRUE(sd2) << sd2.message();
  EXPECT_THROW(verify_detached(*sd2, kPage), ParseError);
}

TEST(Cms, SignerCertificateMustBeTheSigningKeys) {
  Fixture f;
  EXPECT_THROW(sign_detached(kPage, f.ca_key, f.signer, {}, parse_time_text("2026-06-01")), BuildError);
}

TEST(Cms, ParserRefusesBerTrailingBytesAndForeignContent) {
  Fixture f;
  Bytes der = encode_certificate_bundle({f.ca.der});
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_EQ(parse_signed_data(trailing).error(), ErrorId::kTrailingBytes);
  Bytes indefinite = der;
  indefinite[1] = 0x80;
  EXPECT_FALSE(parse_signed_data(indefinite));
  // id-data instead of id-signedData as the ContentInfo type.
  const auto pos = std::search(der.begin(), der.end(), oid::kCmsSignedData.content().begin(), oid::kCmsSignedData.content().end());
  ASSERT_NE(pos, der.end());
  Bytes other = der;
  other[static_cast<std::size_t>(pos - der.begin()) + oid::kCmsSignedData.content().size() - 1] = 0x01;
  EXPECT_EQ(parse_signed_data(other).error(), ErrorId::kUnexpectedTag);
  EXPECT_FALSE(parse_signed_data({}));
}
