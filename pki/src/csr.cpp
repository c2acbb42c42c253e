#include "hanko/pki/csr.h"

namespace hanko::pki {

namespace {

CertificationRequest read_request(BytesView input) {
  constexpr std::string_view kWhat = "CertificationRequest";
  CertificationRequest req;
  req.der.assign(input.begin(), input.end());
  der::Reader top(req.der);
  // CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm,
  //                                     signature BIT STRING }
  der::Reader outer = top.enter_sequence(kWhat);
  top.expect_end(kWhat);
  const der::Element info_element = outer.read(der::kSequence, "certificationRequestInfo");
  req.signature_algorithm = read_algorithm_identifier(outer, "signatureAlgorithm");
  const BytesView signature = outer.read_bit_string_bytes("signature");
  outer.expect_end(kWhat);

  // CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
  //   subjectPKInfo SubjectPublicKeyInfo, attributes [0] IMPLICIT SET OF Attribute }
  der::Reader info(info_element.content);
  const std::int64_t version = info.read_small_integer("version");
  if (version != 0) throw ParseError(ErrorId::kUnsupportedVersion, "version: PKCS#10 version must be v1 (0)");
  req.subject = Name::read(info, "subject");
  req.public_key = read_public_key(info, "subjectPKInfo");
  der::Reader attributes = info.enter_set_of(der::context_constructed(0), "attributes");
  info.expect_end("certificationRequestInfo");
  bool seen_extension_request = false;
  // Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET SIZE(1..MAX) OF AttributeValue }
  while (!attributes.at_end()) {
    der::Reader attribute = attributes.enter_sequence("attribute");
    const Oid type = Oid::read(attribute, "attribute type");
    der::Reader values = attribute.enter_set_of("attribute values");
    attribute.expect_end("attribute");
    if (values.at_end()) throw ParseError(ErrorId::kEmptySequence, "attribute " + type.to_string() + ": empty set of values");
    if (type == oid::kExtensionRequest) {
      if (seen_extension_request) throw ParseError(ErrorId::kDuplicateExtension, "attributes: extensionRequest appears twice");
      seen_extension_request = true;
      req.requested_extensions = read_extensions(values, "extensionRequest");
      values.expect_end("extensionRequest: exactly one value");
      for (const Extension& e : req.requested_extensions) check_known_extension(e);
    } else {
      while (!values.at_end()) values.read_any("attribute value");
      req.other_attributes.push_back(type);
    }
  }
  if (!algorithm_fits_key(req.signature_algorithm, req.public_key)) {
    throw ParseError(ErrorId::kAlgorithmMismatch, "signatureAlgorithm: does not fit the request's " + req.public_key.description() + " key");
  }
  if (!verify_signature(req.public_key, req.signature_algorithm, info_element.whole, signature)) {
    throw ParseError(ErrorId::kBadSignature,
                     "signature: the request's signature does not verify with its own public key (no proof of possession; the request is damaged or forged)");
  }
  return req;
}

}  // namespace

Parsed<CertificationRequest> parse_certification_request(BytesView der) {
  return catch_parse([&] { return read_request(der); });
}

}  // namespace hanko::pki
