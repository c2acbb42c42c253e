#include "hanko/pki/name.h"

namespace hanko::pki {

namespace {

struct ShortName {
  const char* name;
  const Oid* oid;
};

const std::vector<ShortName>& short_names() {
  static const std::vector<ShortName> kNames = {
      {"C", &oid::kCountryName},         {"ST", &oid::kStateOrProvinceName},
      {"L", &oid::kLocalityName},        {"O", &oid::kOrganizationName},
      {"OU", &oid::kOrganizationalUnitName}, {"CN", &oid::kCommonName},
      {"serialNumber", &oid::kSerialNumber}, {"dnQualifier", &oid::kDnQualifier},
      {"title", &oid::kTitle},           {"SN", &oid::kSurname},
      {"GN", &oid::kGivenName},          {"street", &oid::kStreetAddress},
      {"emailAddress", &oid::kEmailAddress}, {"DC", &oid::kDomainComponent},
  };
  return kNames;
}

// X.520 fixes these attribute types to PrintableString; email and DC are IA5String.
der::Tag string_tag_for(const Oid& type) {
  if (type == oid::kCountryName || type == oid::kSerialNumber || type == oid::kDnQualifier) {
    return der::kPrintableString;
  }
  if (type == oid::kEmailAddress || type == oid::kDomainComponent) return der::kIa5String;
  return der::kUtf8String;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | cp >> 6));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | cp >> 12));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | cp >> 18));
    out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

[[noreturn]] void bad_string(std::string_view what, const char* detail) {
  throw ParseError(ErrorId::kBadString, std::string(what) + ": " + detail);
}

// Decodes a DirectoryString-like value to UTF-8, checking its character set.
std::string decode_string(const der::Element& e, std::string_view what) {
  const std::string raw = to_string(e.content);
  switch (e.tag) {
    case der::kUtf8String:
      if (!der::is_valid_utf8(raw)) bad_string(what, "UTF8String is not valid UTF-8");
      return raw;
    case der::kPrintableString:
      if (!der::is_printable_string(raw)) bad_string(what, "PrintableString has characters outside its set");
      return raw;
    case der::kIa5String:
      if (!der::is_ia5_string(raw)) bad_string(what, "IA5String has non-ASCII characters");
      return raw;
    case der::kTeletexString:
      // T.61 is rarely what it claims; treat as Latin-1 for display only.
      {
        std::string out;
        for (unsigned char c : raw) append_utf8(out, c);
        return out;
      }
    case der::kBmpString: {
      if (raw.size() % 2) bad_string(what, "BMPString has an odd length");
      std::string out;
      for (std::size_t i = 0; i < raw.size(); i += 2) {
        const std::uint32_t cp = static_cast<unsigned char>(raw[i]) << 8 | static_cast<unsigned char>(raw[i + 1]);
        if (cp >= 0xD800 && cp <= 0xDFFF) bad_string(what, "BMPString holds a surrogate");
        append_utf8(out, cp);
      }
      return out;
    }
    case der::kUniversalString: {
      if (raw.size() % 4) bad_string(what, "UniversalString length is not a multiple of 4");
      std::string out;
      for (std::size_t i = 0; i < raw.size(); i += 4) {
        std::uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) cp = cp << 8 | static_cast<unsigned char>(raw[i + static_cast<std::size_t>(k)]);
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) bad_string(what, "UniversalString holds an invalid character");
        append_utf8(out, cp);
      }
      return out;
    }
    default:
      throw ParseError(ErrorId::kBadName, std::string(what) + ": attribute value is not a string type");
  }
}

std::string escape_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string attribute_short_name(const Oid& type) {
  for (const ShortName& s : short_names()) {
    if (*s.oid == type) return s.name;
  }
  return type.to_string();
}

