#include <gtest/gtest.h>

#include <cryptopp/osrng.h>

#include "hanko/pki/certificate.h"
#include "hanko/pki/testing/software_signer.h"

using namespace hanko;
using namespace hanko::pki;

namespace {

CertificateTemplate root_template(const Signer& signer) {
  CryptoPP::AutoSeededRandomPool rng;
  CertificateTemplate t;
  t.serial = random_serial(rng);
  t.subject = Name::parse_text("/C=JP/O=Hanko Test/CN=Test Root");
  t.issuer = t.subject;
  t.not_before = parse_time_text("2026-01-01");
  t.not_after = add_years(t.not_before, 10);
  t.subject_public_key_info = signer.public_key().spki;
  const Bytes ski = key_identifier(signer.public_key());
  t.extensions = {make_basic_constraints({true, std::nullopt}),
                  make_key_usage(key_usage::kKeyCertSign | key_usage::kCrlSign),
                  make_subject_key_identifier(ski)};
  return t;
}

}  // namespace

class CertificateAlgorithms
    : public ::testing::TestWithParam<std::pair<SoftwareKeyType, SignatureAlgorithm>> {};

TEST_P(CertificateAlgorithms, SelfSignedRoundTrips) {
  SoftwareSigner signer(GetParam().first, GetParam().second);
  const CertificateTemplate t = root_template(signer);
  const Bytes der = sign_certificate(t, signer);
  const auto cert = parse_certificate(der);
  ASSERT_TRUE(cert) << cert.message();
  EXPECT_EQ(cert->version, 3);
  EXPECT_EQ(cert->serial, t.serial);
  EXPECT_EQ(cert->serial.magnitude().size(), 16u);
  EXPECT_TRUE(cert->is_ca());
  EXPECT_TRUE(cert->is_self_issued());
  EXPECT_EQ(*cert->key_usage(), key_usage::kKeyCertSign | key_usage::kCrlSign);
  EXPECT_TRUE(verify_certificate_signature(*cert, signer.public_key()));
  EXPECT_EQ(cert->signature_algorithm, GetParam().second);
}

INSTANTIATE_TEST_SUITE_P(
    All, CertificateAlgorithms,
    ::testing::Values(std::pair{SoftwareKeyType::kRsa2048, SignatureAlgorithm::kRsaPkcs1Sha256},
                      std::pair{SoftwareKeyType::kRsa2048, SignatureAlgorithm::kRsaPkcs1Sha512},
                      std::pair{SoftwareKeyType::kRsa2048, SignatureAlgorithm::kRsaPssSha256},
                      std::pair{SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256},
                      std::pair{SoftwareKeyType::kEcP384, SignatureAlgorithm::kEcdsaSha384}));

