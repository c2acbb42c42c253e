#include "hanko/pki/algorithm.h"

#include <cryptopp/eccrypto.h>
#include <cryptopp/oids.h>
#include <cryptopp/osrng.h>
#include <cryptopp/pssr.h>
#include <cryptopp/rsa.h>
#include <cryptopp/sha.h>

#include <algorithm>
#include <array>
#include <memory>

namespace hanko::pki {

namespace {

struct AlgorithmInfo {
  SignatureAlgorithm algorithm;
  const char* name;
  const Oid* oid;
  HashAlgorithm hash;
  KeyAlgorithm key;
};

const std::array<AlgorithmInfo, 9>& algorithms() {
  static const std::array<AlgorithmInfo, 9> kAll = {{
      {SignatureAlgorithm::kRsaPkcs1Sha256, "sha256WithRSAEncryption", &oid::kSha256WithRsa, HashAlgorithm::kSha256, KeyAlgorithm::kRsa},
      {SignatureAlgorithm::kRsaPkcs1Sha384, "sha384WithRSAEncryption", &oid::kSha384WithRsa, HashAlgorithm::kSha384, KeyAlgorithm::kRsa},
      {SignatureAlgorithm::kRsaPkcs1Sha512, "sha512WithRSAEncryption", &oid::kSha512WithRsa, HashAlgorithm::kSha512, KeyAlgorithm::kRsa},
      {SignatureAlgorithm::kRsaPssSha256, "rsassaPss-sha256", &oid::kRsassaPss, HashAlgorithm::kSha256, KeyAlgorithm::kRsa},
      {SignatureAlgorithm::kRsaPssSha384, "rsassaPss-sha384", &oid::kRsassaPss, HashAlgorithm::kSha384, KeyAlgorithm::kRsa},
      {SignatureAlgorithm::kRsaPssSha512, "rsassaPss-sha512", &oid::kRsassaPss, HashAlgorithm::kSha512, KeyAlgorithm::kRsa},
      {SignatureAlgorithm::kEcdsaSha256, "ecdsa-with-SHA256", &oid::kEcdsaWithSha256, HashAlgorithm::kSha256, KeyAlgorithm::kEc},
      {SignatureAlgorithm::kEcdsaSha384, "ecdsa-with-SHA384", &oid::kEcdsaWithSha384, HashAlgorithm::kSha384, KeyAlgorithm::kEc},
      {SignatureAlgorithm::kEcdsaSha512, "ecdsa-with-SHA512", &oid::kEcdsaWithSha512, HashAlgorithm::kSha512, KeyAlgorithm::kEc},
  }};
  return kAll;
}

const AlgorithmInfo& info(SignatureAlgorithm a) {
  for (const AlgorithmInfo& i : algorithms()) {
    if (i.algorithm == a) return i;
  }
  throw BuildError("unknown signature algorithm");
}

bool is_pss(SignatureAlgorithm a) {
  return a == SignatureAlgorithm::kRsaPssSha256 || a == SignatureAlgorithm::kRsaPssSha384 ||
         a == SignatureAlgorithm::kRsaPssSha512;
}


[[noreturn]] void bad_params(std::string_view what, const std::string& detail) {
  throw ParseError(ErrorId::kBadAlgorithmParameters, std::string(what) + ": " + detail);
}

template <class Hash>
Bytes hash_with(BytesView data) {
  Hash h;
  Bytes out(Hash::DIGESTSIZE);
  h.CalculateDigest(out.data(), data.data(), data.size());
  return out;
}

CryptoPP::Integer to_integer(BytesView magnitude) {
  return CryptoPP::Integer(magnitude.data(), magnitude.size());
}

template <class Scheme>
bool verify_rsa(const PublicKey& key, BytesView data, BytesView signature) {
  CryptoPP::RSA::PublicKey pub;
  pub.Initialize(to_integer(key.modulus), to_integer(key.exponent));
  typename Scheme::Verifier verifier(pub);
  if (signature.size() != verifier.SignatureLength()) return false;
  return verifier.VerifyMessage(data.data(), data.size(), signature.data(), signature.size());
}

// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, read strictly, returned as r||s.
std::optional<Bytes> ecdsa_der_to_p1363(BytesView signature, std::size_t field_size) {
  try {
    der::Reader outer(signature);
    der::Reader seq = outer.enter_sequence("ECDSA signature");
    outer.expect_end("ECDSA signature");
    Bytes out(field_size * 2, 0);
    for (std::size_t i = 0; i < 2; ++i) {
      BytesView v = seq.read_positive_integer("ECDSA signature value");
      if (v[0] == 0) v = v.subspan(1);
      if (v.size() > field_size) return std::nullopt;
      std::copy(v.begin(), v.end(), out.begin() + static_cast<std::ptrdiff_t>((i + 1) * field_size - v.size()));
    }
    seq.expect_end("ECDSA signature");
    return out;
  } catch (const ParseError&) {
    return std::nullopt;
  }
}

template <class Hash>
std::unique_ptr<typename CryptoPP::ECDSA<CryptoPP::ECP, Hash>::Verifier> ecdsa_verifier(const PublicKey& key, bool precompute) {
  using Ecdsa = CryptoPP::ECDSA<CryptoPP::ECP, Hash>;
  CryptoPP::OID curve = key.curve == oid::kP256 ? CryptoPP::ASN1::secp256r1()
                        : key.curve == oid::kP384 ? CryptoPP::ASN1::secp384r1()
                                                  : CryptoPP::ASN1::secp521r1();
  CryptoPP::DL_GroupParameters_EC<CryptoPP::ECP> params(curve);
  CryptoPP::ECP::Point q;
  if (!params.GetCurve().DecodePoint(q, key.point.data(), key.point.size())) return nullptr;
  typename Ecdsa::PublicKey pub;
  pub.Initialize(params, q);
  if (precompute) pub.Precompute();
  return std::make_unique<typename Ecdsa::Verifier>(pub);
}

template <class Hash>
bool verify_ecdsa(const PublicKey& key, BytesView data, BytesView signature) {
  using Verifier = typename CryptoPP::ECDSA<CryptoPP::ECP, Hash>::Verifier;
  // A key seen again (an RA operator's key at the relay's intake, a CA key over its certificates)
  // gets a verifier with a precomputed table of its point: about 2.5 times faster per signature,
  // for one precomputation costing about a third of a verification. Per thread, since Crypto++
  // objects are not shared between threads; the 16 most recent keys.
  struct Entry {
    Bytes id;
    std::unique_ptr<Verifier> verifier;  // precomputed, made at the second use
  };
  thread_local std::vector<Entry> cache;
  Bytes id = key.curve.content();
  id.insert(id.end(), key.point.begin(), key.point.end());
  auto entry = std::find_if(cache.begin(), cache.end(), [&](const Entry& e) { return e.id == id; });
  std::unique_ptr<Verifier> one_off;
  Verifier* verifier = nullptr;
  if (entry != cache.end() && entry->verifier) {
    verifier = entry->verifier.get();
  } else if (entry != cache.end()) {
    entry->verifier = ecdsa_verifier<Hash>(key, true);
    verifier = entry->verifier.get();
  } else {
    one_off = ecdsa_verifier<Hash>(key, false);
    verifier = one_off.get();
    if (verifier) {
      if (cache.size() == 16) cache.erase(cache.begin());
      cache.push_back(Entry{std::move(id), nullptr});
    }
  }
  if (!verifier) return false;
  const std::size_t field = key.curve == oid::kP256 ? 32 : key.curve == oid::kP384 ? 48 : 66;
  const auto p1363 = ecdsa_der_to_p1363(signature, field);
  if (!p1363) return false;
  return verifier->VerifyMessage(data.data(), data.size(), p1363->data(), p1363->size());
}

}  // namespace

std::string_view signature_algorithm_name(SignatureAlgorithm a) { return info(a).name; }

std::optional<SignatureAlgorithm> parse_signature_algorithm_name(std::string_view name) {
  for (const AlgorithmInfo& i : algorithms()) {
    if (name == i.name) return i.algorithm;
  }
  return std::nullopt;
}

HashAlgorithm hash_of(SignatureAlgorithm a) { return info(a).hash; }
KeyAlgorithm key_algorithm_of(SignatureAlgorithm a) { return info(a).key; }

std::size_t digest_size(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::kSha256: return 32;
    case HashAlgorithm::kSha384: return 48;
    case HashAlgorithm::kSha512: return 64;
  }
  return 0;
}

