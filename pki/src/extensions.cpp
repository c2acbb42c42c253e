#include "hanko/pki/extensions.h"

#include <set>

namespace hanko::pki {

namespace {

[[noreturn]] void bad(std::string_view what, const std::string& detail) {
  throw ParseError(ErrorId::kBadExtension, std::string(what) + ": " + detail);
}

// Runs `body` on a reader over `value` that must hold exactly one element; any structural
// error is reported as a bad extension naming it.
template <class F>
auto decode_value(BytesView value, std::string_view what, F&& body) {
  try {
    der::Reader r(value);
    auto result = body(r);
    r.expect_end(what);
    return result;
  } catch (const ParseError& e) {
    if (e.id() == ErrorId::kBadExtension) throw;
    throw ParseError(ErrorId::kBadExtension, std::string(what) + " (" +
                                                 std::string(error_id_name(e.id())) + "): " + e.what());
  }
}

Extension make(const Oid& oid, bool critical, const der::Writer::Body& body) {
  return Extension{oid, critical, der::encode(body)};
}

std::string ia5_text(const der::Element& e, std::string_view what) {
  std::string s = to_string(e.content);
  if (!der::is_ia5_string(s)) throw ParseError(ErrorId::kBadString, std::string(what) + ": IA5String has non-ASCII characters");
  return s;
}

std::optional<int> read_optional_small(der::Reader& r, der::Tag tag, std::string_view what) {
  if (!r.peek(tag)) return std::nullopt;
  const std::int64_t v = r.read_small_integer(tag, what);
  if (v < 0 || v > 1000) bad(what, "value out of range");
  return static_cast<int>(v);
}

}  // namespace

// ----- Extensions container ------------------------------------------------------------------

void write_extensions(der::Writer& w, const std::vector<Extension>& extensions) {
  std::set<Oid> seen;
  w.sequence([&](der::Writer& list) {
    for (const Extension& e : extensions) {
      if (!seen.insert(e.oid).second) throw BuildError("extension " + e.oid.to_string() + " appears twice");
      list.sequence([&](der::Writer& s) {
        e.oid.write(s);
        if (e.critical) s.boolean(true);  // DER: DEFAULT FALSE is never written
        s.octet_string(e.value);
      });
    }
  });
}

std::vector<Extension> read_extensions(der::Reader& r, std::string_view what) {
  der::Reader list = r.enter_sequence(what);
  if (list.at_end()) throw ParseError(ErrorId::kEmptySequence, std::string(what) + ": empty extension list");
  std::vector<Extension> out;
  std::set<Oid> seen;
  while (!list.at_end()) {
    der::Reader ext = list.enter_sequence(what);
    Extension e;
    e.oid = Oid::read(ext, what);
    if (ext.peek(der::kBoolean)) {
      e.critical = ext.read_boolean(what);
      if (!e.critical) {
        throw ParseError(ErrorId::kExplicitDefault, std::string(what) + ": extension " + e.oid.to_string() + " writes critical FALSE (a DEFAULT) explicitly");
      }
    }
    const BytesView value = ext.read_octet_string(what);
    e.value.assign(value.begin(), value.end());
    ext.expect_end(what);
    if (!seen.insert(e.oid).second) {
      throw ParseError(ErrorId::kDuplicateExtension, std::string(what) + ": extension " + e.oid.to_string() + " appears twice");
    }
    out.push_back(std::move(e));
  }
  return out;
}

const Extension* find_extension(const std::vector<Extension>& list, const Oid& oid) {
  for (const Extension& e : list) {
    if (e.oid == oid) return &e;
  }
  return nullptr;
}

// ----- Serial --------------------------------------------------------------------------------

Serial::Serial(BytesView magnitude) {
  std::size_t start = 0;
  while (start < magnitude.size() && magnitude[start] == 0) ++start;
  const BytesView digits = magnitude.subspan(start);
  // 20 octets of content at most (RFC 5280 4.1.2.2); a leading sign octet counts.
  if (digits.size() > 20 || (digits.size() == 20 && (digits[0] & 0x80))) {
    throw BuildError("serial number longer than 20 octets");
  }
  std::copy(digits.begin(), digits.end(), m_bytes.begin());
  m_size = static_cast<std::uint8_t>(digits.size());
}

Serial Serial::from_hex(std::string_view text) {
  // Also OpenSSL's "58:1b:..." form, as `openssl x509 -serial` and `-text` print it.
  std::string hex;
  for (char c : text) {
    if (c != ':') hex += c;
  }
  try {
    if (hex.empty()) throw std::invalid_argument("empty");
    return Serial(hanko::from_hex(hex.size() % 2 ? "0" + hex : hex));
  } catch (const std::invalid_argument& e) {
    throw BuildError("serial '" + std::string(text) + "' is not hexadecimal: " + e.what());
  }
}

Serial Serial::read(der::Reader& r, std::string_view what, der::Tag tag) {
  BytesView c = r.read_positive_integer(tag, what);
  if (c.size() > 20) {
    throw ParseError(ErrorId::kIntegerTooLarge, std::string(what) + ": serial number longer than 20 octets");
  }
  return Serial(c);
}

std::string Serial::hex() const { return hanko::to_hex(magnitude()); }

// ----- GeneralName ---------------------------------------------------------------------------

GeneralName GeneralName::uri(std::string u) {
  GeneralName g;
  g.kind = Kind::kUri;
  g.text = std::move(u);
  return g;
}
GeneralName GeneralName::dns(std::string d) {
  GeneralName g;
  g.kind = Kind::kDns;
  g.text = std::move(d);
  return g;
}
GeneralName GeneralName::email(std::string e) {
  GeneralName g;
  g.kind = Kind::kRfc822;
  g.text = std::move(e);
  return g;
}
GeneralName GeneralName::directory_name(Name n) {
  GeneralName g;
  g.kind = Kind::kDirectory;
  g.directory = std::move(n);
  return g;
}
GeneralName GeneralName::other_name(Oid type, Bytes value_der) {
  GeneralName g;
  g.kind = Kind::kOtherName;
  g.type = std::move(type);
  g.value = std::move(value_der);
  return g;
}
GeneralName GeneralName::other_name_utf8(Oid type, std::string_view text) {
  if (!der::is_valid_utf8(text)) throw BuildError("otherName value is not valid UTF-8");
  der::Writer w;
  w.utf8_string(text);
  return other_name(std::move(type), std::move(w).take());
}

std::string GeneralName::to_string() const {
  switch (kind) {
    case Kind::kRfc822: return "email:" + text;
    case Kind::kDns: return "DNS:" + text;
    case Kind::kUri: return "URI:" + text;
    case Kind::kDirectory: return "DirName:" + directory.to_string();
    case Kind::kIp: return "IP:" + to_hex(value, ':');
    case Kind::kRegisteredId: return "RID:" + type.to_string();
    case Kind::kOtherName: {
      std::string shown = to_hex(value);
      try {
        der::Reader r(value);
        const der::Element e = r.read_any("otherName");
        if (e.tag == der::kUtf8String && r.at_end()) shown = "\"" + hanko::to_string(e.content) + "\"";
      } catch (const ParseError&) {
      }
      return "othername:" + type.to_string() + "=" + shown;
    }
  }
  return "?";
}

void write_general_name(der::Writer& w, const GeneralName& g) {
  switch (g.kind) {
    case GeneralName::Kind::kOtherName:
      // OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY }
      w.constructed(der::context_constructed(0), [&](der::Writer& s) {
        g.type.write(s);
        s.explicit_tag(0, [&](der::Writer& v) { v.raw(g.value); });
      });
      break;
    case GeneralName::Kind::kRfc822:
    case GeneralName::Kind::kDns:
    case GeneralName::Kind::kUri:
      if (g.text.empty()) throw BuildError("empty name in a GeneralName");
      w.ia5_string(g.text, der::context(static_cast<unsigned>(g.kind)));
      break;
    case GeneralName::Kind::kDirectory:
      // directoryName is EXPLICIT because Name is a CHOICE.
      w.explicit_tag(4, [&](der::Writer& s) { s.raw(g.directory.der()); });
      break;
    case GeneralName::Kind::kIp:
      w.primitive(der::context(7), g.value);
      break;
    case GeneralName::Kind::kRegisteredId:
      w.primitive(der::context(8), g.type.content());
      break;
  }
}

GeneralName read_general_name(der::Reader& r, std::string_view what) {
  const der::Element e = r.read_any(what);
  GeneralName g;
  switch (e.tag) {
    case der::context_constructed(0): {
      g.kind = GeneralName::Kind::kOtherName;
      der::Reader s(e.content);
      g.type = Oid::read(s, what);
      der::Reader v = s.enter(der::context_constructed(0), what);
      const der::Element inner = v.read_any(what);
      v.expect_end(what);
      s.expect_end(what);
      g.value.assign(inner.whole.begin(), inner.whole.end());
      break;
    }
    case der::context(1):
    case der::context(2):
    case der::context(6):
      g.kind = static_cast<GeneralName::Kind>(e.tag & 0x1F);
      g.text = ia5_text(e, what);
      if (g.text.empty()) bad(what, "empty name");
      break;
    case der::context_constructed(4): {
      g.kind = GeneralName::Kind::kDirectory;
      der::Reader s(e.content);
      g.directory = Name::read(s, what);
      s.expect_end(what);
      break;
    }
    case der::context(7):
      g.kind = GeneralName::Kind::kIp;
      if (e.content.size() != 4 && e.content.size() != 16 && e.content.size() != 8 &&
          e.content.size() != 32) {
        bad(what, "iPAddress must be 4 or 16 octets (8 or 32 in name constraints)");
      }
      g.value.assign(e.content.begin(), e.content.end());
      break;
    case der::context(8):
      g.kind = GeneralName::Kind::kRegisteredId;
      g.type = Oid::from_der_content(e.content);
      break;
    default:
      bad(what, "unsupported GeneralName form (x400Address or ediPartyName)");
  }
  return g;
}

void write_general_names(der::Writer& w, const GeneralNames& names, der::Tag tag) {
  if (names.empty()) throw BuildError("GeneralNames must hold at least one name");
  w.constructed(tag, [&](der::Writer& s) {
    for (const GeneralName& g : names) write_general_name(s, g);
  });
}

GeneralNames read_general_names(der::Reader& r, std::string_view what) {
  der::Reader s = r.enter_sequence(what);
  GeneralNames out;
  while (!s.at_end()) out.push_back(read_general_name(s, what));
  if (out.empty()) throw ParseError(ErrorId::kEmptySequence, std::string(what) + ": no names");
  return out;
}

namespace {
GeneralNames read_general_names_content(der::Reader s, std::string_view what) {
  GeneralNames out;
  while (!s.at_end()) out.push_back(read_general_name(s, what));
  if (out.empty()) throw ParseError(ErrorId::kEmptySequence, std::string(what) + ": no names");
  return out;
}
}  // namespace

// ----- key usage text --------------------------------------------------------------------------

std::string key_usage::describe(std::uint32_t mask) {
  static const char* const kNames[] = {"digitalSignature", "nonRepudiation", "keyEncipherment",
                                       "dataEncipherment", "keyAgreement",   "keyCertSign",
                                       "cRLSign",          "encipherOnly",   "decipherOnly"};
  std::string out;
  for (unsigned bit = 0; bit < 9; ++bit) {
    if (mask & (1u << bit)) out += (out.empty() ? "" : ", ") + std::string(kNames[bit]);
  }
  return out;
}

// ----- encoders ------------------------------------------------------------------------------

// BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
Extension make_basic_constraints(const BasicConstraints& bc) {
  if (bc.path_length && !bc.ca) throw BuildError("pathLenConstraint needs cA TRUE");
  return make(oid::kBasicConstraints, true, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) {
      if (bc.ca) s.boolean(true);
      if (bc.path_length) s.integer(*bc.path_length);
    });
  });
}

