#pragma once
// OCSP (RFC 6960): a strict parser for requests, a builder for signed basic responses that checks
// its own output, and a parser for responses (for tests, fuzzing and the relay's self-checks).
// No I/O and no clock: the responder passes producedAt and the validity window in.
#include <optional>
#include <vector>

#include "hanko/pki/algorithm.h"
#include "hanko/pki/certificate.h"
#include "hanko/pki/crl.h"
#include "hanko/pki/signer.h"
#include "hanko/pki/time.h"

namespace hanko::pki {

namespace oid {
inline const Oid kSha1{"1.3.14.3.2.26"};
inline const Oid kOcspBasic{"1.3.6.1.5.5.7.48.1.1"};
inline const Oid kOcspNonce{"1.3.6.1.5.5.7.48.1.2"};
}  // namespace oid

// OCSPResponseStatus ::= ENUMERATED
enum class OcspResponseStatus {
  kSuccessful = 0,
  kMalformedRequest = 1,
  kInternalError = 2,
  kTryLater = 3,
  kSigRequired = 5,
  kUnauthorized = 6,
};

// CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
//                       issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
struct CertId {
  Oid hash_algorithm;      // SHA-1 (what everybody sends) or SHA-256/384/512
  Bytes issuer_name_hash;  // hash of the issuer's Name DER
  Bytes issuer_key_hash;   // hash of the issuer's subjectPublicKey BIT STRING content
  Serial serial;
  friend bool operator==(const CertId&, const CertId&) = default;
};

// The CertID of `serial` issued by `issuer`, with SHA-1 (RFC 6960 4.1.1, RFC 5019).
CertId make_cert_id(const Certificate& issuer, const Serial& serial, const Oid& hash = oid::kSha1);
// Does `id` name `issuer` (by name and key hash, with the id's own hash algorithm)?
bool cert_id_matches_issuer(const CertId& id, const Certificate& issuer);

inline constexpr std::size_t kMaxOcspRequests = 64;  // single requests in one OCSPRequest

struct OcspRequest {
  std::vector<CertId> requests;
  std::optional<Bytes> nonce;  // extnValue content of id-pkix-ocsp-nonce, echoed verbatim
  bool signed_request = false;
};

// OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
// Strict DER; unknown critical extensions refused; at most kMaxOcspRequests single requests.
Parsed<OcspRequest> parse_ocsp_request(BytesView der);
Bytes encode_ocsp_request(const std::vector<CertId>& ids, const std::optional<Bytes>& nonce = std::nullopt);

enum class CertStatus { kGood, kRevoked, kUnknown };

struct SingleResponse {
  CertId cert_id;
  CertStatus status = CertStatus::kUnknown;
  Time revocation_time{};
  std::optional<ReasonCode> reason;
  Time this_update{};
  std::optional<Time> next_update;
};

struct BasicResponseTemplate {
  Bytes responder_key_hash;  // SHA-1 of the responder's subjectPublicKey (ResponderID byKey)
  Time produced_at{};
  std::vector<SingleResponse> responses;
  std::optional<Bytes> nonce;
  std::vector<Bytes> certificates;  // the delegated responder certificate
};

// Builds and signs a successful OCSPResponse with a BasicOCSPResponse; re-parses it strictly and
// verifies the signature with the signer's key before returning. Throws BuildError.
Bytes sign_ocsp_response(const BasicResponseTemplate& t, Signer& signer);
// An unsuccessful OCSPResponse (no responseBytes).
Bytes ocsp_error_response(OcspResponseStatus status);

struct OcspResponse {
  OcspResponseStatus status = OcspResponseStatus::kInternalError;
  Bytes tbs;  // ResponseData DER (what was signed)
  SignatureAlgorithm signature_algorithm{};
  Bytes signature;
  std::optional<Bytes> responder_key_hash;
  std::optional<Name> responder_name;
  Time produced_at{};
  std::vector<SingleResponse> responses;
  std::optional<Bytes> nonce;
  std::vector<Bytes> certificates;
};

Parsed<OcspResponse> parse_ocsp_response(BytesView der);
bool verify_ocsp_response(const OcspResponse& response, const PublicKey& responder_key);

}  // namespace hanko::pki