Bytes digest(HashAlgorithm h, BytesView data) {
  switch (h) {
    case HashAlgorithm::kSha256: return hash_with<CryptoPP::SHA256>(data);
    case HashAlgorithm::kSha384: return hash_with<CryptoPP::SHA384>(data);
    case HashAlgorithm::kSha512: return hash_with<CryptoPP::SHA512>(data);
  }
  return {};
}

// AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }
// RSASSA-PSS-params ::= SEQUENCE {
//   hashAlgorithm [0] HashAlgorithm DEFAULT sha1, maskGenAlgorithm [1] MaskGenAlgorithm DEFAULT
//   mgf1SHA1, saltLength [2] INTEGER DEFAULT 20, trailerField [3] TrailerField DEFAULT 1 }
void write_algorithm_identifier(der::Writer& w, SignatureAlgorithm a) {
  const AlgorithmInfo& i = info(a);
  w.sequence([&](der::Writer& s) {
    i.oid->write(s);
    if (i.key == KeyAlgorithm::kRsa && !is_pss(a)) s.null();
    if (is_pss(a)) {
      const Oid& h = hash_oid(i.hash);
      s.sequence([&](der::Writer& p) {
        p.explicit_tag(0, [&](der::Writer& t) { t.sequence([&](der::Writer& x) { h.write(x); }); });
        p.explicit_tag(1, [&](der::Writer& t) {
          t.sequence([&](der::Writer& x) {
            oid::kMgf1.write(x);
            x.sequence([&](der::Writer& y) { h.write(y); });
          });
        });
        p.explicit_tag(2, [&](der::Writer& t) { t.integer(static_cast<std::int64_t>(digest_size(i.hash))); });
      });
    }
  });
}