// KeyUsage ::= BIT STRING
Extension make_key_usage(std::uint32_t mask) {
  if (mask == 0) throw BuildError("keyUsage needs at least one bit");
  return make(oid::kKeyUsage, true, [&](der::Writer& w) { w.named_bits(mask); });
}

// ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
Extension make_extended_key_usage(const std::vector<Oid>& purposes, bool critical) {
  if (purposes.empty()) throw BuildError("extendedKeyUsage needs at least one purpose");
  return make(oid::kExtKeyUsage, critical, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) {
      for (const Oid& p : purposes) p.write(s);
    });
  });
}

// SubjectKeyIdentifier ::= KeyIdentifier (OCTET STRING)
Extension make_subject_key_identifier(BytesView key_id) {
  return make(oid::kSubjectKeyIdentifier, false, [&](der::Writer& w) { w.octet_string(key_id); });
}

// AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] KeyIdentifier OPTIONAL, ... }
Extension make_authority_key_identifier(BytesView key_id) {
  return make(oid::kAuthorityKeyIdentifier, false, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) { s.primitive(der::context(0), key_id); });
  });
}

// DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, ... }
// DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
Extension make_crl_distribution_points(const std::vector<DistributionPoint>& points) {
  if (points.empty()) throw BuildError("cRLDistributionPoints needs at least one point");
  return make(oid::kCrlDistributionPoints, false, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) {
      for (const DistributionPoint& p : points) {
        s.sequence([&](der::Writer& dp) {
          dp.explicit_tag(0, [&](der::Writer& name) {
            write_general_names(name, p.full_name, der::context_constructed(0));
          });
        });
      }
    });
  });
}

// AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF AccessDescription
Extension make_authority_info_access(const std::vector<AccessDescription>& access) {
  if (access.empty()) throw BuildError("authorityInfoAccess needs at least one entry");
  return make(oid::kAuthorityInfoAccess, false, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) {
      for (const AccessDescription& a : access) {
        s.sequence([&](der::Writer& d) {
          a.method.write(d);
          write_general_name(d, a.location);
        });
      }
    });
  });
}

// certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation
// PolicyInformation ::= SEQUENCE { policyIdentifier, policyQualifiers SEQUENCE SIZE (1..MAX) OF
//   PolicyQualifierInfo OPTIONAL }; PolicyQualifierInfo ::= SEQUENCE { id, qualifier ANY }
Extension make_certificate_policies(const std::vector<PolicyInformation>& policies) {
  if (policies.empty()) throw BuildError("certificatePolicies needs at least one policy");
  return make(oid::kCertificatePolicies, false, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) {
      for (const PolicyInformation& p : policies) {
        s.sequence([&](der::Writer& info) {
          p.policy.write(info);
          if (p.cps_uris.empty()) return;
          info.sequence([&](der::Writer& qualifiers) {
            for (const std::string& uri : p.cps_uris) {
              qualifiers.sequence([&](der::Writer& q) {
                oid::kCpsQualifier.write(q);
                q.ia5_string(uri);
              });
            }
          });
        });
      }
    });
  });
}

