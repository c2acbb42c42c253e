#pragma once
// X.509 v3 extensions (RFC 5280 4.2, 5.2, 5.3). Each has a value type, an encoder that returns an
// Extension and a strict decoder of the extnValue content.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "hanko/pki/der.h"
#include "hanko/pki/name.h"
#include "hanko/pki/oid.h"
#include "hanko/pki/time.h"

namespace hanko::pki {

struct Extension {
  Oid oid;
  bool critical = false;
  Bytes value;  // the DER inside extnValue
};

// Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
//                          extnValue OCTET STRING }
void write_extensions(der::Writer& w, const std::vector<Extension>& extensions);
// Reads SEQUENCE SIZE (1..MAX) OF Extension; refuses duplicates and explicit critical FALSE.
std::vector<Extension> read_extensions(der::Reader& r, std::string_view what);
const Extension* find_extension(const std::vector<Extension>& list, const Oid& oid);

// Certificate serial numbers (RFC 5280 4.1.2.2): positive, at most 20 octets, kept as magnitude.
class Serial {
 public:
  Serial() = default;
  explicit Serial(BytesView magnitude);  // leading zeros dropped; throws BuildError past 20 octets
  static Serial from_hex(std::string_view text);  // "581B..." or OpenSSL's "58:1b:..."
  static Serial read(der::Reader& r, std::string_view what, der::Tag tag = der::kInteger);
  BytesView magnitude() const noexcept { return {m_bytes.data(), m_size}; }
  std::string hex() const;  // upper case, no separators, as OpenSSL prints it
  void write(der::Writer& w) const { w.unsigned_integer(magnitude()); }
  bool empty() const noexcept { return m_size == 0; }
  friend bool operator==(const Serial& a, const Serial& b) noexcept {
    return a.m_size == b.m_size && std::equal(a.m_bytes.begin(), a.m_bytes.begin() + a.m_size, b.m_bytes.begin());
  }
  friend bool operator<(const Serial& a, const Serial& b) noexcept {
    if (a.m_size != b.m_size) return a.m_size < b.m_size;
    return std::lexicographical_compare(a.m_bytes.begin(), a.m_bytes.begin() + a.m_size,
                                        b.m_bytes.begin(), b.m_bytes.begin() + b.m_size);
  }

 private:
  std::array<std::uint8_t, 20> m_bytes{};
  std::uint8_t m_size = 0;
};

// GeneralName ::= CHOICE { otherName [0], rfc822Name [1] IA5String, dNSName [2] IA5String,
//   x400Address [3], directoryName [4] Name, ediPartyName [5], uniformResourceIdentifier [6]
//   IA5String, iPAddress [7] OCTET STRING, registeredID [8] OBJECT IDENTIFIER }
struct GeneralName {
  enum class Kind { kOtherName = 0, kRfc822 = 1, kDns = 2, kDirectory = 4, kUri = 6, kIp = 7, kRegisteredId = 8 };
  Kind kind = Kind::kUri;
  std::string text;     // rfc822, DNS, URI
  Name directory;       // directoryName
  Oid type;             // otherName type-id, registeredID
  Bytes value;          // otherName value (DER inside [0] EXPLICIT), IP address octets

