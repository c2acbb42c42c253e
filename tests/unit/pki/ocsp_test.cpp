#include <gtest/gtest.h>

#include "hanko/pki/ocsp.h"
#include "hanko/pki/testing/software_signer.h"

using namespace hanko;
using namespace hanko::pki;

namespace {

CertId sample_id(std::uint8_t last) {
  CertId id;
  id.hash_algorithm = oid::kSha1;
  id.issuer_name_hash = Bytes(20, 0x11);
  id.issuer_key_hash = Bytes(20, 0x22);
  id.serial = Serial(Bytes{0x5A, 0x0F, last});
  return id;
}

}  // namespace

TEST(Ocsp, RequestRoundTripsWithNonce) {
  const Bytes nonce{0x04, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const Bytes der = encode_ocsp_request({sample_id(1), sample_id(2)}, nonce);
  const auto r = parse_ocsp_request(der);
  ASSERT_TRUE(r) << r.message();
  ASSERT_EQ(r->requests.size(), 2u);
  EXPECT_EQ(r->requests[1], sample_id(2));
  EXPECT_EQ(r->nonce, nonce);
  EXPECT_FALSE(r->signed_request);
}

TEST(Ocsp, RequestRefusesTrailingBytesEmptyListAndExplicitV1) {
  Bytes der = encode_ocsp_request({sample_id(1)});
  der.push_back(0);
  EXPECT_EQ(parse_ocsp_request(der).error(), ErrorId::kTrailingBytes);
  // TBSRequest with version [0] EXPLICIT INTEGER 0 written out: DER forbids the DEFAULT.
  const Bytes v1 = der::encode_sequence([](der::Writer& w) {
    w.sequence([](der::Writer& t) {
      t.explicit_tag(0, [](der::Writer& v) { v.integer(0); });
      t.sequence([](der::Writer& l) { l.sequence([](der::Writer&) {}); });
    });
  });
  EXPECT_EQ(parse_ocsp_request(v1).error(), ErrorId::kExplicitDefault);
  const Bytes empty = der::encode_sequence([](der::Writer& w) { w.sequence([](der::Writer& t) { t.sequence([](der::Writer&) {}); }); });
  EXPECT_EQ(parse_ocsp_request(empty).error(), ErrorId::kEmptySequence);
  EXPECT_FALSE(parse_ocsp_request(Bytes{0x30, 0x80, 0, 0}));  // indefinite length
}

TEST(Ocsp, SignedResponseParsesAndVerifies) {
  SoftwareSigner signer(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  BasicResponseTemplate t;
  t.responder_key_hash = Bytes(20, 0x33);
  t.produced_at = parse_time_text("2026-11-22T00:00:00Z");
  t.nonce = Bytes{0x04, 0x02, 0xAB, 0xCD};
  SingleResponse good;
  good.cert_id = sample_id(1);
  good.status = CertStatus::kGood;
  good.this_update = t.produced_at;
  good.next_update = t.produced_at + std::chrono::hours(1);
  SingleResponse revoked = good;
  revoked.cert_id = sample_id(2);
  revoked.status = CertStatus::kRevoked;
  revoked.revocation_time = t.produced_at - std::chrono::hours(5);
  revoked.reason = ReasonCode::kKeyCompromise;
  SingleResponse unknown = good;
  unknown.cert_id = sample_id(3);
  unknown.status = CertStatus::kUnknown;
  t.responses = {good, revoked, unknown};
  const Bytes der = sign_ocsp_response(t, signer);
  const auto r = parse_ocsp_response(der);
  ASSERT_TRUE(r) << r.message();
  EXPECT_TRUE(verify_ocsp_response(*r, signer.public_key()));
  ASSERT_EQ(r->responses.size(), 3u);
  EXPECT_EQ(r->responses[0].status, CertStatus::kGood);
  EXPECT_EQ(r->responses[1].status, CertStatus::kRevoked);
  EXPECT_EQ(r->responses[1].reason, ReasonCode::kKeyCompromise);
  EXPECT_EQ(r->responses[1].revocation_time, revoked.revocation_time);
  EXPECT_EQ(r->responses[2].status, CertStatus::kUnknown);
  EXPECT_EQ(r->nonce, t.nonce);
  EXPECT_EQ(r->responder_key_hash, t.responder_key_hash);
  SoftwareSigner other(SoftwareKeyType::kEcP256, SignatureAlgorithm::kEcdsaSha256);
  EXPECT_FALSE(verify_ocsp_response(*r, other.public_key()));
}

TEST(Ocsp, ErrorResponses) {
  const Bytes der = ocsp_error_response(OcspResponseStatus::kMalformedRequest);
  EXPECT_EQ(der, (Bytes{0x30, 0x03, 0x0A, 0x01, 0x01}));
  const auto r = parse_ocsp_response(der);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, OcspResponseStatus::kMalformedRequest);
  EXPECT_THROW(ocsp_error_response(OcspResponseStatus::kSuccessful), BuildError);
}