Extension make_subject_alt_name(const GeneralNames& names, bool critical) {
  return make(oid::kSubjectAltName, critical, [&](der::Writer& w) { write_general_names(w, names); });
}

Extension make_issuer_alt_name(const GeneralNames& names) {
  return make(oid::kIssuerAltName, false, [&](der::Writer& w) { write_general_names(w, names); });
}

// PolicyMappings ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { issuerDomainPolicy, subjectDomainPolicy }
Extension make_policy_mappings(const std::vector<PolicyMapping>& mappings) {
  if (mappings.empty()) throw BuildError("policyMappings needs at least one mapping");
  return make(oid::kPolicyMappings, true, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) {
      for (const PolicyMapping& m : mappings) {
        if (m.issuer_domain == oid::kAnyPolicy || m.subject_domain == oid::kAnyPolicy) {
          throw BuildError("anyPolicy cannot be mapped (RFC 5280 4.2.1.5)");
        }
        s.sequence([&](der::Writer& p) {
          m.issuer_domain.write(p);
          m.subject_domain.write(p);
        });
      }
    });
  });
}

// PolicyConstraints ::= SEQUENCE { requireExplicitPolicy [0] SkipCerts OPTIONAL,
//                                  inhibitPolicyMapping [1] SkipCerts OPTIONAL }
Extension make_policy_constraints(const PolicyConstraints& pc) {
  if (!pc.require_explicit_policy && !pc.inhibit_policy_mapping) {
    throw BuildError("policyConstraints must set at least one field (RFC 5280 4.2.1.11)");
  }
  return make(oid::kPolicyConstraints, true, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) {
      if (pc.require_explicit_policy) s.integer(*pc.require_explicit_policy, der::context(0));
      if (pc.inhibit_policy_mapping) s.integer(*pc.inhibit_policy_mapping, der::context(1));
    });
  });
}

// NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL,
//                                excludedSubtrees [1] GeneralSubtrees OPTIONAL }
// GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }
Extension make_name_constraints(const NameConstraints& nc) {
  if (nc.permitted.empty() && nc.excluded.empty()) throw BuildError("nameConstraints is empty");
  return make(oid::kNameConstraints, true, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) {
      const auto subtrees = [&](unsigned tag, const GeneralNames& names) {
        if (names.empty()) return;
        s.constructed(der::context_constructed(tag), [&](der::Writer& list) {
          for (const GeneralName& g : names) {
            list.sequence([&](der::Writer& st) { write_general_name(st, g); });
          }
        });
      };
      subtrees(0, nc.permitted);
      subtrees(1, nc.excluded);
    });
  });
}

// InhibitAnyPolicy ::= SkipCerts (INTEGER (0..MAX))
Extension make_inhibit_any_policy(int skip_certs) {
  if (skip_certs < 0) throw BuildError("inhibitAnyPolicy must be >= 0");
  return make(oid::kInhibitAnyPolicy, true, [&](der::Writer& w) { w.integer(skip_certs); });
}

// id-pkix-ocsp-nocheck: extnValue is NULL (RFC 6960 4.2.2.2.1)
Extension make_ocsp_no_check() {
  return make(oid::kOcspNoCheck, false, [](der::Writer& w) { w.null(); });
}

// CRLNumber ::= INTEGER (0..MAX)
Extension make_crl_number(std::uint64_t number) {
  std::uint8_t buf[8];
  for (int i = 7; i >= 0; --i, number >>= 8) buf[i] = static_cast<std::uint8_t>(number);
  return make(oid::kCrlNumber, false, [&](der::Writer& w) { w.unsigned_integer(BytesView(buf, 8)); });
}

// IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL,
//   onlyContainsUserCerts [1] BOOLEAN DEFAULT FALSE, onlyContainsCACerts [2] BOOLEAN DEFAULT FALSE,
//   onlySomeReasons [3] ReasonFlags OPTIONAL, indirectCRL [4] BOOLEAN DEFAULT FALSE,
//   onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
Extension make_issuing_distribution_point(const IssuingDistributionPoint& idp) {
  if (idp.only_user_certs && idp.only_ca_certs) {
    throw BuildError("a CRL cannot hold only user and only CA certificates at once");
  }
  static const std::uint8_t kTrue = 0xFF;
  return make(oid::kIssuingDistributionPoint, true, [&](der::Writer& w) {
    w.sequence([&](der::Writer& s) {
      if (!idp.full_name.empty()) {
        s.explicit_tag(0, [&](der::Writer& name) {
          write_general_names(name, idp.full_name, der::context_constructed(0));
        });
      }
      if (idp.only_user_certs) s.primitive(der::context(1), BytesView(&kTrue, 1));
      if (idp.only_ca_certs) s.primitive(der::context(2), BytesView(&kTrue, 1));
      if (idp.only_some_reasons) s.named_bits(*idp.only_some_reasons, der::context(3));
      if (idp.indirect_crl) s.primitive(der::context(4), BytesView(&kTrue, 1));
    });
  });
}

// ----- decoders ------------------------------------------------------------------------------

BasicConstraints decode_basic_constraints(BytesView value) {
  return decode_value(value, "basicConstraints", [](der::Reader& r) {
    der::Reader s = r.enter_sequence("basicConstraints");
    BasicConstraints bc;
    if (s.peek(der::kBoolean)) {
      bc.ca = s.read_boolean("basicConstraints cA");
      if (!bc.ca) throw ParseError(ErrorId::kExplicitDefault, "basicConstraints: cA FALSE written out (DEFAULT)");
    }
    if (s.peek(der::kInteger)) {
      const std::int64_t v = s.read_small_integer("pathLenConstraint");
      if (v < 0 || v > 255) bad("basicConstraints", "pathLenConstraint out of range");
      if (!bc.ca) bad("basicConstraints", "pathLenConstraint without cA");
      bc.path_length = static_cast<int>(v);
    }
    s.expect_end("basicConstraints");
    return bc;
  });
}

