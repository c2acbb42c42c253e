#pragma once
// X.509 v2 CRLs (RFC 5280 5): a builder fast enough for a million entries and a strict parser
// that can walk the entries without storing them.
#include <functional>
#include <optional>
#include <vector>

#include "hanko/pki/algorithm.h"
#include "hanko/pki/extensions.h"
#include "hanko/pki/name.h"
#include "hanko/pki/signer.h"
#include "hanko/pki/time.h"

namespace hanko::pki {

// CRLReason ::= ENUMERATED (RFC 5280 5.3.1)
enum class ReasonCode : std::uint8_t {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kCaCompromise = 2,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
  kCertificateHold = 6,
  kRemoveFromCrl = 8,
  kPrivilegeWithdrawn = 9,
  kAaCompromise = 10,
};
std::string_view reason_name(ReasonCode r);  // "keyCompromise"
std::optional<ReasonCode> parse_reason_name(std::string_view name);

struct RevokedCertificate {
  Serial serial;
  Time revocation_date{};
  std::optional<ReasonCode> reason;     // unspecified is written as absent (RFC 5280 5.3.1)
  std::optional<Time> invalidity_date;  // GeneralizedTime
};

struct CrlTemplate {
  Name issuer;  // verbatim from the issuer certificate's subject
  Time this_update{};
  Time next_update{};
  std::uint64_t crl_number = 0;
  Bytes authority_key_id;
  std::optional<IssuingDistributionPoint> issuing_distribution_point;
  std::vector<RevokedCertificate> revoked;  // empty: revokedCertificates left out
};

// Signs, re-parses strictly (without keeping entries) and verifies before returning the DER.
Bytes sign_crl(const CrlTemplate& t, Signer& signer);

struct Crl {
  Bytes der;
  std::size_t tbs_offset = 0;
  std::size_t tbs_size = 0;
  SignatureAlgorithm signature_algorithm{};
  Name issuer;
  Time this_update{};
  std::optional<Time> next_update;
  std::vector<Extension> extensions;
  std::optional<std::uint64_t> crl_number;
  std::size_t entry_count = 0;
  std::vector<RevokedCertificate> entries;  // filled only when asked
  Bytes signature;

  BytesView tbs() const { return BytesView(der).subspan(tbs_offset, tbs_size); }
  const Extension* extension(const Oid& oid) const { return find_extension(extensions, oid); }
};

struct CrlParseOptions {
  bool keep_entries = true;
  // Without a copy, `der` stays empty and tbs()/offsets refer to the caller's buffer.
  bool keep_der = true;
};
Parsed<Crl> parse_crl(BytesView der, CrlParseOptions options = {});
bool verify_crl_signature(const Crl& crl, const PublicKey& issuer_key);

}  // namespace hanko::pki
