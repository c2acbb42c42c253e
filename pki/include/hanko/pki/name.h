#pragma once
// X.501 Names (RFC 5280 4.1.2.4). Built names use PrintableString where X.520 requires it (C,
// serialNumber, dnQualifier) and UTF8String otherwise, so Japanese names round-trip byte-exact.
// Parsed names keep their raw encoding: an issuer is always copied verbatim, never re-encoded.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hanko/pki/der.h"
#include "hanko/pki/oid.h"

namespace hanko::pki {

struct NameAttribute {
  Oid type;
  der::Tag string_tag = der::kUtf8String;
  std::string value;  // UTF-8 text (BMP/Universal strings converted for display)
};
using RelativeDistinguishedName = std::vector<NameAttribute>;

class Name {
 public:
  Name();  // the empty name
  // One attribute per RDN, most significant first (C, ST, O, ..., CN).
  static Name build(const std::vector<std::pair<Oid, std::string>>& attributes);
  // OpenSSL-style text, most significant first: "/C=JP/ST=熊本県/CN=山田太郎". A '\' escapes '/'.
  static Name parse_text(std::string_view text);
  static Name read(der::Reader& r, std::string_view what);
  static Name from_der(BytesView der);  // strict; throws ParseError

  const Bytes& der() const noexcept { return m_der; }
  const std::vector<RelativeDistinguishedName>& rdns() const noexcept { return m_rdns; }
  bool empty() const noexcept { return m_rdns.empty(); }
  // "C=JP, ST=熊本県, CN=山田太郎"
  std::string to_string() const;
  std::optional<std::string> first(const Oid& type) const;

  friend bool operator==(const Name& a, const Name& b) { return a.m_der == b.m_der; }

 private:
  Bytes m_der;
  std::vector<RelativeDistinguishedName> m_rdns;
};

// Short name for an attribute type ("CN", "O", ...) or its dotted OID.
std::string attribute_short_name(const Oid& type);
std::optional<Oid> attribute_type_from_short_name(std::string_view name);

}  // namespace hanko::pki
