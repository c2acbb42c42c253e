#pragma once
// OBJECT IDENTIFIER values, kept in their DER content form so comparisons are byte compares.
#include <compare>
#include <string>
#include <string_view>

#include "hanko/pki/bytes.h"
#include "hanko/pki/der.h"

namespace hanko::pki {

class Oid {
 public:
  Oid() = default;
  // Dotted text such as "2.5.4.3"; throws BuildError when malformed.
  explicit Oid(std::string_view dotted);
  // Strictly checked DER content octets; throws ParseError.
  static Oid from_der_content(BytesView content);
  static Oid read(der::Reader& r, std::string_view what);

  const Bytes& content() const noexcept { return m_content; }
  std::string to_string() const;
  bool empty() const noexcept { return m_content.empty(); }
  void write(der::Writer& w) const { w.primitive(der::kOid, m_content); }

  friend bool operator==(const Oid&, const Oid&) = default;
  friend auto operator<=>(const Oid& a, const Oid& b) { return a.m_content <=> b.m_content; }

 private:
  Bytes m_content;
};

namespace oid {
// Attribute types (RFC 5280 appendix A, RFC 4519)
inline const Oid kCountryName{"2.5.4.6"};
inline const Oid kStateOrProvinceName{"2.5.4.8"};
inline const Oid kLocalityName{"2.5.4.7"};
inline const Oid kOrganizationName{"2.5.4.10"};
inline const Oid kOrganizationalUnitName{"2.5.4.11"};
inline const Oid kCommonName{"2.5.4.3"};
inline const Oid kSerialNumber{"2.5.4.5"};
inline const Oid kDnQualifier{"2.5.4.46"};
inline const Oid kTitle{"2.5.4.12"};
inline const Oid kSurname{"2.5.4.4"};
inline const Oid kGivenName{"2.5.4.42"};
inline const Oid kStreetAddress{"2.5.4.9"};
inline const Oid kEmailAddress{"1.2.840.113549.1.9.1"};
inline const Oid kDomainComponent{"0.9.2342.19200300.100.1.25"};

// Algorithms
inline const Oid kRsaEncryption{"1.2.840.113549.1.1.1"};
inline const Oid kSha256WithRsa{"1.2.840.113549.1.1.11"};
inline const Oid kSha384WithRsa{"1.2.840.113549.1.1.12"};
inline const Oid kSha512WithRsa{"1.2.840.113549.1.1.13"};
inline const Oid kRsassaPss{"1.2.840.113549.1.1.10"};
inline const Oid kMgf1{"1.2.840.113549.1.1.8"};
inline const Oid kSha256{"2.16.840.1.101.3.4.2.1"};
inline const Oid kSha384{"2.16.840.1.101.3.4.2.2"};
inline const Oid kSha512{"2.16.840.1.101.3.4.2.3"};
inline const Oid kEcPublicKey{"1.2.840.10045.2.1"};
inline const Oid kEcdsaWithSha256{"1.2.840.10045.4.3.2"};
inline const Oid kEcdsaWithSha384{"1.2.840.10045.4.3.3"};
inline const Oid kEcdsaWithSha512{"1.2.840.10045.4.3.4"};
inline const Oid kP256{"1.2.840.10045.3.1.7"};
inline const Oid kP384{"1.3.132.0.34"};
inline const Oid kP521{"1.3.132.0.35"};

// Certificate and CRL extensions (RFC 5280 4.2, 5.2, 5.3; RFC 6960)
inline const Oid kSubjectKeyIdentifier{"2.5.29.14"};
inline const Oid kKeyUsage{"2.5.29.15"};
inline const Oid kSubjectAltName{"2.5.29.17"};
inline const Oid kIssuerAltName{"2.5.29.18"};
inline const Oid kBasicConstraints{"2.5.29.19"};
inline const Oid kCrlNumber{"2.5.29.20"};
inline const Oid kReasonCode{"2.5.29.21"};
inline const Oid kInvalidityDate{"2.5.29.24"};
inline const Oid kIssuingDistributionPoint{"2.5.29.28"};
inline const Oid kNameConstraints{"2.5.29.30"};
inline const Oid kCrlDistributionPoints{"2.5.29.31"};
inline const Oid kCertificatePolicies{"2.5.29.32"};
inline const Oid kPolicyMappings{"2.5.29.33"};
inline const Oid kAuthorityKeyIdentifier{"2.5.29.35"};
inline const Oid kPolicyConstraints{"2.5.29.36"};
inline const Oid kExtKeyUsage{"2.5.29.37"};
inline const Oid kInhibitAnyPolicy{"2.5.29.54"};
inline const Oid kAuthorityInfoAccess{"1.3.6.1.5.5.7.1.1"};
inline const Oid kOcspNoCheck{"1.3.6.1.5.5.7.48.1.5"};
inline const Oid kAdOcsp{"1.3.6.1.5.5.7.48.1"};
inline const Oid kAdCaIssuers{"1.3.6.1.5.5.7.48.2"};
inline const Oid kCpsQualifier{"1.3.6.1.5.5.7.2.1"};
inline const Oid kAnyPolicy{"2.5.29.32.0"};
inline const Oid kAnyExtendedKeyUsage{"2.5.29.37.0"};

// Extended key usages
inline const Oid kKpServerAuth{"1.3.6.1.5.5.7.3.1"};
inline const Oid kKpClientAuth{"1.3.6.1.5.5.7.3.2"};
inline const Oid kKpCodeSigning{"1.3.6.1.5.5.7.3.3"};
inline const Oid kKpEmailProtection{"1.3.6.1.5.5.7.3.4"};
inline const Oid kKpTimeStamping{"1.3.6.1.5.5.7.3.8"};
inline const Oid kKpOcspSigning{"1.3.6.1.5.5.7.3.9"};

// PKCS#9 attributes in certification requests
inline const Oid kExtensionRequest{"1.2.840.113549.1.9.14"};
inline const Oid kChallengePassword{"1.2.840.113549.1.9.7"};
}  // namespace oid

// The short name people know ("keyUsage", "P-256", "OCSPSigning"), or the dotted form.
std::string display_name(const Oid& oid);

}  // namespace hanko::pki
