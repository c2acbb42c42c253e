#pragma once
// Signed batch bundles: everything that crosses the air gap, in one canonical DER encoding.
//
//   Bundle ::= SEQUENCE {
//     tbsBundle           TBSBundle,
//     signatureAlgorithm  AlgorithmIdentifier,
//     signature           BIT STRING }            -- over the DER of tbsBundle
//
//   TBSBundle ::= SEQUENCE {
//     version      INTEGER (1),
//     bundleId     OCTET STRING (SIZE (16)),
//     direction    ENUMERATED { request (0), result (1) },
//     sequence     INTEGER (1..kMaxSequence),     -- per signer and direction
//     created      GeneralizedTime,
//     signerKeyId  OCTET STRING (SIZE (32)),      -- SHA-256 of the signer's SubjectPublicKeyInfo
//     manifest     SEQUENCE SIZE (1..kMaxParts) OF PartInfo,
//     parts        SEQUENCE SIZE (1..kMaxParts) OF OCTET STRING }  -- same order as manifest
//
//   PartInfo ::= SEQUENCE {
//     name       UTF8String (SIZE (1..kMaxNameLength)),   -- [A-Za-z0-9._-], no leading '.'
//     mediaType  UTF8String (SIZE (1..kMaxMediaTypeLength)),
//     size       INTEGER (0..kMaxPartSize),
//     sha256     OCTET STRING (SIZE (32)) }
//
// Canonical: parts are sorted by name (names unique), so the same content gives the same bytes.
#include <array>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include <cryptopp/cryptlib.h>

#include "hanko/pki/algorithm.h"
#include "hanko/pki/signer.h"
#include "hanko/pki/time.h"
#include "hanko/transfer/error.h"

namespace hanko::transfer {

inline constexpr std::int64_t kBundleVersion = 1;
inline constexpr std::size_t kMaxParts = 1000;
inline constexpr std::size_t kMaxPartSize = 8u << 20;     // 8 MiB
inline constexpr std::size_t kMaxBundleSize = 32u << 20;  // 32 MiB, the whole encoded bundle
inline constexpr std::size_t kMaxNameLength = 128;
inline constexpr std::size_t kMaxMediaTypeLength = 64;
inline constexpr std::uint64_t kMaxSequence = 1ull << 48;

enum class Direction { kRequest = 0, kResult = 1 };  // request: relay -> signer; result: back
std::string_view direction_name(Direction d);        // "request", "result"
std::optional<Direction> parse_direction(std::string_view name);

using BundleId = std::array<std::uint8_t, 16>;
using KeyId = std::array<std::uint8_t, 32>;

struct Part {
  std::string name;
  std::string media_type;
  Bytes content;
};

struct PartInfo {
  std::string name;
  std::string media_type;
  std::size_t size = 0;
  std::array<std::uint8_t, 32> sha256{};
};

// The unsigned content of a bundle.
struct BundleContent {
  BundleId id{};
  Direction direction = Direction::kRequest;
  std::uint64_t sequence = 0;
  pki::Time created{};
  std::vector<Part> parts;
};

// A parsed bundle. The parts point into nothing: they are copies, checked against the manifest.
struct Bundle {
  BundleId id{};
  Direction direction = Direction::kRequest;
  std::uint64_t sequence = 0;
  pki::Time created{};
  KeyId signer{};
  std::vector<PartInfo> manifest;
  std::vector<Bytes> parts;
  pki::SignatureAlgorithm signature_algorithm = pki::SignatureAlgorithm::kEcdsaSha256;
  Bytes tbs;        // DER of TBSBundle (what was signed)
  Bytes signature;  // as it stands in the BIT STRING
  std::array<std::uint8_t, 32> sha256{};  // of the whole encoded bundle
  std::size_t encoded_size = 0;
};

KeyId key_id_of(const pki::PublicKey& key);  // SHA-256 of the SubjectPublicKeyInfo

// Encodes and signs. Throws TransferError(kLimitExceeded / kBadManifest) on content out of
// limits, pki::BuildError on a signer failure. The result is re-parsed and its signature checked
// before it is returned (sign, then verify what was produced).
Bytes sign_bundle(const BundleContent& content, pki::Signer& signer);
// A fresh id from the caller's randomness (the library never reads a random source itself).
BundleContent make_bundle(BundleId id, Direction direction, std::uint64_t sequence, pki::Time created,
                          std::vector<Part> parts);
BundleId random_bundle_id(CryptoPP::RandomNumberGenerator& rng);

// Strict structural parse: grammar, limits, manifest against parts. Does not check the signature.
Result<Bundle> parse_bundle(BytesView der);
// parse_bundle, then: the signer must be one of `trusted`, and the signature must verify.
Result<Bundle> open_bundle(BytesView der, const std::vector<pki::PublicKey>& trusted);

// SHA-256 of the encoded bundle as 8 words from a fixed list of 256 (64 bits), to read aloud.
std::string digest_words(const std::array<std::uint8_t, 32>& sha256);
// The word list itself (256 entries, fixed forever: changing it breaks comparisons).
const std::array<const char*, 256>& word_list();

// "hanko-request-000007-<id hex>.hkb"
std::string bundle_file_name(const Bundle& b);

// The summary a person reads before approving (what you see is what you sign).
std::string describe_bundle(const Bundle& b);

}  // namespace hanko::transfer
