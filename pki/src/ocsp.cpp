#include "hanko/pki/ocsp.h"

#include <cryptopp/sha.h>

namespace hanko::pki {

namespace {

[[noreturn]] void bad(ErrorId id, const std::string& what) { throw ParseError(id, what); }

Bytes hash_with(const Oid& algorithm, BytesView data) {
  if (algorithm == oid::kSha1) {
    Bytes out(CryptoPP::SHA1::DIGESTSIZE);
    CryptoPP::SHA1().CalculateDigest(out.data(), data.data(), data.size());
    return out;
  }
  if (algorithm == oid::kSha256) return digest(HashAlgorithm::kSha256, data);
  if (algorithm == oid::kSha384) return digest(HashAlgorithm::kSha384, data);
  if (algorithm == oid::kSha512) return digest(HashAlgorithm::kSha512, data);
  throw ParseError(ErrorId::kUnsupportedAlgorithm, "CertID hashAlgorithm " + algorithm.to_string() + " is not supported");
}

std::size_t hash_size(const Oid& algorithm) {
  if (algorithm == oid::kSha1) return 20;
  if (algorithm == oid::kSha256) return 32;
  if (algorithm == oid::kSha384) return 48;
  if (algorithm == oid::kSha512) return 64;
  throw ParseError(ErrorId::kUnsupportedAlgorithm, "CertID hashAlgorithm " + algorithm.to_string() + " is not supported");
}

// AlgorithmIdentifier of a hash: parameters absent or NULL (both are seen; RFC 5754 prefers absent).
Oid read_hash_algorithm(der::Reader& r) {
  der::Reader a = r.enter_sequence("CertID hashAlgorithm");
  Oid algorithm = Oid::read(a, "hashAlgorithm algorithm");
  if (!a.at_end()) a.read_null("hashAlgorithm parameters");
  a.expect_end("hashAlgorithm");
  hash_size(algorithm);
  return algorithm;
}

// CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
//                       issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
CertId read_cert_id(der::Reader& r) {
  der::Reader s = r.enter_sequence("CertID");
  CertId id;
  id.hash_algorithm = read_hash_algorithm(s);
  const BytesView name_hash = s.read_octet_string("issuerNameHash");
  const BytesView key_hash = s.read_octet_string("issuerKeyHash");
  const std::size_t n = hash_size(id.hash_algorithm);
  if (name_hash.size() != n || key_hash.size() != n) bad(ErrorId::kBadExtension, "CertID: hash lengths do not fit the hash algorithm");
  id.issuer_name_hash.assign(name_hash.begin(), name_hash.end());
  id.issuer_key_hash.assign(key_hash.begin(), key_hash.end());
  id.serial = Serial::read(s, "serialNumber");
  s.expect_end("CertID");
  return id;
}

void write_cert_id(der::Writer& w, const CertId& id) {
  w.sequence([&](der::Writer& s) {
    s.sequence([&](der::Writer& a) {
      id.hash_algorithm.write(a);
      a.null();  // OpenSSL and most clients write NULL parameters for SHA-1
    });
    s.octet_string(id.issuer_name_hash);
    s.octet_string(id.issuer_key_hash);
    id.serial.write(s);
  });
}

// Extensions we understand: the nonce. Anything else critical is refused (RFC 5280 rule).
std::optional<Bytes> read_nonce(const std::vector<Extension>& extensions, std::string_view what) {
  std::optional<Bytes> nonce;
  for (const Extension& e : extensions) {
    if (e.oid == oid::kOcspNonce) {
      // RFC 8954: the nonce is 1..32 octets (inside an OCTET STRING); we echo the whole value.
      if (e.value.empty() || e.value.size() > 34) bad(ErrorId::kBadExtension, std::string(what) + ": nonce of a bad length");
      nonce = e.value;
    } else if (e.critical) {
      bad(ErrorId::kUnknownCriticalExtension, std::string(what) + ": unknown critical extension " + e.oid.to_string());
    }
  }
  return nonce;
}

Extension nonce_extension(const Bytes& value) {
  Extension e;
  e.oid = oid::kOcspNonce;
  e.value = value;
  return e;
}

}  // namespace

CertId make_cert_id(const Certificate& issuer, const Serial& serial, const Oid& hash) {
  CertId id;
  id.hash_algorithm = hash;
  id.issuer_name_hash = hash_with(hash, issuer.subject.der());
  id.issuer_key_hash = hash_with(hash, issuer.public_key.key_bits);
  id.serial = serial;
  return id;
}

bool cert_id_matches_issuer(const CertId& id, const Certificate& issuer) {
  try {
    return hash_with(id.hash_algorithm, issuer.subject.der()) == id.issuer_name_hash &&
           hash_with(id.hash_algorithm, issuer.public_key.key_bits) == id.issuer_key_hash;
  } catch (const ParseError&) {
    return false;
  }
}

Parsed<OcspRequest> parse_ocsp_request(BytesView der) {
  return catch_parse([&] {
    OcspRequest out;
    der::Reader top(der);
    // OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
    der::Reader req = top.enter_sequence("OCSPRequest");
    top.expect_end("OCSPRequest");
    // TBSRequest ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
    //   requestorName [1] EXPLICIT GeneralName OPTIONAL, requestList SEQUENCE OF Request,
    //   requestExtensions [2] EXPLICIT Extensions OPTIONAL }
    der::Reader tbs = req.enter_sequence("TBSRequest");
    if (auto v = tbs.enter_optional(der::context_constructed(0), "version")) {
      const std::int64_t version = v->read_small_integer("version");
      v->expect_end("version");
      if (version == 0) bad(ErrorId::kExplicitDefault, "version: v1 is the DEFAULT and must be left out in DER");
      bad(ErrorId::kUnsupportedVersion, "version: only v1 requests exist");
    }
    if (auto name = tbs.enter_optional(der::context_constructed(1), "requestorName")) {
      read_general_name(*name, "requestorName");
      name->expect_end("requestorName");
    }
    // Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
    der::Reader list = tbs.enter_sequence("requestList");
    while (!list.at_end()) {
      if (out.requests.size() >= kMaxOcspRequests) bad(ErrorId::kTrailingBytes, "requestList: more than " + std::to_string(kMaxOcspRequests) + " requests");
      der::Reader one = list.enter_sequence("Request");
      out.requests.push_back(read_cert_id(one));
      if (auto ext = one.enter_optional(der::context_constructed(0), "singleRequestExtensions")) {
        read_nonce(read_extensions(*ext, "singleRequestExtensions"), "singleRequestExtensions");
        ext->expect_end("singleRequestExtensions");
      }
      one.expect_end("Request");
    }
    if (out.requests.empty()) bad(ErrorId::kEmptySequence, "requestList: no request");
    if (auto ext = tbs.enter_optional(der::context_constructed(2), "requestExtensions")) {
      out.nonce = read_nonce(read_extensions(*ext, "requestExtensions"), "requestExtensions");
      ext->expect_end("requestExtensions");
    }
    tbs.expect_end("TBSRequest");
    // Signature ::= SEQUENCE { signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
    if (auto sig = req.enter_optional(der::context_constructed(0), "optionalSignature")) {
      der::Reader s = sig->enter_sequence("Signature");
      read_algorithm_identifier(s, "Signature signatureAlgorithm");
      s.read_bit_string_bytes("Signature signature");
      if (auto certs = s.enter_optional(der::context_constructed(0), "Signature certs")) {
        der::Reader seq = certs->enter_sequence("certs");
        while (!seq.at_end()) seq.read(der::kSequence, "certificate");
      }
      s.expect_end("Signature");
      sig->expect_end("optionalSignature");
      out.signed_request = true;
    }
    req.expect_end("OCSPRequest");
    return out;
  });
}

Bytes encode_ocsp_request(const std::vector<CertId>& ids, const std::optional<Bytes>& nonce) {
  der::Writer w;
  w.sequence([&](der::Writer& req) {
    req.sequence([&](der::Writer& tbs) {
      tbs.sequence([&](der::Writer& list) {
        for (const CertId& id : ids) list.sequence([&](der::Writer& one) { write_cert_id(one, id); });
      });
      if (nonce) tbs.explicit_tag(2, [&](der::Writer& e) { write_extensions(e, {nonce_extension(*nonce)}); });
    });
  });
  return std::move(w).take();
}

namespace {

// SingleResponse ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate GeneralizedTime,
//   nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1] EXPLICIT Extensions OPTIONAL }
// CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT UnknownInfo }
// RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
void write_single_response(der::Writer& w, const SingleResponse& r) {
  w.sequence([&](der::Writer& s) {
    write_cert_id(s, r.cert_id);
    switch (r.status) {
      case CertStatus::kGood: s.primitive(der::context(0), {}); break;
      case CertStatus::kRevoked:
        s.constructed(der::context_constructed(1), [&](der::Writer& info) {
          write_generalized_time(info, r.revocation_time);
          if (r.reason && *r.reason != ReasonCode::kUnspecified) {
            info.explicit_tag(0, [&](der::Writer& e) { e.integer(static_cast<std::int64_t>(*r.reason), der::kEnumerated); });
          }
        });
        break;
      case CertStatus::kUnknown: s.primitive(der::context(2), {}); break;
    }
    write_generalized_time(s, r.this_update);
    if (r.next_update) s.explicit_tag(0, [&](der::Writer& e) { write_generalized_time(e, *r.next_update); });
  });
}

SingleResponse read_single_response(der::Reader& r) {
  SingleResponse out;
  der::Reader s = r.enter_sequence("SingleResponse");
  out.cert_id = read_cert_id(s);
  if (auto good = s.read_optional(der::context(0), "good")) {
    if (!good->content.empty()) bad(ErrorId::kBadNull, "good: NULL with content");
    out.status = CertStatus::kGood;
  } else if (auto info = s.enter_optional(der::context_constructed(1), "revoked")) {
    out.status = CertStatus::kRevoked;
    out.revocation_time = read_generalized_time(*info, "revocationTime");
    if (auto reason = info->enter_optional(der::context_constructed(0), "revocationReason")) {
      const std::int64_t v = reason->read_small_integer(der::kEnumerated, "revocationReason");
      reason->expect_end("revocationReason");
      if (v < 0 || v > 10 || v == 7) bad(ErrorId::kBadCrl, "revocationReason: unknown value");
      out.reason = static_cast<ReasonCode>(v);
    }
    info->expect_end("RevokedInfo");
  } else {
    const der::Element unknown = s.read(der::context(2), "certStatus");
    if (!unknown.content.empty()) bad(ErrorId::kBadNull, "unknown: NULL with content");
    out.status = CertStatus::kUnknown;
  }
  out.this_update = read_generalized_time(s, "thisUpdate");
  if (auto next = s.enter_optional(der::context_constructed(0), "nextUpdate")) {
    out.next_update = read_generalized_time(*next, "nextUpdate");
    next->expect_end("nextUpdate");
  }
  if (auto ext = s.enter_optional(der::context_constructed(1), "singleExtensions")) {
    read_nonce(read_extensions(*ext, "singleExtensions"), "singleExtensions");
    ext->expect_end("singleExtensions");
  }
  s.expect_end("SingleResponse");
  return out;
}

}  // namespace

Bytes ocsp_error_response(OcspResponseStatus status) {
  if (status == OcspResponseStatus::kSuccessful) throw BuildError("a successful OCSP response needs a signed body");
  der::Writer w;
  w.sequence([&](der::Writer& s) { s.integer(static_cast<std::int64_t>(status), der::kEnumerated); });
  return std::move(w).take();
}

Bytes sign_ocsp_response(const BasicResponseTemplate& t, Signer& signer) {
  if (t.responses.empty()) throw BuildError("an OCSP response answers at least one request");
  if (t.responder_key_hash.size() != 20) throw BuildError("ResponderID byKey is a SHA-1 hash (20 octets)");
  // ResponseData ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, responderID ResponderID,
  //   producedAt GeneralizedTime, responses SEQUENCE OF SingleResponse,
  //   responseExtensions [1] EXPLICIT Extensions OPTIONAL }
  // ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }   (explicit tags: the module is EXPLICIT)
  der::Writer tbs;
  tbs.sequence([&](der::Writer& s) {
    s.explicit_tag(2, [&](der::Writer& k) { k.octet_string(t.responder_key_hash); });
    write_generalized_time(s, t.produced_at);
    s.sequence([&](der::Writer& list) {
      for (const SingleResponse& r : t.responses) write_single_response(list, r);
    });
    if (t.nonce) s.explicit_tag(1, [&](der::Writer& e) { write_extensions(e, {nonce_extension(*t.nonce)}); });
  });
  const Bytes tbs_der = std::move(tbs).take();
  const Bytes signature = signer.sign(tbs_der);
  // BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm AlgorithmIdentifier,
  //   signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
  der::Writer basic;
  basic.sequence([&](der::Writer& s) {
    s.raw(tbs_der);
    write_algorithm_identifier(s, signer.algorithm());
    s.bit_string(signature);
    if (!t.certificates.empty()) {
      s.explicit_tag(0, [&](der::Writer& c) {
        c.sequence([&](der::Writer& seq) {
          for (const Bytes& cert : t.certificates) seq.raw(cert);
        });
      });
    }
  });
  // OCSPResponse ::= SEQUENCE { responseStatus OCSPResponseStatus, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
  // ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.integer(0, der::kEnumerated);
    s.explicit_tag(0, [&](der::Writer& rb) {
      rb.sequence([&](der::Writer& b) {
        oid::kOcspBasic.write(b);
        b.octet_string(basic.bytes());
      });
    });
  });
  Bytes out = std::move(w).take();
  // Sign, then re-parse strictly and verify what we produced.
  const auto parsed = parse_ocsp_response(out);
  if (!parsed) throw BuildError("OCSP response does not re-parse: " + parsed.message());
  if (!verify_ocsp_response(*parsed, signer.public_key())) throw BuildError("OCSP response signature does not verify");
  return out;
}