  static GeneralName uri(std::string u);
  static GeneralName dns(std::string d);
  static GeneralName email(std::string e);
  static GeneralName directory_name(Name n);
  static GeneralName other_name(Oid type, Bytes value_der);
  static GeneralName other_name_utf8(Oid type, std::string_view text);
  std::string to_string() const;
};
using GeneralNames = std::vector<GeneralName>;
void write_general_name(der::Writer& w, const GeneralName& name);
GeneralName read_general_name(der::Reader& r, std::string_view what);
void write_general_names(der::Writer& w, const GeneralNames& names, der::Tag tag = der::kSequence);
GeneralNames read_general_names(der::Reader& r, std::string_view what);  // SEQUENCE SIZE (1..MAX)

struct BasicConstraints {
  bool ca = false;
  std::optional<int> path_length;
};

namespace key_usage {
inline constexpr std::uint32_t kDigitalSignature = 1u << 0;
inline constexpr std::uint32_t kNonRepudiation = 1u << 1;  // contentCommitment
inline constexpr std::uint32_t kKeyEncipherment = 1u << 2;
inline constexpr std::uint32_t kDataEncipherment = 1u << 3;
inline constexpr std::uint32_t kKeyAgreement = 1u << 4;
inline constexpr std::uint32_t kKeyCertSign = 1u << 5;
inline constexpr std::uint32_t kCrlSign = 1u << 6;
inline constexpr std::uint32_t kEncipherOnly = 1u << 7;
inline constexpr std::uint32_t kDecipherOnly = 1u << 8;
std::string describe(std::uint32_t mask);
}  // namespace key_usage

struct AuthorityKeyIdentifier {
  Bytes key_id;
  GeneralNames issuer;           // parsed when present; we never write it
  std::optional<Serial> serial;  // idem
};

struct DistributionPoint {
  GeneralNames full_name;
  std::optional<std::uint32_t> reasons;  // parsed only
  GeneralNames crl_issuer;               // parsed only
};

struct AccessDescription {
  Oid method;  // oid::kAdOcsp or oid::kAdCaIssuers
  GeneralName location;
};

struct PolicyInformation {
  Oid policy;
  std::vector<std::string> cps_uris;
};

struct PolicyMapping {
  Oid issuer_domain;
  Oid subject_domain;
};

struct PolicyConstraints {
  std::optional<int> require_explicit_policy;
  std::optional<int> inhibit_policy_mapping;
};

struct NameConstraints {
  GeneralNames permitted;
  GeneralNames excluded;
};

struct IssuingDistributionPoint {
  GeneralNames full_name;
  bool only_user_certs = false;
  bool only_ca_certs = false;
  bool indirect_crl = false;
  std::optional<std::uint32_t> only_some_reasons;
};

// Encoders. Criticality follows RFC 5280 unless stated.
Extension make_basic_constraints(const BasicConstraints& bc);  // critical
Extension make_key_usage(std::uint32_t mask);                  // critical
Extension make_extended_key_usage(const std::vector<Oid>& purposes, bool critical = false);
Extension make_subject_key_identifier(BytesView key_id);
Extension make_authority_key_identifier(BytesView key_id);
Extension make_crl_distribution_points(const std::vector<DistributionPoint>& points);
Extension make_authority_info_access(const std::vector<AccessDescription>& access);
Extension make_certificate_policies(const std::vector<PolicyInformation>& policies);
Extension make_subject_alt_name(const GeneralNames& names, bool critical = false);
Extension make_issuer_alt_name(const GeneralNames& names);
Extension make_policy_mappings(const std::vector<PolicyMapping>& mappings);  // critical
Extension make_policy_constraints(const PolicyConstraints& pc);             // critical
Extension make_name_constraints(const NameConstraints& nc);                 // critical
Extension make_inhibit_any_policy(int skip_certs);                          // critical
Extension make_ocsp_no_check();
Extension make_crl_number(std::uint64_t number);
Extension make_issuing_distribution_point(const IssuingDistributionPoint& idp);  // critical

// Strict decoders of the extnValue content; throw ParseError(kBadExtension, ...).
BasicConstraints decode_basic_constraints(BytesView value);
std::uint32_t decode_key_usage(BytesView value);
std::vector<Oid> decode_extended_key_usage(BytesView value);
Bytes decode_subject_key_identifier(BytesView value);
AuthorityKeyIdentifier decode_authority_key_identifier(BytesView value);
std::vector<DistributionPoint> decode_crl_distribution_points(BytesView value);
std::vector<AccessDescription> decode_authority_info_access(BytesView value);
std::vector<PolicyInformation> decode_certificate_policies(BytesView value);
GeneralNames decode_general_names(BytesView value);  // subjectAltName, issuerAltName
std::vector<PolicyMapping> decode_policy_mappings(BytesView value);
PolicyConstraints decode_policy_constraints(BytesView value);
NameConstraints decode_name_constraints(BytesView value);
int decode_inhibit_any_policy(BytesView value);
void decode_ocsp_no_check(BytesView value);
std::uint64_t decode_crl_number(BytesView value);
IssuingDistributionPoint decode_issuing_distribution_point(BytesView value);

// Decodes a known extension to check it, or returns false for an unknown type.
bool check_known_extension(const Extension& e);

}  // namespace hanko::pki
