#include "hanko/pki/crl.h"

#include <array>

namespace hanko::pki {

namespace {

struct ReasonInfo {
  ReasonCode code;
  const char* name;
};
constexpr std::array<ReasonInfo, 10> kReasons = {{
    {ReasonCode::kUnspecified, "unspecified"},
    {ReasonCode::kKeyCompromise, "keyCompromise"},
    {ReasonCode::kCaCompromise, "cACompromise"},
    {ReasonCode::kAffiliationChanged, "affiliationChanged"},
    {ReasonCode::kSuperseded, "superseded"},
    {ReasonCode::kCessationOfOperation, "cessationOfOperation"},
    {ReasonCode::kCertificateHold, "certificateHold"},
    {ReasonCode::kRemoveFromCrl, "removeFromCRL"},
    {ReasonCode::kPrivilegeWithdrawn, "privilegeWithdrawn"},
    {ReasonCode::kAaCompromise, "aACompromise"},
}};

bool valid_reason(std::int64_t v) { return v >= 0 && v <= 10 && v != 7; }

}  // namespace

std::string_view reason_name(ReasonCode r) {
  for (const ReasonInfo& i : kReasons) {
    if (i.code == r) return i.name;
  }
  return "unknown";
}

std::optional<ReasonCode> parse_reason_name(std::string_view name) {
  for (const ReasonInfo& i : kReasons) {
    if (name == i.name) return i.code;
  }
  return std::nullopt;
}

Bytes sign_crl(const CrlTemplate& t, Signer& signer) {
  if (t.next_update <= t.this_update) throw BuildError("CRL nextUpdate must be after thisUpdate");
  if (t.issuer.empty()) throw BuildError("CRL issuer name is empty");
  const SignatureAlgorithm algorithm = signer.algorithm();
  // Reserve the exact size: growing a 50 MB buffer would double the peak memory.
  std::size_t estimate = 4096;
  for (const RevokedCertificate& r : t.revoked) {
    estimate += 2 + 3 + r.serial.magnitude().size() + 15;
    if ((r.reason && *r.reason != ReasonCode::kUnspecified) || r.invalidity_date) estimate += 4;
    if (r.reason && *r.reason != ReasonCode::kUnspecified) estimate += 12;
    if (r.invalidity_date) estimate += 26;
  }
  der::Writer w(estimate);
  std::size_t tbs_start = 0;
  std::size_t tbs_end = 0;
  Bytes signature;
  // CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
  w.sequence([&](der::Writer& list) {
    tbs_start = list.size();
    // TBSCertList ::= SEQUENCE { version Version OPTIONAL (v2), signature AlgorithmIdentifier,
    //   issuer Name, thisUpdate Time, nextUpdate Time OPTIONAL, revokedCertificates ... OPTIONAL,
    //   crlExtensions [0] EXPLICIT Extensions OPTIONAL }
    list.sequence([&](der::Writer& tbs) {
      tbs.integer(1);
      write_algorithm_identifier(tbs, algorithm);
      tbs.raw(t.issuer.der());
      write_time(tbs, t.this_update);
      write_time(tbs, t.next_update);
      if (!t.revoked.empty()) {
        tbs.sequence([&](der::Writer& entries) {
          for (const RevokedCertificate& r : t.revoked) {
            // Entry extensions are small; write them directly rather than through callbacks.
            entries.sequence([&](der::Writer& e) {
              r.serial.write(e);
              write_time(e, r.revocation_date);
              const bool reason = r.reason && *r.reason != ReasonCode::kUnspecified;
              if (!reason && !r.invalidity_date) return;
              e.sequence([&](der::Writer& exts) {
                if (reason) {
                  exts.sequence([&](der::Writer& x) {
                    oid::kReasonCode.write(x);
                    const std::uint8_t value[3] = {der::kEnumerated, 1, static_cast<std::uint8_t>(*r.reason)};
                    x.octet_string(BytesView(value, 3));
                  });
                }
                if (r.invalidity_date) {
                  exts.sequence([&](der::Writer& x) {
                    oid::kInvalidityDate.write(x);
                    der::Writer inner;
                    write_generalized_time(inner, *r.invalidity_date);
                    x.octet_string(inner.bytes());
                  });
                }
              });
            });
          }
        });
      }
      std::vector<Extension> extensions;
      if (!t.authority_key_id.empty()) extensions.push_back(make_authority_key_identifier(t.authority_key_id));
      extensions.push_back(make_crl_number(t.crl_number));
      if (t.issuing_distribution_point) {
        extensions.push_back(make_issuing_distribution_point(*t.issuing_distribution_point));
      }
      tbs.explicit_tag(0, [&](der::Writer& e) { write_extensions(e, extensions); });
    });
    tbs_end = list.size();
    // The TBS is complete (its length is final), so it can be signed in place.
    signature = signer.sign(BytesView(list.bytes()).subspan(tbs_start, tbs_end - tbs_start));
    write_algorithm_identifier(list, algorithm);
    list.bit_string(signature);
  });
  Bytes der = std::move(w).take();
  const Parsed<Crl> parsed = parse_crl(der, {.keep_entries = false, .keep_der = false});
  if (!parsed) throw BuildError("signed CRL does not re-parse: " + parsed.message());
  if (parsed->entry_count != t.revoked.size()) throw BuildError("signed CRL lost entries");
  const BytesView tbs = BytesView(der).subspan(parsed->tbs_offset, parsed->tbs_size);
  if (!verify_signature(signer.public_key(), parsed->signature_algorithm, tbs, parsed->signature)) {
    throw BuildError("signed CRL does not verify with the signer's public key; the HSM key and the CA certificate may not match");
  }
  return der;
}

namespace {

RevokedCertificate read_entry(der::Reader& entries) {
  constexpr std::string_view kWhat = "revokedCertificate";
  der::Reader e = entries.enter_sequence(kWhat);
  RevokedCertificate r;
  r.serial = Serial::read(e, "userCertificate");
  r.revocation_date = read_time(e, "revocationDate");
  if (!e.at_end()) {
    const std::vector<Extension> exts = read_extensions(e, "crlEntryExtensions");
    for (const Extension& x : exts) {
      if (x.oid == oid::kReasonCode) {
        der::Reader v(x.value);
        const std::int64_t code = v.read_small_integer(der::kEnumerated, "reasonCode");
        v.expect_end("reasonCode");
        if (!valid_reason(code)) throw ParseError(ErrorId::kBadCrl, "reasonCode: unknown reason " + std::to_string(code));
        r.reason = static_cast<ReasonCode>(code);
      } else if (x.oid == oid::kInvalidityDate) {
        der::Reader v(x.value);
        r.invalidity_date = read_generalized_time(v, "invalidityDate");
        v.expect_end("invalidityDate");
      } else if (x.critical) {
        throw ParseError(ErrorId::kUnknownCriticalExtension, "crlEntryExtensions: unknown critical extension " + x.oid.to_string());
      }
    }
  }
  e.expect_end(kWhat);
  return r;
}

Crl read_crl(BytesView input, const CrlParseOptions& options) {
  constexpr std::string_view kWhat = "CertificateList";
  Crl c;
  // Parsed fields point into `input` only while reading; the copy is kept only when asked for
  // (a 1,000,000-entry list is 35-50 MB).
  if (options.keep_der) c.der.assign(input.begin(), input.end());
  const BytesView source = options.keep_der ? BytesView(c.der) : input;
  der::Reader top(source);
  der::Reader list = top.enter_sequence(kWhat);
  top.expect_end(kWhat);
  const der::Element tbs_element = list.read(der::kSequence, "tbsCertList");
  c.tbs_offset = static_cast<std::size_t>(tbs_element.whole.data() - source.data());
  c.tbs_size = tbs_element.whole.size();
  c.signature_algorithm = read_algorithm_identifier(list, "signatureAlgorithm");
  const BytesView signature = list.read_bit_string_bytes("signatureValue");
  c.signature.assign(signature.begin(), signature.end());
  list.expect_end(kWhat);

  der::Reader tbs(tbs_element.content);
  // We only accept v2 CRLs: v1 cannot carry the CRL number RFC 5280 requires.
  const std::int64_t version = tbs.read_small_integer("version");
  if (version != 1) throw ParseError(ErrorId::kUnsupportedVersion, "version: only v2 CRLs are accepted");
  if (read_algorithm_identifier(tbs, "signature") != c.signature_algorithm) {
    throw ParseError(ErrorId::kAlgorithmMismatch, "signature: tbsCertList and outer signature algorithms differ");
  }
  c.issuer = Name::read(tbs, "issuer");
  if (c.issuer.empty()) throw ParseError(ErrorId::kBadName, "issuer: empty issuer name");
  c.this_update = read_time(tbs, "thisUpdate");
  if (peek_time(tbs)) c.next_update = read_time(tbs, "nextUpdate");
  if (auto entries = tbs.enter_optional(der::kSequence, "revokedCertificates")) {
    if (entries->at_end()) throw ParseError(ErrorId::kEmptySequence, "revokedCertificates: present but empty (DER leaves it out)");
    while (!entries->at_end()) {
      RevokedCertificate r = read_entry(*entries);
      ++c.entry_count;
      if (options.keep_entries) c.entries.push_back(std::move(r));
    }
  }
  if (auto ext = tbs.enter_optional(der::context_constructed(0), "crlExtensions")) {
    c.extensions = read_extensions(*ext, "crlExtensions");
    ext->expect_end("crlExtensions");
  }
  tbs.expect_end("tbsCertList");
  for (const Extension& e : c.extensions) {
    if (!check_known_extension(e) && e.critical) {
      throw ParseError(ErrorId::kUnknownCriticalExtension, "crlExtensions: unknown critical extension " + e.oid.to_string());
    }
    if (e.oid == oid::kCrlNumber) c.crl_number = decode_crl_number(e.value);
  }
  return c;
}

}  // namespace

Parsed<Crl> parse_crl(BytesView der, CrlParseOptions options) {
  return catch_parse([&] { return read_crl(der, options); });
}

bool verify_crl_signature(const Crl& crl, const PublicKey& issuer_key) {
  return verify_signature(issuer_key, crl.signature_algorithm, crl.tbs(), crl.signature);
}

}  // namespace hanko::pki