Parsed<OcspResponse> parse_ocsp_response(BytesView der) {
  return catch_parse([&] {
    OcspResponse out;
    der::Reader top(der);
    der::Reader s = top.enter_sequence("OCSPResponse");
    top.expect_end("OCSPResponse");
    const std::int64_t status = s.read_small_integer(der::kEnumerated, "responseStatus");
    if (status < 0 || status > 6 || status == 4) bad(ErrorId::kUnexpectedTag, "responseStatus: unknown value");
    out.status = static_cast<OcspResponseStatus>(status);
    auto rb = s.enter_optional(der::context_constructed(0), "responseBytes");
    s.expect_end("OCSPResponse");
    if (out.status != OcspResponseStatus::kSuccessful) {
      if (rb) bad(ErrorId::kTrailingBytes, "responseBytes in an unsuccessful response");
      return out;
    }
    if (!rb) bad(ErrorId::kTruncated, "successful response without responseBytes");
    der::Reader bytes = rb->enter_sequence("ResponseBytes");
    rb->expect_end("responseBytes");
    if (Oid::read(bytes, "responseType") != oid::kOcspBasic) bad(ErrorId::kUnsupportedAlgorithm, "responseType: only id-pkix-ocsp-basic");
    const BytesView basic_der = bytes.read_octet_string("response");
    bytes.expect_end("ResponseBytes");
    der::Reader outer(basic_der);
    der::Reader basic = outer.enter_sequence("BasicOCSPResponse");
    outer.expect_end("BasicOCSPResponse");
    const der::Element tbs_element = basic.read(der::kSequence, "tbsResponseData");
    out.tbs.assign(tbs_element.whole.begin(), tbs_element.whole.end());
    out.signature_algorithm = read_algorithm_identifier(basic, "signatureAlgorithm");
    const BytesView sig = basic.read_bit_string_bytes("signature");
    out.signature.assign(sig.begin(), sig.end());
    if (auto certs = basic.enter_optional(der::context_constructed(0), "certs")) {
      der::Reader seq = certs->enter_sequence("certs");
      certs->expect_end("certs");
      while (!seq.at_end()) {
        const der::Element c = seq.read(der::kSequence, "certificate");
        out.certificates.emplace_back(c.whole.begin(), c.whole.end());
      }
    }
    basic.expect_end("BasicOCSPResponse");
    der::Reader data(tbs_element.content);
    if (auto v = data.enter_optional(der::context_constructed(0), "version")) {
      const std::int64_t version = v->read_small_integer("version");
      if (version == 0) bad(ErrorId::kExplicitDefault, "version: v1 is the DEFAULT and must be left out");
      bad(ErrorId::kUnsupportedVersion, "version: only v1");
    }
    if (auto by_name = data.enter_optional(der::context_constructed(1), "byName")) {
      out.responder_name = Name::read(*by_name, "byName");
      by_name->expect_end("byName");
    } else {
      der::Reader by_key = data.enter(der::context_constructed(2), "responderID");
      const BytesView h = by_key.read_octet_string("byKey");
      by_key.expect_end("byKey");
      if (h.size() != 20) bad(ErrorId::kBadExtension, "byKey: not a SHA-1 hash");
      out.responder_key_hash = Bytes(h.begin(), h.end());
    }
    out.produced_at = read_generalized_time(data, "producedAt");
    der::Reader list = data.enter_sequence("responses");
    while (!list.at_end()) out.responses.push_back(read_single_response(list));
    if (auto ext = data.enter_optional(der::context_constructed(1), "responseExtensions")) {
      out.nonce = read_nonce(read_extensions(*ext, "responseExtensions"), "responseExtensions");
      ext->expect_end("responseExtensions");
    }
    data.expect_end("ResponseData");
    return out;
  });
}

bool verify_ocsp_response(const OcspResponse& response, const PublicKey& responder_key) {
  if (response.status != OcspResponseStatus::kSuccessful) return false;
  if (!algorithm_fits_key(response.signature_algorithm, responder_key)) return false;
  return verify_signature(responder_key, response.signature_algorithm, response.tbs, response.signature);
}

}  // namespace hanko::pki
