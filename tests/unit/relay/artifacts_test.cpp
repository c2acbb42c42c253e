#include <cryptopp/osrng.h>
#include <gtest/gtest.h>

#include "artifacts.h"
#include "hanko/pki/testing/software_signer.h"
#include "ocsp_responder.h"

using namespace hanko;
using namespace hanko::relay;
using pki::SignatureAlgorithm;
using pki::SoftwareKeyType;
using pki::SoftwareSigner;

namespace {

const pki::Name kCa = pki::Name::parse_text("/C=JP/O=Hanko Test/CN=Rollover CA");

// A CA certificate for `subject_key` under the CA's name, signed by `issuer` (self-signed when
// both are the same key), or an OCSP responder certificate when `responder` is set.
Bytes certificate(pki::Signer& issuer, const pki::PublicKey& subject_key, bool responder = false) {
  CryptoPP::AutoSeededRandomPool rng;
  pki::CertificateTemplate t;
  t.serial = pki::random_serial(rng);
  t.issuer = kCa;
  t.subject = responder ? pki::Name::parse_text("/C=JP/O=Hanko Test/CN=OCSP") : kCa;
  t.not_before = pki::parse_time_text("2026-01-01");
  t.not_after = pki::add_years(t.not_before, 5);
  t.subject_public_key_info = subject_key.spki;
  t.extensions = {pki::make_basic_constraints({!responder, std::nullopt}),
                  pki::make_key_usage(responder ? pki::key_usage::kDigitalSignature : pki::key_usage::kKeyCertSign | pki::key_usage::kCrlSign),
                  pki::make_subject_key_identifier(pki::key_identifier(subject_key)),
                  pki::make_authority_key_identifier(pki::key_identifier(issuer.public_key()))};
  if (responder) t.extensions.push_back(pki::make_extended_key_usage({pki::oid::kKpOcspSigning}));
  return pki::sign_certificate(t, issuer);
}

Anchor anchor(int generation, BytesView der) {
  Anchor a;
  a.generation = generation;
  a.certificate = pki::parse_certificate(der).value();
  a.key_id = pki::key_identifier(a.certificate.public_key);
  return a;
}

struct Rollover {
  SoftwareSigner g1{SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256};
  SoftwareSigner g2{SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256};
  Bytes ca_g1 = certificate(g1, g1.public_key());
  Bytes ca_g2 = certificate(g2, g2.public_key());
  Bytes new_with_old = certificate(g1, g2.public_key());
  std::vector<Anchor> known{anchor(1, ca_g1)};
};

}  // namespace

TEST(LearnGeneration, TheNextGenerationVouchedForByAKnownOne) {
  Rollover r;
  const Anchor a = learn_generation(2, r.new_with_old, r.ca_g2, r.known);
  EXPECT_EQ(a.generation, 2);
  EXPECT_EQ(a.certificate.der, r.ca_g2);
}

TEST(LearnGeneration, RefusesWhatNoKnownGenerationVouchesFor) {
  Rollover r;
  SoftwareSigner stranger(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  // A "link" signed by a key the relay does not know.
  EXPECT_THROW(learn_generation(2, certificate(stranger, r.g2.public_key()), r.ca_g2, r.known), ArtifactError);
  // A genuine link, but the self-signed certificate is for another key than the one vouched for.
  EXPECT_THROW(learn_generation(2, r.new_with_old, certificate(stranger, stranger.public_key()), r.known), ArtifactError);
  // Not the next generation.
  try {
    learn_generation(3, r.new_with_old, r.ca_g2, r.known);
    FAIL() << "generation 3 learnt after 1";
  } catch (const ArtifactError& e) {
    EXPECT_NE(std::string(e.what()).find("not the next one"), std::string::npos) << e.what();
  }
}

TEST(OcspResponder, OneDelegatePerGeneration) {
  Rollover r;
  r.known.push_back(anchor(2, r.ca_g2));
  SoftwareSigner responder(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  const Bytes by_g1 = certificate(r.g1, responder.public_key(), true);
  const Bytes by_g2 = certificate(r.g2, responder.public_key(), true);
  const OcspResponder both({by_g1, by_g2}, r.known, responder, std::chrono::hours(1));
  EXPECT_EQ(both.generations(), (std::vector<int>{1, 2}));
  try {
    OcspResponder twice({by_g1, certificate(r.g1, responder.public_key(), true)}, r.known, responder, std::chrono::hours(1));
    FAIL() << "two delegates for generation 1 accepted";
  } catch (const ArtifactError& e) {
    EXPECT_NE(std::string(e.what()).find("two OCSP responder certificates for CA generation 1"), std::string::npos) << e.what();
  }
  SoftwareSigner other(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  EXPECT_THROW(OcspResponder({by_g1}, r.known, other, std::chrono::hours(1)), ArtifactError);  // not the token's key
}