Bytes encode_algorithm_identifier(SignatureAlgorithm a) {
  der::Writer w;
  write_algorithm_identifier(w, a);
  return std::move(w).take();
}

SignatureAlgorithm read_algorithm_identifier(der::Reader& r, std::string_view what) {
  der::Reader alg = r.enter_sequence(what);
  const Oid id = Oid::read(alg, what);
  if (id == oid::kRsassaPss) {
    der::Reader p = alg.enter_sequence(what);
    alg.expect_end(what);
    // DER forbids writing DEFAULT values, and SHA-1 defaults are not accepted anyway.
    der::Reader hash_field = p.enter(der::context_constructed(0), what);
    const HashAlgorithm h = read_hash_identifier(hash_field, what);
    hash_field.expect_end(what);
    der::Reader mgf_field = p.enter(der::context_constructed(1), what);
    der::Reader mgf = mgf_field.enter_sequence(what);
    if (Oid::read(mgf, what) != oid::kMgf1) bad_params(what, "mask generation is not MGF1");
    if (read_hash_identifier(mgf, what) != h) bad_params(what, "MGF1 hash differs from message hash");
    mgf.expect_end(what);
    mgf_field.expect_end(what);
    der::Reader salt_field = p.enter(der::context_constructed(2), what);
    const std::int64_t salt = salt_field.read_small_integer(what);
    salt_field.expect_end(what);
    if (salt != static_cast<std::int64_t>(digest_size(h))) {
      bad_params(what, "PSS salt length " + std::to_string(salt) + " is not the hash length");
    }
    if (auto trailer = p.enter_optional(der::context_constructed(3), what)) {
      const std::int64_t t = trailer->read_small_integer(what);
      if (t == 1) throw ParseError(ErrorId::kExplicitDefault, std::string(what) + ": trailerField DEFAULT 1 written out");
      bad_params(what, "unsupported PSS trailer field");
    }
    p.expect_end(what);
    switch (h) {
      case HashAlgorithm::kSha256: return SignatureAlgorithm::kRsaPssSha256;
      case HashAlgorithm::kSha384: return SignatureAlgorithm::kRsaPssSha384;
      case HashAlgorithm::kSha512: return SignatureAlgorithm::kRsaPssSha512;
    }
  }
  for (const AlgorithmInfo& i : algorithms()) {
    if (*i.oid != id || is_pss(i.algorithm)) continue;
    if (i.key == KeyAlgorithm::kRsa) {
      if (alg.at_end()) bad_params(what, "RSA signature algorithm without the NULL parameter");
      alg.read_null(what);
    }
    if (!alg.at_end()) bad_params(what, "ECDSA algorithm identifiers carry no parameters");
    return i.algorithm;
  }
  throw ParseError(ErrorId::kUnsupportedAlgorithm,
                   std::string(what) + ": unsupported signature algorithm " + id.to_string());
}

