#include "hanko/pki/cms.h"

#include <algorithm>

namespace hanko::pki {

namespace {

[[noreturn]] void bad(ErrorId id, const std::string& what) { throw ParseError(id, what); }

void write_digest_algorithm(der::Writer& w, HashAlgorithm h) {
  w.sequence([&](der::Writer& a) { hash_oid(h).write(a); });
}

Bytes encode(const der::Writer::Body& body) {
  der::Writer w;
  body(w);
  return std::move(w).take();
}

// ContentInfo { id-signedData, [0] EXPLICIT SignedData } around the SignedData fields.
Bytes content_info(const der::Writer::Body& signed_data_fields) {
  return encode([&](der::Writer& w) {
    w.sequence([&](der::Writer& ci) {
      oid::kCmsSignedData.write(ci);
      ci.explicit_tag(0, [&](der::Writer& e) { e.sequence(signed_data_fields); });
    });
  });
}

Bytes attribute(const Oid& type, const Bytes& value) {
  return encode([&](der::Writer& w) {
    w.sequence([&](der::Writer& a) {
      type.write(a);
      a.set_of({value});
    });
  });
}

}  // namespace

Bytes encode_certificate_bundle(const std::vector<Bytes>& certificates) {
  if (certificates.empty()) throw BuildError("a certificate bundle needs at least one certificate");
  if (certificates.size() > kMaxCmsCertificates) throw BuildError("too many certificates for one bundle");
  for (const Bytes& c : certificates) {
    if (!parse_certificate(c)) throw BuildError("a certificate for the bundle does not parse");
  }
  const Bytes der = content_info([&](der::Writer& sd) {
    sd.integer(1);
    sd.set_of({});
    sd.sequence([&](der::Writer& eci) { oid::kCmsData.write(eci); });
    sd.set_of(certificates, der::context_constructed(0));
    sd.set_of({});
  });
  const auto back = parse_signed_data(der);
  if (!back || back->certificates.size() != certificates.size() || !back->signers.empty()) {
    throw BuildError("the certificate bundle does not read back: " + (back ? std::string("count differs") : back.message()));
  }
  return der;
}

Bytes sign_detached(BytesView content, Signer& signer, const Certificate& signer_certificate,
                    const std::vector<Bytes>& chain, Time signing_time) {
  if (signer_certificate.public_key.spki != signer.public_key().spki) {
    throw BuildError("the signer's certificate is for another key than the one signing");
  }
  const SignatureAlgorithm algorithm = signer.algorithm();
  const HashAlgorithm hash = hash_of(algorithm);
  const Bytes message_digest = digest(hash, content);
  std::vector<Bytes> attributes{
      attribute(oid::kAttrContentType, encode([](der::Writer& w) { oid::kCmsData.write(w); })),
      attribute(oid::kAttrSigningTime, encode([&](der::Writer& w) { write_time(w, signing_time); })),
      attribute(oid::kAttrMessageDigest, encode([&](der::Writer& w) { w.octet_string(message_digest); })),
  };
  // RFC 5652 5.4: the signature covers the attributes' DER with the SET OF tag, not [0].
  const Bytes signed_set = encode([&](der::Writer& w) { w.set_of(attributes); });
  const Bytes signature = signer.sign(signed_set);

  std::vector<Bytes> certificates{signer_certificate.der};
  for (const Bytes& c : chain) {
    if (std::find(certificates.begin(), certificates.end(), c) == certificates.end()) certificates.push_back(c);
  }
  if (certificates.size() > kMaxCmsCertificates) throw BuildError("too many certificates for one signature");
  const Bytes signer_info = encode([&](der::Writer& w) {
    w.sequence([&](der::Writer& si) {
      si.integer(1);
      si.sequence([&](der::Writer& ias) {
        ias.raw(signer_certificate.issuer.der());
        signer_certificate.serial.write(ias);
      });
      write_digest_algorithm(si, hash);
      si.set_of(attributes, der::context_constructed(0));
      write_algorithm_identifier(si, algorithm);
      si.octet_string(signature);
    });
  });
  const Bytes der = content_info([&](der::Writer& sd) {
    sd.integer(1);
    sd.set_of({encode([&](der::Writer& w) { write_digest_algorithm(w, hash); })});
    sd.sequence([&](der::Writer& eci) { oid::kCmsData.write(eci); });
    sd.set_of(certificates, der::context_constructed(0));
    sd.set_of({signer_info});
  });
  const auto back = parse_signed_data(der);
  if (!back) throw BuildError("the signature does not read back: " + back.message());
  try {
    verify_detached(*back, content);
  } catch (const ParseError& e) {
    throw BuildError(std::string("the signature does not verify: ") + e.what());
  }
  return der;
}

Parsed<SignedData> parse_signed_data(BytesView der) {
  return catch_parse([&] {
    SignedData out;
    der::Reader top(der);
    der::Reader ci = top.enter_sequence("ContentInfo");
    top.expect_end("ContentInfo");
    const Oid content_type = Oid::read(ci, "ContentInfo contentType");
    if (content_type != oid::kCmsSignedData) {
      bad(ErrorId::kUnexpectedTag, "ContentInfo: content type " + content_type.to_string() + " is not signedData");
    }
    der::Reader wrapper = ci.enter(der::context_constructed(0), "ContentInfo content");
    ci.expect_end("ContentInfo");
    der::Reader sd = wrapper.enter_sequence("SignedData");
    wrapper.expect_end("ContentInfo content");
    // version 1: no attribute certificates, id-data content, issuerAndSerialNumber signers.
    if (sd.read_small_integer("SignedData version") != 1) bad(ErrorId::kUnsupportedVersion, "SignedData: only version 1 is accepted");
    der::Reader digests = sd.enter_set_of("SignedData digestAlgorithms");
    while (!digests.at_end()) read_hash_identifier(digests, "SignedData digestAlgorithm");
    der::Reader eci = sd.enter_sequence("EncapsulatedContentInfo");
    if (Oid::read(eci, "eContentType") != oid::kCmsData) bad(ErrorId::kUnexpectedTag, "EncapsulatedContentInfo: eContentType is not id-data");
    if (auto content = eci.enter_optional(der::context_constructed(0), "eContent")) {
      content->read_octet_string("eContent");
      content->expect_end("eContent");
      out.has_content = true;
    }
    eci.expect_end("EncapsulatedContentInfo");
    if (sd.peek(der::context_constructed(0))) {
      der::Reader certs = sd.enter_set_of(der::context_constructed(0), "SignedData certificates");
      while (!certs.at_end()) {
        if (out.certificates.size() == kMaxCmsCertificates) bad(ErrorId::kTruncated, "SignedData: more than 64 certificates");
        const der::Element e = certs.read(der::kSequence, "SignedData certificate");
        auto cert = parse_certificate(e.whole);
        if (!cert) bad(cert.error(), "SignedData certificate: " + cert.message());
        out.certificates.push_back(std::move(cert).value());
      }
    }
    if (sd.peek(der::context_constructed(1))) bad(ErrorId::kUnexpectedTag, "SignedData: CRLs inside are not accepted");
    der::Reader signer_infos = sd.enter_set_of("SignedData signerInfos");
    sd.expect_end("SignedData");
    while (!signer_infos.at_end()) {
      CmsSignerInfo info;
      der::Reader si = signer_infos.enter_sequence("SignerInfo");
      if (si.read_small_integer("SignerInfo version") != 1) {
        bad(ErrorId::kUnsupportedVersion, "SignerInfo: only version 1 (issuerAndSerialNumber) is accepted");
      }
      der::Reader ias = si.enter_sequence("SignerInfo issuerAndSerialNumber");
      info.issuer = Name::read(ias, "SignerInfo issuer");
      info.serial = Serial::read(ias, "SignerInfo serialNumber");
      ias.expect_end("SignerInfo issuerAndSerialNumber");
      info.digest_algorithm = read_hash_identifier(si, "SignerInfo digestAlgorithm");
      if (!si.peek(der::context_constructed(0))) bad(ErrorId::kUnexpectedTag, "SignerInfo: signed attributes are required");
      const der::Element attrs_element = si.read_any("SignerInfo signedAttrs");
      der::Reader(attrs_element.whole).enter_set_of(der::context_constructed(0), "SignerInfo signedAttrs");
      der::Writer set;
      set.primitive(der::kSet, attrs_element.content);
      info.signed_attributes = std::move(set).take();
      der::Reader attrs(attrs_element.content);
      bool has_content_type = false;
      std::vector<Oid> seen;
      while (!attrs.at_end()) {
        der::Reader a = attrs.enter_sequence("Attribute");
        const Oid type = Oid::read(a, "Attribute type");
        if (std::find(seen.begin(), seen.end(), type) != seen.end()) bad(ErrorId::kDuplicateExtension, "SignerInfo: attribute " + type.to_string() + " twice");
        seen.push_back(type);
        der::Reader values = a.enter_set_of("Attribute values");
        a.expect_end("Attribute");
        if (type == oid::kAttrContentType) {
          if (Oid::read(values, "contentType") != oid::kCmsData) bad(ErrorId::kUnexpectedTag, "SignerInfo: contentType attribute is not id-data");
          has_content_type = true;
        } else if (type == oid::kAttrMessageDigest) {
          const BytesView md = values.read_octet_string("messageDigest");
          info.message_digest.assign(md.begin(), md.end());
        } else if (type == oid::kAttrSigningTime) {
          info.signing_time = read_time(values, "signingTime", false);
        } else {
          continue;  // other attributes are signed over but mean nothing to us
        }
        values.expect_end("Attribute values");
      }
      if (!has_content_type || info.message_digest.empty()) {
        bad(ErrorId::kBadSignature, "SignerInfo: signed attributes lack contentType or messageDigest");
      }
      // signatureAlgorithm: as in X.509, or rsaEncryption (what OpenSSL writes) with the digest above.
      {
        const BytesView field = si.read_any("SignerInfo signatureAlgorithm").whole;
        der::Reader a = der::Reader(field).enter_sequence("SignerInfo signatureAlgorithm");
        if (Oid::read(a, "signatureAlgorithm") == oid::kRsaEncryption) {
          if (!a.at_end()) a.read_null("signatureAlgorithm parameters");
          a.expect_end("signatureAlgorithm");
          switch (info.digest_algorithm) {
            case HashAlgorithm::kSha256: info.signature_algorithm = SignatureAlgorithm::kRsaPkcs1Sha256; break;
            case HashAlgorithm::kSha384: info.signature_algorithm = SignatureAlgorithm::kRsaPkcs1Sha384; break;
            case HashAlgorithm::kSha512: info.signature_algorithm = SignatureAlgorithm::kRsaPkcs1Sha512; break;
          }
        } else {
          der::Reader whole(field);
          info.signature_algorithm = read_algorithm_identifier(whole, "SignerInfo signatureAlgorithm");
          if (hash_of(info.signature_algorithm) != info.digest_algorithm) {
            bad(ErrorId::kAlgorithmMismatch, "SignerInfo: signature and digest algorithms use different hashes");
          }
        }
      }
      const BytesView signature = si.read_octet_string("SignerInfo signature");
      info.signature.assign(signature.begin(), signature.end());
      if (si.peek(der::context_constructed(1))) si.read_any("SignerInfo unsignedAttrs");
      si.expect_end("SignerInfo");
      out.signers.push_back(std::move(info));
    }
    return out;
  });
}


const Certificate& verify_detached(const SignedData& signed_data, BytesView content) {
  if (signed_data.has_content) bad(ErrorId::kBadSignature, "the signature carries its content; a detached one is expected");
  if (signed_data.signers.size() != 1) {
    bad(ErrorId::kBadSignature, "the signature has " + std::to_string(signed_data.signers.size()) + " signers; exactly one is expected");
  }
  const CmsSignerInfo& info = signed_data.signers.front();
  const auto cert = std::find_if(signed_data.certificates.begin(), signed_data.certificates.end(),
                                 [&](const Certificate& c) { return c.issuer == info.issuer && c.serial == info.serial; });
  if (cert == signed_data.certificates.end()) bad(ErrorId::kBadSignature, "the signer's certificate (serial " + info.serial.hex() + ") is not in the signature");
  if (digest(info.digest_algorithm, content) != info.message_digest) {
    bad(ErrorId::kBadSignature, "the signed file was changed: its digest differs from the signed messageDigest");
  }
  if (!algorithm_fits_key(info.signature_algorithm, cert->public_key) ||
      !verify_signature(cert->public_key, info.signature_algorithm, info.signed_attributes, info.signature)) {
    bad(ErrorId::kBadSignature, "the signature does not verify with the signer's certificate (serial " + info.serial.hex() + ")");
  }
  return *cert;
}

}  // namespace hanko::pki
