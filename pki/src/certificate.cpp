#include "hanko/pki/certificate.h"

#include <cryptopp/cryptlib.h>

#include <algorithm>
#include <cryptopp/sha.h>

namespace hanko::pki {

Serial random_serial(CryptoPP::RandomNumberGenerator& rng) {
  std::uint8_t bytes[16];
  rng.GenerateBlock(bytes, sizeof bytes);
  // Top bit clear keeps it positive; bit 6 set keeps it exactly 16 octets.
  bytes[0] = static_cast<std::uint8_t>((bytes[0] & 0x7F) | 0x40);
  return Serial(BytesView(bytes, sizeof bytes));
}

// TBSCertificate ::= SEQUENCE {
//   version [0] EXPLICIT Version DEFAULT v1, serialNumber CertificateSerialNumber,
//   signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name,
//   subjectPublicKeyInfo SubjectPublicKeyInfo, issuerUniqueID [1] IMPLICIT OPTIONAL,
//   subjectUniqueID [2] IMPLICIT OPTIONAL, extensions [3] EXPLICIT Extensions OPTIONAL }
Bytes encode_tbs_certificate(const CertificateTemplate& t, SignatureAlgorithm algorithm) {
  if (t.serial.empty()) throw BuildError("certificate has no serial number");
  if (t.not_after <= t.not_before) throw BuildError("certificate validity ends before it starts");
  if (t.subject.empty() && !find_extension(t.extensions, oid::kSubjectAltName)) {
    throw BuildError("a certificate with an empty subject needs subjectAltName");
  }
  der::Writer w(1024 + t.subject_public_key_info.size());
  w.sequence([&](der::Writer& tbs) {
    tbs.explicit_tag(0, [](der::Writer& v) { v.integer(2); });
    t.serial.write(tbs);
    write_algorithm_identifier(tbs, algorithm);
    tbs.raw(t.issuer.der());
    tbs.sequence([&](der::Writer& validity) {
      write_time(validity, t.not_before);
      write_time(validity, t.not_after);
    });
    tbs.raw(t.subject.der());
    tbs.raw(t.subject_public_key_info);
    if (!t.extensions.empty()) {
      tbs.explicit_tag(3, [&](der::Writer& e) { write_extensions(e, t.extensions); });
    }
  });
  return std::move(w).take();
}

Bytes sign_certificate_unchecked(const CertificateTemplate& t, Signer& signer) {
  parse_public_key(t.subject_public_key_info);  // refuse a malformed key before signing
  const SignatureAlgorithm algorithm = signer.algorithm();
  const Bytes tbs = encode_tbs_certificate(t, algorithm);
  const Bytes signature = signer.sign(tbs);
  der::Writer w(tbs.size() + signature.size() + 64);
  w.sequence([&](der::Writer& cert) {
    cert.raw(tbs);
    write_algorithm_identifier(cert, algorithm);
    cert.bit_string(signature);
  });
  return std::move(w).take();
}

void check_signed_certificate(BytesView der, const PublicKey& issuer_key, BytesView expected_tbs) {
  const Parsed<Certificate> parsed = parse_certificate(der);
  if (!parsed) throw BuildError("signed certificate does not re-parse: " + parsed.message());
  if (!verify_certificate_signature(*parsed, issuer_key)) {
    throw BuildError("signed certificate does not verify with the signer's public key; the HSM key and the CA certificate may not match");
  }
  const BytesView tbs = parsed->tbs();
  if (!expected_tbs.empty() && !std::equal(tbs.begin(), tbs.end(), expected_tbs.begin(), expected_tbs.end())) {
    throw BuildError("signed certificate " + parsed->serial.hex() + " differs from what was planned");
  }
}

Bytes sign_certificate(const CertificateTemplate& t, Signer& signer) {
  Bytes der = sign_certificate_unchecked(t, signer);
  check_signed_certificate(der, signer.public_key());
  return der;
}

namespace {

Certificate read_certificate(BytesView input) {
  constexpr std::string_view kWhat = "Certificate";
  Certificate c;
  c.der.assign(input.begin(), input.end());
  der::Reader top(c.der);
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
  der::Reader cert = top.enter_sequence(kWhat);
  top.expect_end(kWhat);
  const der::Element tbs_element = cert.read(der::kSequence, "tbsCertificate");
  c.tbs_offset = static_cast<std::size_t>(tbs_element.whole.data() - c.der.data());
  c.tbs_size = tbs_element.whole.size();
  c.signature_algorithm = read_algorithm_identifier(cert, "signatureAlgorithm");
  const BytesView signature = cert.read_bit_string_bytes("signatureValue");
  c.signature.assign(signature.begin(), signature.end());
  cert.expect_end(kWhat);

  der::Reader tbs(tbs_element.content);
  c.version = 1;
  if (auto version = tbs.enter_optional(der::context_constructed(0), "version")) {
    const std::int64_t v = version->read_small_integer("version");
    version->expect_end("version");
    if (v == 0) throw ParseError(ErrorId::kExplicitDefault, "version: v1 written out (DEFAULT)");
    if (v != 1 && v != 2) throw ParseError(ErrorId::kUnsupportedVersion, "version: unknown certificate version " + std::to_string(v + 1));
    c.version = static_cast<int>(v + 1);
  }
  c.serial = Serial::read(tbs, "serialNumber");
  const SignatureAlgorithm inner = read_algorithm_identifier(tbs, "signature");
  if (inner != c.signature_algorithm) {
    throw ParseError(ErrorId::kAlgorithmMismatch, "signature: tbsCertificate and outer signature algorithms differ");
  }
  c.issuer = Name::read(tbs, "issuer");
  if (c.issuer.empty()) throw ParseError(ErrorId::kBadName, "issuer: empty issuer name");
  der::Reader validity = tbs.enter_sequence("validity");
  c.not_before = read_time(validity, "notBefore");
  c.not_after = read_time(validity, "notAfter");
  validity.expect_end("validity");
  c.subject = Name::read(tbs, "subject");
  c.public_key = read_public_key(tbs, "subjectPublicKeyInfo");
  if (tbs.peek(der::context(1)) || tbs.peek(der::context(2))) {
    throw ParseError(ErrorId::kUnexpectedTag, "issuerUniqueID/subjectUniqueID are not supported (RFC 5280: CAs must not generate them)");
  }
  if (auto ext = tbs.enter_optional(der::context_constructed(3), "extensions")) {
    if (c.version != 3) throw ParseError(ErrorId::kUnsupportedVersion, "extensions: only version 3 certificates carry extensions");
    c.extensions = read_extensions(*ext, "extensions");
    ext->expect_end("extensions");
  }
  tbs.expect_end("tbsCertificate");
  for (const Extension& e : c.extensions) {
    if (!check_known_extension(e) && e.critical) {
      throw ParseError(ErrorId::kUnknownCriticalExtension, "extensions: unknown critical extension " + e.oid.to_string());
    }
  }
  if (c.subject.empty()) {
    const Extension* san = c.extension(oid::kSubjectAltName);
    if (!san || !san->critical) throw ParseError(ErrorId::kBadName, "subject: empty subject needs a critical subjectAltName");
  }
  return c;
}

template <class Hash>
Bytes hash_bytes(BytesView data) {
  Bytes out(Hash::DIGESTSIZE);
  Hash().CalculateDigest(out.data(), data.data(), data.size());
  return out;
}

}  // namespace

Parsed<Certificate> parse_certificate(BytesView der) {
  return catch_parse([&] { return read_certificate(der); });
}

bool verify_certificate_signature(const Certificate& cert, const PublicKey& issuer_key) {
  return verify_signature(issuer_key, cert.signature_algorithm, cert.tbs(), cert.signature);
}

std::optional<BasicConstraints> Certificate::basic_constraints() const {
  const Extension* e = extension(oid::kBasicConstraints);
  if (!e) return std::nullopt;
  return decode_basic_constraints(e->value);
}

std::optional<std::uint32_t> Certificate::key_usage() const {
  const Extension* e = extension(oid::kKeyUsage);
  if (!e) return std::nullopt;
  return decode_key_usage(e->value);
}

std::optional<Bytes> Certificate::subject_key_id() const {
  const Extension* e = extension(oid::kSubjectKeyIdentifier);
  if (!e) return std::nullopt;
  return decode_subject_key_identifier(e->value);
}

std::optional<Bytes> Certificate::authority_key_id() const {
  const Extension* e = extension(oid::kAuthorityKeyIdentifier);
  if (!e) return std::nullopt;
  return decode_authority_key_identifier(e->value).key_id;
}

GeneralNames Certificate::subject_alt_names() const {
  const Extension* e = extension(oid::kSubjectAltName);
  if (!e) return {};
  return decode_general_names(e->value);
}

bool Certificate::is_ca() const {
  const auto bc = basic_constraints();
  return bc && bc->ca;
}

Bytes Certificate::fingerprint_sha256() const { return hash_bytes<CryptoPP::SHA256>(der); }
Bytes Certificate::fingerprint_sha1() const { return hash_bytes<CryptoPP::SHA1>(der); }

}  // namespace hanko::pki