std::string PublicKey::description() const {
  if (algorithm == KeyAlgorithm::kRsa) return "RSA " + std::to_string(bits);
  if (curve == oid::kP256) return "ECDSA P-256";
  if (curve == oid::kP384) return "ECDSA P-384";
  return "ECDSA P-521";
}

// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
PublicKey read_public_key(der::Reader& r, std::string_view what) {
  const der::Element whole = r.read(der::kSequence, what);
  PublicKey key;
  key.spki.assign(whole.whole.begin(), whole.whole.end());
  der::Reader spki(whole.content);
  der::Reader alg = spki.enter_sequence(what);
  const Oid id = Oid::read(alg, what);
  if (id == oid::kRsaEncryption) {
    // RFC 3279 2.3.1: parameters MUST be NULL.
    alg.read_null(what);
    alg.expect_end(what);
    key.algorithm = KeyAlgorithm::kRsa;
    const BytesView bits = spki.read_bit_string_bytes(what);
    key.key_bits.assign(bits.begin(), bits.end());
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    der::Reader outer(bits);
    der::Reader rsa = outer.enter_sequence(what);
    outer.expect_end(what);
    BytesView n = rsa.read_positive_integer(what);
    BytesView e = rsa.read_positive_integer(what);
    rsa.expect_end(what);
    if (n[0] == 0) n = n.subspan(1);
    if (e[0] == 0) e = e.subspan(1);
    key.modulus.assign(n.begin(), n.end());
    key.exponent.assign(e.begin(), e.end());
    key.bits = static_cast<unsigned>(to_integer(n).BitCount());
    if (e.size() > 8 || !(e.back() & 1) || (e.size() == 1 && e[0] < 3)) {
      throw ParseError(ErrorId::kBadPublicKey, std::string(what) + ": RSA public exponent is not an odd value >= 3");
    }
    if (!(n.back() & 1)) throw ParseError(ErrorId::kBadPublicKey, std::string(what) + ": RSA modulus is even");
  } else if (id == oid::kEcPublicKey) {
    // RFC 5480 2.1.1: ECParameters must be a namedCurve.
    key.algorithm = KeyAlgorithm::kEc;
    if (!alg.peek(der::kOid)) {
      throw ParseError(ErrorId::kBadAlgorithmParameters, std::string(what) + ": EC key without a named curve (explicit or implicit parameters are refused)");
    }
    key.curve = Oid::read(alg, what);
    alg.expect_end(what);
    std::size_t field = 0;
    if (key.curve == oid::kP256) {
      field = 32;
    } else if (key.curve == oid::kP384) {
      field = 48;
    } else if (key.curve == oid::kP521) {
      field = 66;
    } else {
      throw ParseError(ErrorId::kUnsupportedAlgorithm, std::string(what) + ": unsupported curve " + key.curve.to_string());
    }
    key.bits = field == 66 ? 521 : static_cast<unsigned>(field * 8);
    const BytesView bits = spki.read_bit_string_bytes(what);
    key.key_bits.assign(bits.begin(), bits.end());
    if (bits.size() != 1 + 2 * field || bits[0] != 0x04) {
      throw ParseError(ErrorId::kBadPublicKey, std::string(what) + ": EC point must be uncompressed (04||X||Y)");
    }
    key.point.assign(bits.begin(), bits.end());
    const CryptoPP::OID curve = field == 32 ? CryptoPP::ASN1::secp256r1()
                                : field == 48 ? CryptoPP::ASN1::secp384r1()
                                              : CryptoPP::ASN1::secp521r1();
    CryptoPP::DL_GroupParameters_EC<CryptoPP::ECP> params(curve);
    CryptoPP::ECP::Point q;
    if (!params.GetCurve().DecodePoint(q, bits.data(), bits.size()) ||
        !params.GetCurve().VerifyPoint(q) || q.identity) {
      throw ParseError(ErrorId::kBadPublicKey, std::string(what) + ": EC point is not on the curve");
    }
  } else {
    throw ParseError(ErrorId::kUnsupportedAlgorithm,
                     std::string(what) + ": unsupported public key algorithm " + id.to_string());
  }
  spki.expect_end(what);
  return key;
}