std::optional<Oid> attribute_type_from_short_name(std::string_view name) {
  for (const ShortName& s : short_names()) {
    if (name == s.name) return *s.oid;
  }
  if (!name.empty() && name[0] >= '0' && name[0] <= '2') {
    try {
      return Oid(name);
    } catch (const BuildError&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

Name::Name() : m_der{der::kSequence, 0x00} {}

Name Name::build(const std::vector<std::pair<Oid, std::string>>& attributes) {
  Name name;
  der::Writer w;
  w.sequence([&](der::Writer& seq) {
    for (const auto& attribute : attributes) {
      // Plain references: clang 14 cannot capture structured bindings in the lambda below.
      const Oid& type = attribute.first;
      const std::string& value = attribute.second;
      const der::Tag tag = string_tag_for(type);
      if (value.empty()) throw BuildError("name attribute " + attribute_short_name(type) + " is empty");
      if (tag == der::kUtf8String && !der::is_valid_utf8(value)) {
        throw BuildError("name attribute " + attribute_short_name(type) + " is not valid UTF-8");
      }
      if (type == oid::kCountryName && value.size() != 2) {
        throw BuildError("country name must be a two-letter code such as JP, not '" + value + "'");
      }
      der::Writer atv;
      atv.sequence([&](der::Writer& s) {
        type.write(s);
        if (tag == der::kPrintableString) {
          s.printable_string(value);
        } else if (tag == der::kIa5String) {
          s.ia5_string(value);
        } else {
          s.utf8_string(value);
        }
      });
      seq.set_of({std::move(atv).take()});
      name.m_rdns.push_back({NameAttribute{type, tag, value}});
    }
  });
  name.m_der = std::move(w).take();
  return name;
}

Name Name::parse_text(std::string_view text) {
  if (text.empty() || text[0] != '/') {
    throw BuildError("a name is written /C=JP/O=Example/CN=Name (most significant first), not '" +
                     std::string(text) + "'");
  }
  std::vector<std::pair<Oid, std::string>> attributes;
  std::size_t i = 1;
  while (i < text.size()) {
    std::string part;
    for (; i < text.size() && text[i] != '/'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) ++i;
      part.push_back(text[i]);
    }
    ++i;
    const std::size_t eq = part.find('=');
    if (eq == std::string::npos) throw BuildError("name component '" + part + "' has no '='");
    const auto type = attribute_type_from_short_name(part.substr(0, eq));
    if (!type) {
      throw BuildError("unknown name attribute '" + part.substr(0, eq) +
                       "'; use C, ST, L, O, OU, CN, serialNumber, emailAddress, DC or a dotted OID");
    }
    attributes.emplace_back(*type, part.substr(eq + 1));
  }
  return build(attributes);
}

// Name ::= CHOICE { rdnSequence RDNSequence }
// RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
// RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
// AttributeTypeAndValue ::= SEQUENCE { type AttributeType, value AttributeValue }
Name Name::read(der::Reader& r, std::string_view what) {
  const der::Element whole = r.read(der::kSequence, what);
  Name name;
  name.m_der.assign(whole.whole.begin(), whole.whole.end());
  der::Reader rdns(whole.content);
  while (!rdns.at_end()) {
    der::Reader set = rdns.enter_set_of(what);
    if (set.at_end()) throw ParseError(ErrorId::kBadName, std::string(what) + ": empty RDN");
    RelativeDistinguishedName rdn;
    while (!set.at_end()) {
      der::Reader atv = set.enter_sequence(what);
      NameAttribute a;
      a.type = Oid::read(atv, what);
      const der::Element value = atv.read_any(what);
      a.string_tag = value.tag;
      a.value = decode_string(value, what);
      atv.expect_end(what);
      rdn.push_back(std::move(a));
    }
    name.m_rdns.push_back(std::move(rdn));
  }
  return name;
}

Name Name::from_der(BytesView der) {
  der::Reader r(der);
  Name n = read(r, "Name");
  r.expect_end("Name");
  return n;
}

std::string Name::to_string() const {
  std::string out;
  for (const RelativeDistinguishedName& rdn : m_rdns) {
    if (!out.empty()) out += ", ";
    bool first = true;
    for (const NameAttribute& a : rdn) {
      if (!first) out += " + ";
      first = false;
      out += attribute_short_name(a.type) + "=" + escape_value(a.value);
    }
  }
  return out;
}

std::optional<std::string> Name::first(const Oid& type) const {
  for (const RelativeDistinguishedName& rdn : m_rdns) {
    for (const NameAttribute& a : rdn) {
      if (a.type == type) return a.value;
    }
  }
  return std::nullopt;
}

}  // namespace hanko::pki