std::uint32_t decode_key_usage(BytesView value) {
  return decode_value(value, "keyUsage", [](der::Reader& r) {
    const std::uint32_t mask = r.read_named_bits("keyUsage");
    if (mask == 0) bad("keyUsage", "no bit set");
    if (mask >> 9) bad("keyUsage", "unknown bits set");
    return mask;
  });
}

std::vector<Oid> decode_extended_key_usage(BytesView value) {
  return decode_value(value, "extendedKeyUsage", [](der::Reader& r) {
    der::Reader s = r.enter_sequence("extendedKeyUsage");
    std::vector<Oid> out;
    while (!s.at_end()) out.push_back(Oid::read(s, "extendedKeyUsage"));
    if (out.empty()) bad("extendedKeyUsage", "empty");
    return out;
  });
}

Bytes decode_subject_key_identifier(BytesView value) {
  return decode_value(value, "subjectKeyIdentifier", [](der::Reader& r) {
    const BytesView id = r.read_octet_string("subjectKeyIdentifier");
    if (id.empty()) bad("subjectKeyIdentifier", "empty");
    return Bytes(id.begin(), id.end());
  });
}

AuthorityKeyIdentifier decode_authority_key_identifier(BytesView value) {
  return decode_value(value, "authorityKeyIdentifier", [](der::Reader& r) {
    der::Reader s = r.enter_sequence("authorityKeyIdentifier");
    AuthorityKeyIdentifier aki;
    if (auto id = s.read_optional(der::context(0), "keyIdentifier")) aki.key_id.assign(id->content.begin(), id->content.end());
    if (auto issuer = s.enter_optional(der::context_constructed(1), "authorityCertIssuer")) {
      aki.issuer = read_general_names_content(*issuer, "authorityCertIssuer");
    }
    if (s.peek(der::context(2))) aki.serial = Serial::read(s, "authorityCertSerialNumber", der::context(2));
    s.expect_end("authorityKeyIdentifier");
    if (aki.issuer.empty() != !aki.serial.has_value()) {
      bad("authorityKeyIdentifier", "authorityCertIssuer and authorityCertSerialNumber must appear together");
    }
    return aki;
  });
}

std::vector<DistributionPoint> decode_crl_distribution_points(BytesView value) {
  return decode_value(value, "cRLDistributionPoints", [](der::Reader& r) {
    constexpr std::string_view what = "cRLDistributionPoints";
    der::Reader s = r.enter_sequence(what);
    std::vector<DistributionPoint> out;
    while (!s.at_end()) {
      der::Reader dp = s.enter_sequence(what);
      DistributionPoint p;
      if (auto name = dp.enter_optional(der::context_constructed(0), what)) {
        if (auto full = name->enter_optional(der::context_constructed(0), what)) {
          p.full_name = read_general_names_content(*full, what);
        } else {
          // nameRelativeToCRLIssuer [1]: accepted, not interpreted.
          name->read(der::context_constructed(1), what);
        }
        name->expect_end(what);
      }
      if (dp.peek(der::context(1))) p.reasons = dp.read_named_bits_tagged(der::context(1), what);
      if (auto issuer = dp.enter_optional(der::context_constructed(2), what)) {
        p.crl_issuer = read_general_names_content(*issuer, what);
      }
      dp.expect_end(what);
      if (p.full_name.empty() && p.crl_issuer.empty() && !p.reasons) bad(what, "empty distribution point");
      out.push_back(std::move(p));
    }
    if (out.empty()) bad(what, "empty");
    return out;
  });
}

std::vector<AccessDescription> decode_authority_info_access(BytesView value) {
  return decode_value(value, "authorityInfoAccess", [](der::Reader& r) {
    constexpr std::string_view what = "authorityInfoAccess";
    der::Reader s = r.enter_sequence(what);
    std::vector<AccessDescription> out;
    while (!s.at_end()) {
      der::Reader d = s.enter_sequence(what);
      AccessDescription a;
      a.method = Oid::read(d, what);
      a.location = read_general_name(d, what);
      d.expect_end(what);
      out.push_back(std::move(a));
    }
    if (out.empty()) bad(what, "empty");
    return out;
  });
}

