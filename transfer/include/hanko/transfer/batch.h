#pragma once
// Request and result batches: what crosses the air gap between the RA side and the signer (the
// transfer bundle wraps them). Each request item is signed by the RA operator who vetted it; the
// signer checks every signature against the RA keys registered on the signer itself, because the
// relay in between is not trusted.
//
// RequestItem ::= SEQUENCE {
//   itemId     UTF8String (SIZE (1..64)),
//   raOperator UTF8String (SIZE (1..64)),
//   created    GeneralizedTime,
//   action     CHOICE {
//     issue  [0] IMPLICIT SEQUENCE {
//       profile     UTF8String,
//       request     CertificationRequest,
//       partition   [0] IMPLICIT UTF8String OPTIONAL,
//       subjectData [1] IMPLICIT SEQUENCE OF SEQUENCE { type OBJECT IDENTIFIER, value UTF8String } OPTIONAL },
//     revoke [1] IMPLICIT SEQUENCE {
//       serial INTEGER, reason ENUMERATED, invalidityDate GeneralizedTime OPTIONAL } } }
// SignedRequestItem ::= SEQUENCE { item RequestItem, signatureAlgorithm AlgorithmIdentifier,
//                                  signature BIT STRING }
// RequestBatch ::= SEQUENCE { version INTEGER (1), batchId OCTET STRING (SIZE (16)),
//                             created GeneralizedTime, items SEQUENCE SIZE (1..MAX) OF SignedRequestItem }
//
// ItemResult ::= SEQUENCE { itemId UTF8String, status ENUMERATED { issued (0), revoked (1), refused (2) },
//                           serial [0] IMPLICIT INTEGER OPTIONAL, certificate [1] EXPLICIT Certificate OPTIONAL,
//                           reason [2] IMPLICIT UTF8String OPTIONAL }
// ResultBatch ::= SEQUENCE { version INTEGER (1), batchId OCTET STRING (SIZE (16)),
//                            requestDigest OCTET STRING (SIZE (32)), processed GeneralizedTime,
//                            results SEQUENCE OF ItemResult, lists SEQUENCE OF CertificateList }
#include <optional>
#include <string>
#include <vector>

#include "hanko/pki/crl.h"
#include "hanko/pki/signer.h"

namespace hanko::transfer {

inline constexpr std::size_t kMaxBatchItems = 200000;
inline constexpr std::size_t kMaxBatchBytes = 512u << 20;

struct IssueAction {
  std::string profile;
  Bytes request;  // the CertificationRequest DER, parsed strictly when checked
  std::string partition;
  std::vector<std::pair<pki::Oid, std::string>> subject_data;
};

struct RevokeAction {
  pki::Serial serial;
  pki::ReasonCode reason = pki::ReasonCode::kUnspecified;
  std::optional<pki::Time> invalidity_date;
};

struct RequestItem {
  std::string item_id;
  std::string ra_operator;
  pki::Time created{};
  std::optional<IssueAction> issue;
  std::optional<RevokeAction> revoke;
};

struct SignedRequestItem {
  RequestItem item;
  Bytes item_der;  // what the RA operator signed
  pki::SignatureAlgorithm algorithm{};
  Bytes signature;
};

struct RequestBatch {
  Bytes batch_id;  // 16 octets
  pki::Time created{};
  std::vector<SignedRequestItem> items;
};

Bytes encode_request_item(const RequestItem& item);
Bytes sign_request_item(const RequestItem& item, pki::Signer& ra_signer);  // SignedRequestItem DER
Bytes encode_request_batch(BytesView batch_id, pki::Time created, const std::vector<Bytes>& signed_items);
// Strict; throws pki::ParseError naming the item and field.
RequestBatch parse_request_batch(BytesView der);

enum class ItemStatus { kIssued = 0, kRevoked = 1, kRefused = 2 };

struct ItemResult {
  std::string item_id;
  ItemStatus status = ItemStatus::kRefused;
  std::optional<pki::Serial> serial;
  Bytes certificate;
  std::string reason;
};

struct ResultBatch {
  Bytes batch_id;
  Bytes request_digest;
  pki::Time processed{};
  std::vector<ItemResult> results;
  std::vector<Bytes> lists;
};

Bytes encode_result_batch(const ResultBatch& batch);
ResultBatch parse_result_batch(BytesView der);

}  // namespace hanko::transfer
