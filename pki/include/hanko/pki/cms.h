#pragma once
// CMS SignedData (RFC 5652), the two shapes a repository needs: a certificates-only bundle (the
// ".p7c" of RFC 5280 4.2.1.13 / RFC 8551 3.2.2) and a detached signature over a file (the signed
// fingerprints page of R18). Builders check their own output; the parser is strict DER.
#include <optional>
#include <vector>

#include "hanko/pki/algorithm.h"
#include "hanko/pki/certificate.h"
#include "hanko/pki/signer.h"
#include "hanko/pki/time.h"

namespace hanko::pki {

namespace oid {
inline const Oid kCmsData{"1.2.840.113549.1.7.1"};
inline const Oid kCmsSignedData{"1.2.840.113549.1.7.2"};
inline const Oid kAttrContentType{"1.2.840.113549.1.9.3"};
inline const Oid kAttrMessageDigest{"1.2.840.113549.1.9.4"};
inline const Oid kAttrSigningTime{"1.2.840.113549.1.9.5"};
}  // namespace oid

inline constexpr std::size_t kMaxCmsCertificates = 64;

// ContentInfo { id-signedData, SignedData { version 1, digestAlgorithms {}, { id-data },
// certificates [0] (a DER SET OF, so sorted), signerInfos {} } }.
Bytes encode_certificate_bundle(const std::vector<Bytes>& certificates);

// A detached signature over `content` by `signer`, whose certificate is `signer_certificate`
// (its public key must be the signer's). `chain` are further certificates carried for path
// building (the CA certificate, link certificates). Signed attributes: contentType id-data,
// signingTime, messageDigest. The result is re-parsed and verified before it is returned;
// throws BuildError otherwise.
Bytes sign_detached(BytesView content, Signer& signer, const Certificate& signer_certificate,
                    const std::vector<Bytes>& chain, Time signing_time);

struct CmsSignerInfo {
  Name issuer;  // sid: issuerAndSerialNumber (the only form we accept)
  Serial serial;
  HashAlgorithm digest_algorithm = HashAlgorithm::kSha256;
  SignatureAlgorithm signature_algorithm{};
  Bytes signed_attributes;  // re-tagged as SET OF (0x31): what the signature covers
  Bytes message_digest;
  std::optional<Time> signing_time;
  Bytes signature;
};

struct SignedData {
  std::vector<Certificate> certificates;
  std::vector<CmsSignerInfo> signers;
  bool has_content = false;  // eContent present (we only accept detached or certs-only)
};

// ContentInfo with SignedData: strict DER (sorted SETs, no BER), version 1, id-data content,
// no CRLs, at most kMaxCmsCertificates certificates, each parsed strictly; signed attributes
// must hold contentType id-data and exactly one messageDigest.
Parsed<SignedData> parse_signed_data(BytesView der);

// Checks a detached signature: exactly one signer, whose certificate is among those carried,
// messageDigest equals the digest of `content`, and the signature verifies. Returns that
// certificate. Throws ParseError(kBadSignature) naming what is wrong. Trust in the certificate
// (a path to an anchor) is the caller's business.
const Certificate& verify_detached(const SignedData& signed_data, BytesView content);

}  // namespace hanko::pki