std::vector<PolicyInformation> decode_certificate_policies(BytesView value) {
  return decode_value(value, "certificatePolicies", [](der::Reader& r) {
    constexpr std::string_view what = "certificatePolicies";
    der::Reader s = r.enter_sequence(what);
    std::vector<PolicyInformation> out;
    std::set<Oid> seen;
    while (!s.at_end()) {
      der::Reader info = s.enter_sequence(what);
      PolicyInformation p;
      p.policy = Oid::read(info, what);
      if (!seen.insert(p.policy).second) bad(what, "policy " + p.policy.to_string() + " appears twice");
      if (auto qualifiers = info.enter_optional(der::kSequence, what)) {
        if (qualifiers->at_end()) bad(what, "empty policyQualifiers");
        while (!qualifiers->at_end()) {
          der::Reader q = qualifiers->enter_sequence(what);
          const Oid id = Oid::read(q, what);
          const der::Element qualifier = q.read_any(what);
          q.expect_end(what);
          if (id == oid::kCpsQualifier) {
            if (qualifier.tag != der::kIa5String) bad(what, "CPS qualifier is not an IA5String");
            p.cps_uris.push_back(ia5_text(qualifier, what));
          }
        }
      }
      info.expect_end(what);
      out.push_back(std::move(p));
    }
    if (out.empty()) bad(what, "empty");
    return out;
  });
}

GeneralNames decode_general_names(BytesView value) {
  return decode_value(value, "GeneralNames", [](der::Reader& r) {
    return read_general_names(r, "GeneralNames");
  });
}

std::vector<PolicyMapping> decode_policy_mappings(BytesView value) {
  return decode_value(value, "policyMappings", [](der::Reader& r) {
    constexpr std::string_view what = "policyMappings";
    der::Reader s = r.enter_sequence(what);
    std::vector<PolicyMapping> out;
    while (!s.at_end()) {
      der::Reader m = s.enter_sequence(what);
      PolicyMapping pm;
      pm.issuer_domain = Oid::read(m, what);
      pm.subject_domain = Oid::read(m, what);
      m.expect_end(what);
      out.push_back(std::move(pm));
    }
    if (out.empty()) bad(what, "empty");
    return out;
  });
}

PolicyConstraints decode_policy_constraints(BytesView value) {
  return decode_value(value, "policyConstraints", [](der::Reader& r) {
    constexpr std::string_view what = "policyConstraints";
    der::Reader s = r.enter_sequence(what);
    PolicyConstraints pc;
    pc.require_explicit_policy = read_optional_small(s, der::context(0), what);
    pc.inhibit_policy_mapping = read_optional_small(s, der::context(1), what);
    s.expect_end(what);
    if (!pc.require_explicit_policy && !pc.inhibit_policy_mapping) bad(what, "empty");
    return pc;
  });
}

NameConstraints decode_name_constraints(BytesView value) {
  return decode_value(value, "nameConstraints", [](der::Reader& r) {
    constexpr std::string_view what = "nameConstraints";
    der::Reader s = r.enter_sequence(what);
    NameConstraints nc;
    const auto subtrees = [&](unsigned tag, GeneralNames& out) {
      auto list = s.enter_optional(der::context_constructed(tag), what);
      if (!list) return;
      while (!list->at_end()) {
        der::Reader st = list->enter_sequence(what);
        out.push_back(read_general_name(st, what));
        if (st.peek(der::context(0))) {
          if (st.read_small_integer(der::context(0), what) == 0) {
            throw ParseError(ErrorId::kExplicitDefault, "nameConstraints: minimum 0 written out (DEFAULT)");
          }
          bad(what, "minimum other than 0 (RFC 5280 forbids it)");
        }
        if (st.peek(der::context(1))) bad(what, "maximum present (RFC 5280 forbids it)");
        st.expect_end(what);
      }
      if (out.empty()) bad(what, "empty subtree list");
    };
    subtrees(0, nc.permitted);
    subtrees(1, nc.excluded);
    s.expect_end(what);
    if (nc.permitted.empty() && nc.excluded.empty()) bad(what, "empty");
    return nc;
  });
}

