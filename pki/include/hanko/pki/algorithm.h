#pragma once
// Signature algorithms, subject public keys and signature verification (Crypto++).
#include <optional>
#include <string>
#include <string_view>

#include "hanko/pki/der.h"
#include "hanko/pki/oid.h"

namespace hanko::pki {

enum class SignatureAlgorithm {
  kRsaPkcs1Sha256,
  kRsaPkcs1Sha384,
  kRsaPkcs1Sha512,
  kRsaPssSha256,
  kRsaPssSha384,
  kRsaPssSha512,
  kEcdsaSha256,
  kEcdsaSha384,
  kEcdsaSha512,
};

enum class HashAlgorithm { kSha256, kSha384, kSha512 };
enum class KeyAlgorithm { kRsa, kEc };

std::string_view signature_algorithm_name(SignatureAlgorithm a);  // "sha256WithRSAEncryption"
std::optional<SignatureAlgorithm> parse_signature_algorithm_name(std::string_view name);
HashAlgorithm hash_of(SignatureAlgorithm a);
KeyAlgorithm key_algorithm_of(SignatureAlgorithm a);
std::size_t digest_size(HashAlgorithm h);
Bytes digest(HashAlgorithm h, BytesView data);
const Oid& hash_oid(HashAlgorithm h);  // id-sha256, id-sha384, id-sha512
// A hash AlgorithmIdentifier (in RSASSA-PSS-params, CMS digestAlgorithm): parameters absent
// (RFC 5754) or NULL (RFC 4055); SHA-256/384/512 only.
HashAlgorithm read_hash_identifier(der::Reader& r, std::string_view what);

// AlgorithmIdentifier: RSA PKCS#1 with an explicit NULL, ECDSA with absent parameters
// (RFC 4055, RFC 5758), RSASSA-PSS with MGF1 of the same hash and salt = hash length.
void write_algorithm_identifier(der::Writer& w, SignatureAlgorithm a);
Bytes encode_algorithm_identifier(SignatureAlgorithm a);
SignatureAlgorithm read_algorithm_identifier(der::Reader& r, std::string_view what);

// SubjectPublicKeyInfo, strictly parsed (RFC 5280 4.1.2.7, RFC 3279, RFC 5480).
struct PublicKey {
  KeyAlgorithm algorithm = KeyAlgorithm::kRsa;
  unsigned bits = 0;     // modulus size or curve order size
  Oid curve;             // EC only
  Bytes modulus;         // RSA only, unsigned big-endian
  Bytes exponent;        // RSA only
  Bytes point;           // EC only, uncompressed 04||X||Y
  Bytes spki;            // the whole SubjectPublicKeyInfo DER
  Bytes key_bits;        // content of subjectPublicKey BIT STRING (what SKI method 1 hashes)

  std::string description() const;  // "RSA 2048", "ECDSA P-256"
};

PublicKey read_public_key(der::Reader& r, std::string_view what);
PublicKey parse_public_key(BytesView spki);  // throws ParseError
// SKI by RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
Bytes key_identifier(const PublicKey& key);

// Does `algorithm` fit `key` (RSA family for RSA keys, ECDSA for EC keys)?
bool algorithm_fits_key(SignatureAlgorithm algorithm, const PublicKey& key);
// The default signature algorithm for a key: SHA-256 for RSA and P-256, SHA-384 for P-384.
SignatureAlgorithm default_signature_algorithm(const PublicKey& key);

// Verifies `signature` (as it stands in the BIT STRING: DER SEQUENCE{r,s} for ECDSA) over `data`.
bool verify_signature(const PublicKey& key, SignatureAlgorithm algorithm, BytesView data,
                      BytesView signature);

}  // namespace hanko::pki
