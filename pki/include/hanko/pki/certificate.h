#pragma once
// X.509 v3 certificates (RFC 5280 4.1): a builder that signs through a Signer and checks its own
// output, and a strict parser.
#include <optional>
#include <vector>

#include "hanko/pki/algorithm.h"
#include "hanko/pki/extensions.h"
#include "hanko/pki/name.h"
#include "hanko/pki/signer.h"
#include "hanko/pki/time.h"

namespace CryptoPP {
class RandomNumberGenerator;
}

namespace hanko::pki {

// A positive serial of 16 random octets (RFC 5280 and CA/B: at least 64 bits of entropy).
Serial random_serial(CryptoPP::RandomNumberGenerator& rng);

struct CertificateTemplate {
  Serial serial;
  Name issuer;   // copied verbatim from the issuer certificate's subject
  Name subject;
  Time not_before{};
  Time not_after{};
  Bytes subject_public_key_info;
  std::vector<Extension> extensions;
};

struct Certificate {
  Bytes der;
  std::size_t tbs_offset = 0;
  std::size_t tbs_size = 0;
  int version = 3;
  Serial serial;
  SignatureAlgorithm signature_algorithm{};
  Name issuer;
  Name subject;
  Time not_before{};
  Time not_after{};
  PublicKey public_key;
  std::vector<Extension> extensions;
  Bytes signature;

  BytesView tbs() const { return BytesView(der).subspan(tbs_offset, tbs_size); }
  const Extension* extension(const Oid& oid) const { return find_extension(extensions, oid); }
  std::optional<BasicConstraints> basic_constraints() const;
  std::optional<std::uint32_t> key_usage() const;
  std::optional<Bytes> subject_key_id() const;
  std::optional<Bytes> authority_key_id() const;
  GeneralNames subject_alt_names() const;
  bool is_ca() const;
  bool is_self_issued() const { return issuer == subject; }
  Bytes fingerprint_sha256() const;
  Bytes fingerprint_sha1() const;
};

Bytes encode_tbs_certificate(const CertificateTemplate& t, SignatureAlgorithm algorithm);
// Signs, re-parses strictly and verifies the signature with the signer's public key before
// returning the DER. Throws BuildError when the result would not be a valid certificate.
Bytes sign_certificate(const CertificateTemplate& t, Signer& signer);
// The two halves of sign_certificate, for pipelines that check on another thread while the
// token signs: nothing unchecked may be used or recorded. `expected_tbs` (when not empty) must
// equal the signed TBSCertificate byte for byte.
Bytes sign_certificate_unchecked(const CertificateTemplate& t, Signer& signer);
void check_signed_certificate(BytesView der, const PublicKey& issuer_key, BytesView expected_tbs = {});

Parsed<Certificate> parse_certificate(BytesView der);
bool verify_certificate_signature(const Certificate& cert, const PublicKey& issuer_key);

}  // namespace hanko::pki