TEST(Certificate, AllExtensionsRoundTrip) {
  SoftwareSigner signer(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  CertificateTemplate t = root_template(signer);
  t.subject = Name::parse_text("/C=JP/ST=熊本県/CN=山田太郎");
  const Oid name_oid("1.2.392.200149.8.5.5.1");
  t.extensions.push_back(make_extended_key_usage({oid::kKpOcspSigning}));
  t.extensions.push_back(make_authority_key_identifier(key_identifier(signer.public_key())));
  DistributionPoint dp;
  dp.full_name = {GeneralName::uri("http://repo.example.jp/crl1.crl"),
                  GeneralName::directory_name(Name::parse_text("/C=JP/O=Hanko Test/CN=CRL1"))};
  t.extensions.push_back(make_crl_distribution_points({dp}));
  t.extensions.push_back(make_authority_info_access({{oid::kAdOcsp, GeneralName::uri("http://ocsp.example.jp")}}));
  t.extensions.push_back(make_certificate_policies({{Oid("1.2.392.200149.8.5.1.1.10"), {"http://repo.example.jp/cps"}}}));
  t.extensions.push_back(make_subject_alt_name({GeneralName::other_name_utf8(name_oid, "山田太郎"),
                                                GeneralName::email("taro@example.jp"),
                                                GeneralName::dns("example.jp")}));
  t.extensions.push_back(make_issuer_alt_name({GeneralName::uri("http://example.jp")}));
  t.extensions.push_back(make_policy_mappings({{Oid("1.2.392.1.1"), Oid("1.2.392.1.2")}}));
  t.extensions.push_back(make_policy_constraints({0, std::nullopt}));
  t.extensions.push_back(make_name_constraints({{GeneralName::dns("example.jp")}, {}}));
  t.extensions.push_back(make_inhibit_any_policy(0));
  t.extensions.push_back(make_ocsp_no_check());
  const auto cert = parse_certificate(sign_certificate(t, signer));
  ASSERT_TRUE(cert) << cert.message();
  EXPECT_EQ(cert->extensions.size(), t.extensions.size());
  const GeneralNames san = cert->subject_alt_names();
  ASSERT_EQ(san.size(), 3u);
  EXPECT_EQ(san[0].to_string(), "othername:1.2.392.200149.8.5.5.1=\"山田太郎\"");
  const auto dps = decode_crl_distribution_points(cert->extension(oid::kCrlDistributionPoints)->value);
  ASSERT_EQ(dps[0].full_name.size(), 2u);
  EXPECT_EQ(dps[0].full_name[1].directory.to_string(), "C=JP, O=Hanko Test, CN=CRL1");
  EXPECT_EQ(decode_certificate_policies(cert->extension(oid::kCertificatePolicies)->value)[0].cps_uris[0],
            "http://repo.example.jp/cps");
  EXPECT_EQ(cert->subject.to_string(), "C=JP, ST=熊本県, CN=山田太郎");
}

TEST(Certificate, RefusesTamperingAndTrailingBytes) {
  SoftwareSigner signer(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  const Bytes der = sign_certificate(root_template(signer), signer);
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_EQ(parse_certificate(trailing).error(), ErrorId::kTrailingBytes);
  Bytes truncated(der.begin(), der.end() - 5);
  EXPECT_EQ(parse_certificate(truncated).error(), ErrorId::kTruncated);
  // Flip a bit in the subject: still parses, no longer verifies.
  Bytes tampered = der;
  tampered[tampered.size() / 3] ^= 0x01;
  const auto parsed = parse_certificate(tampered);
  if (parsed) {
    EXPECT_FALSE(verify_certificate_signature(*parsed, signer.public_key()));
  }
}

TEST(Certificate, RefusesExplicitCriticalFalse) {
  // An extension list whose basicConstraints writes critical FALSE.
  const Bytes exts = from_hex("300F300D0603551D130101000403300100");
  der::Reader r(exts);
  try {
    read_extensions(r, "extensions");
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.id(), ErrorId::kExplicitDefault);
  }
}

TEST(Certificate, BuilderRefusesBadTemplates) {
  SoftwareSigner signer(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  CertificateTemplate t = root_template(signer);
  t.not_after = t.not_before;
  EXPECT_THROW(sign_certificate(t, signer), BuildError);
  t = root_template(signer);
  t.extensions.push_back(make_key_usage(key_usage::kDigitalSignature));
  EXPECT_THROW(sign_certificate(t, signer), BuildError);  // duplicate extension
}

TEST(Algorithm, RsaNeedsNullEcdsaHasNone) {
  EXPECT_EQ(to_hex(encode_algorithm_identifier(SignatureAlgorithm::kRsaPkcs1Sha256)), "300D06092A864886F70D01010B0500");
  EXPECT_EQ(to_hex(encode_algorithm_identifier(SignatureAlgorithm::kEcdsaSha256)), "300A06082A8648CE3D040302");
  const Bytes no_null = from_hex("300B06092A864886F70D01010B");
  der::Reader r(no_null);
  EXPECT_THROW(read_algorithm_identifier(r, "alg"), ParseError);
  const Bytes ec_null = from_hex("300C06082A8648CE3D0403020500");
  der::Reader r2(ec_null);
  EXPECT_THROW(read_algorithm_identifier(r2, "alg"), ParseError);
}
