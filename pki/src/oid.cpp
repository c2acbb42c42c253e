#include "hanko/pki/oid.h"

#include <charconv>
#include <vector>

namespace hanko::pki {

namespace {
void append_base128(Bytes& out, std::uint64_t value) {
  std::uint8_t buf[10];
  int n = 0;
  do {
    buf[n++] = static_cast<std::uint8_t>(value & 0x7F);
    value >>= 7;
  } while (value != 0);
  while (n > 0) {
    --n;
    out.push_back(static_cast<std::uint8_t>(buf[n] | (n > 0 ? 0x80 : 0)));
  }
}
}  // namespace

Oid::Oid(std::string_view dotted) {
  std::vector<std::uint64_t> arcs;
  std::size_t pos = 0;
  while (pos <= dotted.size()) {
    const std::size_t dot = std::min(dotted.find('.', pos), dotted.size());
    std::uint64_t arc = 0;
    const char* first = dotted.data() + pos;
    const char* last = dotted.data() + dot;
    const auto [ptr, ec] = std::from_chars(first, last, arc);
    if (ec != std::errc() || ptr != last || first == last || (last - first > 1 && *first == '0')) {
      throw BuildError("malformed OBJECT IDENTIFIER '" + std::string(dotted) + "'");
    }
    arcs.push_back(arc);
    pos = dot + 1;
  }
  if (arcs.size() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39)) {
    throw BuildError("malformed OBJECT IDENTIFIER '" + std::string(dotted) + "'");
  }
  append_base128(m_content, arcs[0] * 40 + arcs[1]);
  for (std::size_t i = 2; i < arcs.size(); ++i) append_base128(m_content, arcs[i]);
}

Oid Oid::from_der_content(BytesView content) {
  if (content.empty()) throw ParseError(ErrorId::kBadOid, "OBJECT IDENTIFIER is empty");
  if (content.back() & 0x80) {
    throw ParseError(ErrorId::kBadOid, "OBJECT IDENTIFIER ends inside a sub-identifier");
  }
  bool start_of_arc = true;
  std::size_t arc_length = 0;
  for (std::uint8_t b : content) {
    if (start_of_arc && b == 0x80) {
      throw ParseError(ErrorId::kBadOid, "OBJECT IDENTIFIER sub-identifier has a leading 0x80");
    }
    if (++arc_length > 9) {
      throw ParseError(ErrorId::kBadOid, "OBJECT IDENTIFIER sub-identifier is too large");
    }
    start_of_arc = (b & 0x80) == 0;
    if (start_of_arc) arc_length = 0;
  }
  Oid oid;
  oid.m_content.assign(content.begin(), content.end());
  return oid;
}

Oid Oid::read(der::Reader& r, std::string_view what) {
  const der::Element e = r.read(der::kOid, what);
  try {
    return from_der_content(e.content);
  } catch (const ParseError& err) {
    throw ParseError(err.id(), std::string(what) + ": " + err.what());
  }
}

std::string Oid::to_string() const {
  std::string out;
  std::uint64_t value = 0;
  bool first = true;
  for (std::uint8_t b : m_content) {
    value = value << 7 | (b & 0x7F);
    if (b & 0x80) continue;
    if (first) {
      const std::uint64_t top = value < 80 ? value / 40 : 2;
      out = std::to_string(top) + "." + std::to_string(value - top * 40);
      first = false;
    } else {
      out += "." + std::to_string(value);
    }
    value = 0;
  }
  return out;
}

std::string display_name(const Oid& o) {
  static const std::pair<const Oid*, const char*> names[] = {
      {&oid::kSubjectKeyIdentifier, "subjectKeyIdentifier"}, {&oid::kKeyUsage, "keyUsage"},
      {&oid::kSubjectAltName, "subjectAltName"}, {&oid::kIssuerAltName, "issuerAltName"},
      {&oid::kBasicConstraints, "basicConstraints"}, {&oid::kCrlNumber, "cRLNumber"}, {&oid::kReasonCode, "reasonCode"},
      {&oid::kInvalidityDate, "invalidityDate"}, {&oid::kIssuingDistributionPoint, "issuingDistributionPoint"},
      {&oid::kNameConstraints, "nameConstraints"}, {&oid::kCrlDistributionPoints, "cRLDistributionPoints"},
      {&oid::kCertificatePolicies, "certificatePolicies"}, {&oid::kPolicyMappings, "policyMappings"},
      {&oid::kAuthorityKeyIdentifier, "authorityKeyIdentifier"}, {&oid::kPolicyConstraints, "policyConstraints"},
      {&oid::kExtKeyUsage, "extKeyUsage"}, {&oid::kInhibitAnyPolicy, "inhibitAnyPolicy"},
      {&oid::kAuthorityInfoAccess, "authorityInfoAccess"}, {&oid::kOcspNoCheck, "ocspNoCheck"},
      {&oid::kAdOcsp, "OCSP"}, {&oid::kAdCaIssuers, "caIssuers"}, {&oid::kAnyPolicy, "anyPolicy"},
      {&oid::kKpServerAuth, "serverAuth"}, {&oid::kKpClientAuth, "clientAuth"}, {&oid::kKpCodeSigning, "codeSigning"},
      {&oid::kKpEmailProtection, "emailProtection"}, {&oid::kKpTimeStamping, "timeStamping"},
      {&oid::kKpOcspSigning, "OCSPSigning"}, {&oid::kP256, "P-256"}, {&oid::kP384, "P-384"}, {&oid::kP521, "P-521"}};
  for (const auto& [known, name] : names) {
    if (*known == o) return name;
  }
  return o.to_string();
}

}  // namespace hanko::pki
