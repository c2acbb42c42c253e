#include "der.h"

#include <cryptopp/integer.h>
#include <cryptopp/queue.h>
#include <cryptopp/rsa.h>

#include <algorithm>
#include <iterator>

#include "hanko/hsm/error.h"

namespace hanko::hsm::der {

namespace {

constexpr std::uint8_t kInteger = 0x02;
constexpr std::uint8_t kBitString = 0x03;
constexpr std::uint8_t kOctetString = 0x04;
constexpr std::uint8_t kSequence = 0x30;

// id-ecPublicKey OBJECT IDENTIFIER ::= { 1 2 840 10045 2 1 }
constexpr std::uint8_t kIdEcPublicKey[] = {0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};

void append_length(Bytes& out, std::size_t length) {
  if (length < 0x80) {
    out.push_back(static_cast<std::uint8_t>(length));
    return;
  }
  std::uint8_t digits[sizeof(std::size_t)];
  std::size_t count = 0;
  for (; length != 0; length >>= 8) digits[count++] = static_cast<std::uint8_t>(length & 0xFF);
  out.push_back(static_cast<std::uint8_t>(0x80 | count));
  while (count != 0) out.push_back(digits[--count]);
}

void append_tlv(Bytes& out, std::uint8_t tag, BytesView content) {
  out.push_back(tag);
  append_length(out, content.size());
  out.insert(out.end(), content.begin(), content.end());
}

Bytes tlv(std::uint8_t tag, BytesView content) {
  Bytes out;
  out.reserve(content.size() + 6);
  append_tlv(out, tag, content);
  return out;
}

// INTEGER from an unsigned big-endian magnitude: minimal, with a 00 byte when the top bit is set.
void append_unsigned_integer(Bytes& out, BytesView magnitude) {
  while (magnitude.size() > 1 && magnitude.front() == 0) magnitude = magnitude.subspan(1);
  const bool pad = magnitude.empty() || (magnitude.front() & 0x80) != 0;
  out.push_back(kInteger);
  append_length(out, magnitude.size() + (pad ? 1 : 0));
  if (pad) out.push_back(0x00);
  out.insert(out.end(), magnitude.begin(), magnitude.end());
}

Bytes concat(BytesView a, BytesView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

}  // namespace

Bytes rsa_public_key_info(BytesView modulus, BytesView public_exponent) {
  CryptoPP::RSA::PublicKey key;
  key.Initialize(CryptoPP::Integer(modulus.data(), modulus.size()),
                 CryptoPP::Integer(public_exponent.data(), public_exponent.size()));
  CryptoPP::ByteQueue queue;
  key.DEREncode(queue);  // X509PublicKey: SubjectPublicKeyInfo with rsaEncryption and NULL
  Bytes out(queue.CurrentSize());
  queue.Get(out.data(), out.size());
  return out;
}

Bytes ec_public_key_info(BytesView curve_params, BytesView point) {
  // AlgorithmIdentifier ::= SEQUENCE { algorithm id-ecPublicKey, parameters namedCurve }
  const Bytes algorithm = tlv(kSequence, concat(kIdEcPublicKey, curve_params));
  // BIT STRING: 00 unused bits, then the point
  Bytes bits{0x00};
  bits.insert(bits.end(), point.begin(), point.end());
  return tlv(kSequence, concat(algorithm, tlv(kBitString, bits)));
}

Bytes ec_point(BytesView attribute, std::size_t point_size) {
  constexpr std::uint8_t kUncompressed = 0x04;
  if (attribute.size() == point_size && attribute.front() == kUncompressed) {
    return Bytes(attribute.begin(), attribute.end());
  }
  // OCTET STRING wrapping: 04 <len> 04 X Y, with a one- or two-byte length.
  const std::size_t header = point_size < 0x80 ? 2 : 3;
  if (attribute.size() == header + point_size && attribute[0] == kOctetString &&
      attribute[header] == kUncompressed) {
    return Bytes(attribute.begin() + static_cast<std::ptrdiff_t>(header), attribute.end());
  }
  throw Error(Reason::KeyUnsupported, "CKA_EC_POINT of " + std::to_string(attribute.size()) +
                                          " bytes is not an uncompressed point of " +
                                          std::to_string(point_size) +
                                          " bytes; the key or module is not supported");
}

Bytes ecdsa_signature(BytesView r_and_s) {
  const std::size_t half = r_and_s.size() / 2;
  if (r_and_s.empty() || r_and_s.size() % 2 != 0) {
    throw Error(Reason::KeyUnsupported, "the token returned an ECDSA signature of " +
                                            std::to_string(r_and_s.size()) +
                                            " bytes, not r || s; check the module");
  }
  Bytes integers;
  integers.reserve(r_and_s.size() + 6);
  append_unsigned_integer(integers, r_and_s.first(half));
  append_unsigned_integer(integers, r_and_s.subspan(half));
  return tlv(kSequence, integers);
}

Bytes digest_info(BytesView digest) {
  // DER of SEQUENCE { SEQUENCE { hash OID, NULL }, OCTET STRING (length) } up to the digest bytes
  // (RFC 8017 section 9.2, note 1).
  static constexpr std::uint8_t kSha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                             0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                             0x01, 0x05, 0x00, 0x04, 0x20};
  static constexpr std::uint8_t kSha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                             0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                             0x02, 0x05, 0x00, 0x04, 0x30};
  static constexpr std::uint8_t kSha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                             0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                             0x03, 0x05, 0x00, 0x04, 0x40};
  switch (digest.size()) {
    case 32: return concat(kSha256, digest);
    case 48: return concat(kSha384, digest);
    case 64: return concat(kSha512, digest);
    default: break;
  }
  throw Error(Reason::InvalidArgument, "a digest of " + std::to_string(digest.size()) +
                                           " bytes is not SHA-256/384/512; hash with the "
                                           "mechanism's hash function");
}

}  // namespace hanko::hsm::der