PublicKey parse_public_key(BytesView spki) {
  der::Reader r(spki);
  PublicKey key = read_public_key(r, "SubjectPublicKeyInfo");
  r.expect_end("SubjectPublicKeyInfo");
  return key;
}

Bytes key_identifier(const PublicKey& key) { return hash_with<CryptoPP::SHA1>(key.key_bits); }

bool algorithm_fits_key(SignatureAlgorithm algorithm, const PublicKey& key) {
  return key_algorithm_of(algorithm) == key.algorithm;
}

SignatureAlgorithm default_signature_algorithm(const PublicKey& key) {
  if (key.algorithm == KeyAlgorithm::kRsa) return SignatureAlgorithm::kRsaPkcs1Sha256;
  if (key.curve == oid::kP256) return SignatureAlgorithm::kEcdsaSha256;
  if (key.curve == oid::kP384) return SignatureAlgorithm::kEcdsaSha384;
  return SignatureAlgorithm::kEcdsaSha512;
}

bool verify_signature(const PublicKey& key, SignatureAlgorithm algorithm, BytesView data,
                      BytesView signature) {
  if (!algorithm_fits_key(algorithm, key)) return false;
  using namespace CryptoPP;
  switch (algorithm) {
    case SignatureAlgorithm::kRsaPkcs1Sha256: return verify_rsa<RSASS<PKCS1v15, SHA256>>(key, data, signature);
    case SignatureAlgorithm::kRsaPkcs1Sha384: return verify_rsa<RSASS<PKCS1v15, SHA384>>(key, data, signature);
    case SignatureAlgorithm::kRsaPkcs1Sha512: return verify_rsa<RSASS<PKCS1v15, SHA512>>(key, data, signature);
    case SignatureAlgorithm::kRsaPssSha256: return verify_rsa<RSASS<PSS, SHA256>>(key, data, signature);
    case SignatureAlgorithm::kRsaPssSha384: return verify_rsa<RSASS<PSS, SHA384>>(key, data, signature);
    case SignatureAlgorithm::kRsaPssSha512: return verify_rsa<RSASS<PSS, SHA512>>(key, data, signature);
    case SignatureAlgorithm::kEcdsaSha256: return verify_ecdsa<SHA256>(key, data, signature);
    case SignatureAlgorithm::kEcdsaSha384: return verify_ecdsa<SHA384>(key, data, signature);
    case SignatureAlgorithm::kEcdsaSha512: return verify_ecdsa<SHA512>(key, data, signature);
  }
  return false;
}

const Oid& hash_oid(HashAlgorithm h) {
  switch (h) {
    case HashAlgorithm::kSha256: return oid::kSha256;
    case HashAlgorithm::kSha384: return oid::kSha384;
    case HashAlgorithm::kSha512: return oid::kSha512;
  }
  throw BuildError("unknown hash");
}

HashAlgorithm read_hash_identifier(der::Reader& r, std::string_view what) {
  der::Reader alg = r.enter_sequence(what);
  const Oid id = Oid::read(alg, what);
  if (!alg.at_end()) alg.read_null(what);
  alg.expect_end(what);
  for (HashAlgorithm h : {HashAlgorithm::kSha256, HashAlgorithm::kSha384, HashAlgorithm::kSha512}) {
    if (hash_oid(h) == id) return h;
  }
  throw ParseError(ErrorId::kUnsupportedAlgorithm, std::string(what) + ": unsupported hash " + id.to_string() + " (SHA-256/384/512 are accepted)");
}

}  // namespace hanko::pki