int decode_inhibit_any_policy(BytesView value) {
  return decode_value(value, "inhibitAnyPolicy", [](der::Reader& r) {
    const std::int64_t v = r.read_small_integer("inhibitAnyPolicy");
    if (v < 0 || v > 1000) bad("inhibitAnyPolicy", "out of range");
    return static_cast<int>(v);
  });
}

void decode_ocsp_no_check(BytesView value) {
  decode_value(value, "ocspNoCheck", [](der::Reader& r) {
    r.read_null("ocspNoCheck");
    return 0;
  });
}

std::uint64_t decode_crl_number(BytesView value) {
  return decode_value(value, "cRLNumber", [](der::Reader& r) {
    const std::int64_t v = r.read_small_integer("cRLNumber");
    if (v < 0) bad("cRLNumber", "negative");
    return static_cast<std::uint64_t>(v);
  });
}

namespace {
bool read_true_flag(der::Reader& r, der::Tag tag, std::string_view what) {
  const auto e = r.read_optional(tag, what);
  if (!e) return false;
  if (e->content.size() != 1 || (e->content[0] != 0xFF && e->content[0] != 0x00)) {
    throw ParseError(ErrorId::kBadBoolean, std::string(what) + ": BOOLEAN must be 00 or FF");
  }
  if (e->content[0] == 0x00) throw ParseError(ErrorId::kExplicitDefault, std::string(what) + ": FALSE written out (DEFAULT)");
  return true;
}
}  // namespace

IssuingDistributionPoint decode_issuing_distribution_point(BytesView value) {
  return decode_value(value, "issuingDistributionPoint", [](der::Reader& r) {
    constexpr std::string_view what = "issuingDistributionPoint";
    der::Reader s = r.enter_sequence(what);
    IssuingDistributionPoint idp;
    if (auto name = s.enter_optional(der::context_constructed(0), what)) {
      if (auto full = name->enter_optional(der::context_constructed(0), what)) {
        idp.full_name = read_general_names_content(*full, what);
      } else {
        name->read(der::context_constructed(1), what);
      }
      name->expect_end(what);
    }
    idp.only_user_certs = read_true_flag(s, der::context(1), what);
    idp.only_ca_certs = read_true_flag(s, der::context(2), what);
    if (s.peek(der::context(3))) idp.only_some_reasons = s.read_named_bits_tagged(der::context(3), what);
    idp.indirect_crl = read_true_flag(s, der::context(4), what);
    if (read_true_flag(s, der::context(5), what)) bad(what, "attribute-certificate CRLs are not supported");
    s.expect_end(what);
    if (idp.only_user_certs && idp.only_ca_certs) bad(what, "only user and only CA certificates at once");
    return idp;
  });
}

bool check_known_extension(const Extension& e) {
  const BytesView v = e.value;
  if (e.oid == oid::kBasicConstraints) decode_basic_constraints(v);
  else if (e.oid == oid::kKeyUsage) decode_key_usage(v);
  else if (e.oid == oid::kExtKeyUsage) decode_extended_key_usage(v);
  else if (e.oid == oid::kSubjectKeyIdentifier) decode_subject_key_identifier(v);
  else if (e.oid == oid::kAuthorityKeyIdentifier) decode_authority_key_identifier(v);
  else if (e.oid == oid::kCrlDistributionPoints) decode_crl_distribution_points(v);
  else if (e.oid == oid::kAuthorityInfoAccess) decode_authority_info_access(v);
  else if (e.oid == oid::kCertificatePolicies) decode_certificate_policies(v);
  else if (e.oid == oid::kSubjectAltName || e.oid == oid::kIssuerAltName) decode_general_names(v);
  else if (e.oid == oid::kPolicyMappings) decode_policy_mappings(v);
  else if (e.oid == oid::kPolicyConstraints) decode_policy_constraints(v);
  else if (e.oid == oid::kNameConstraints) decode_name_constraints(v);
  else if (e.oid == oid::kInhibitAnyPolicy) decode_inhibit_any_policy(v);
  else if (e.oid == oid::kOcspNoCheck) decode_ocsp_no_check(v);
  else if (e.oid == oid::kCrlNumber) decode_crl_number(v);
  else if (e.oid == oid::kIssuingDistributionPoint) decode_issuing_distribution_point(v);
  else return false;
  return true;
}

}  // namespace hanko::pki
