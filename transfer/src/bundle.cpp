#include "hanko/transfer/bundle.h"

#include <cryptopp/sha.h>

#include <algorithm>
#include <sstream>

namespace hanko::transfer {

namespace {

using pki::der::Reader;
using pki::der::Writer;

std::array<std::uint8_t, 32> sha256(BytesView data) {
  std::array<std::uint8_t, 32> out{};
  CryptoPP::SHA256().CalculateDigest(out.data(), data.data(), data.size());
  return out;
}

[[noreturn]] void fail(ErrorId id, const std::string& message) { throw TransferError(id, message); }

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

bool valid_media_type(std::string_view type) {
  if (type.empty() || type.size() > kMaxMediaTypeLength || type.find('/') == std::string_view::npos) return false;
  return std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '/' || c == '+' || c == '-';
  });
}

void check_part_fields(std::string_view name, std::string_view media_type, std::size_t size) {
  if (!valid_name(name)) {
    fail(name.size() > kMaxNameLength ? ErrorId::kLimitExceeded : ErrorId::kBadManifest,
         "part name '" + std::string(name.substr(0, 40)) + "' is not 1 to " + std::to_string(kMaxNameLength) +
             " characters of [A-Za-z0-9._-] without a leading '.'");
  }
  if (!valid_media_type(media_type)) {
    fail(media_type.size() > kMaxMediaTypeLength ? ErrorId::kLimitExceeded : ErrorId::kBadManifest,
         "part '" + std::string(name) + "': media type '" + std::string(media_type.substr(0, 40)) +
             "' is not a lower-case type/subtype of at most " + std::to_string(kMaxMediaTypeLength) + " characters");
  }
  if (size > kMaxPartSize) {
    fail(ErrorId::kLimitExceeded, "part '" + std::string(name) + "' declares " + std::to_string(size) +
                                      " bytes; the limit is " + std::to_string(kMaxPartSize));
  }
}

// TBSBundle (see bundle.h for the ASN.1).
Bytes encode_tbs(const BundleContent& c, const KeyId& signer) {
  if (c.parts.empty() || c.parts.size() > kMaxParts) {
    fail(ErrorId::kLimitExceeded, "a bundle carries 1 to " + std::to_string(kMaxParts) + " parts, not " +
                                      std::to_string(c.parts.size()));
  }
  if (c.sequence < 1 || c.sequence > kMaxSequence) fail(ErrorId::kLimitExceeded, "sequence number out of range");
  std::vector<const Part*> sorted;
  std::size_t total = 0;
  for (const Part& p : c.parts) {
    check_part_fields(p.name, p.media_type, p.content.size());
    total += p.content.size();
    sorted.push_back(&p);
  }
  if (total > kMaxBundleSize - 64 * 1024) {
    fail(ErrorId::kLimitExceeded, "parts add up to " + std::to_string(total) + " bytes; a bundle holds at most " +
                                      std::to_string(kMaxBundleSize - 64 * 1024));
  }
  std::sort(sorted.begin(), sorted.end(), [](const Part* a, const Part* b) { return a->name < b->name; });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1]->name == sorted[i]->name) fail(ErrorId::kBadManifest, "two parts are named '" + sorted[i]->name + "'");
  }
  Writer w(total + 4096);
  w.sequence([&](Writer& t) {
    t.integer(kBundleVersion);
    t.octet_string(c.id);
    t.integer(static_cast<std::int64_t>(c.direction), pki::der::kEnumerated);
    t.integer(static_cast<std::int64_t>(c.sequence));
    pki::write_generalized_time(t, c.created);
    t.octet_string(signer);
    t.sequence([&](Writer& m) {
      for (const Part* p : sorted) {
        m.sequence([&](Writer& e) {
          e.utf8_string(p->name);
          e.utf8_string(p->media_type);
          e.integer(static_cast<std::int64_t>(p->content.size()));
          const auto digest = sha256(p->content);
          e.octet_string(digest);
        });
      }
    });
    t.sequence([&](Writer& s) {
      for (const Part* p : sorted) s.octet_string(p->content);
    });
  });
  return std::move(w).take();
}

template <std::size_t N>
std::array<std::uint8_t, N> fixed(BytesView b, std::string_view what) {
  if (b.size() != N) fail(ErrorId::kMalformed, std::string(what) + " must be " + std::to_string(N) + " bytes, not " + std::to_string(b.size()));
  std::array<std::uint8_t, N> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

std::string utf8_field(Reader& r, std::string_view what) {
  const BytesView b = r.read(pki::der::kUtf8String, what).content;
  return to_string(b);
}

Bundle parse_strict(BytesView der) {
  if (der.size() > kMaxBundleSize) {
    fail(ErrorId::kLimitExceeded, "the bundle is " + std::to_string(der.size()) + " bytes; the limit is " + std::to_string(kMaxBundleSize));
  }
  Bundle b;
  const pki::der::Element outer = pki::der::read_single(der, "Bundle");
  if (outer.tag != pki::der::kSequence) fail(ErrorId::kMalformed, "not a bundle: it does not start with a SEQUENCE");
  Reader top(outer.content);
  const pki::der::Element tbs = top.read(pki::der::kSequence, "TBSBundle");
  b.tbs.assign(tbs.whole.begin(), tbs.whole.end());
  b.signature_algorithm = pki::read_algorithm_identifier(top, "signatureAlgorithm");
  const BytesView sig = top.read_bit_string_bytes("signature");
  b.signature.assign(sig.begin(), sig.end());
  top.expect_end("Bundle");

  Reader t(tbs.content);
  // version INTEGER (1)
  const std::int64_t version = t.read_small_integer("version");
  if (version != kBundleVersion) {
    fail(ErrorId::kUnsupportedVersion, "bundle format version " + std::to_string(version) + " is not supported (this program reads version " +
                                           std::to_string(kBundleVersion) + ")");
  }
  // bundleId OCTET STRING (SIZE (16))
  b.id = fixed<16>(t.read_octet_string("bundleId"), "bundleId");
  // direction ENUMERATED { request (0), result (1) }
  const std::int64_t direction = t.read_small_integer(pki::der::kEnumerated, "direction");
  if (direction != 0 && direction != 1) fail(ErrorId::kMalformed, "direction " + std::to_string(direction) + " is neither request (0) nor result (1)");
  b.direction = static_cast<Direction>(direction);
  // sequence INTEGER (1..kMaxSequence)
  const std::int64_t sequence = t.read_small_integer("sequence");
  if (sequence < 1 || static_cast<std::uint64_t>(sequence) > kMaxSequence) {
    fail(ErrorId::kLimitExceeded, "sequence number " + std::to_string(sequence) + " is out of range");
  }
  b.sequence = static_cast<std::uint64_t>(sequence);
  // created GeneralizedTime
  b.created = pki::read_generalized_time(t, "created");
  // signerKeyId OCTET STRING (SIZE (32))
  b.signer = fixed<32>(t.read_octet_string("signerKeyId"), "signerKeyId");
  // manifest SEQUENCE SIZE (1..kMaxParts) OF PartInfo
  Reader m = t.enter_sequence("manifest");
  std::size_t total = 0;
  while (!m.at_end()) {
    if (b.manifest.size() == kMaxParts) fail(ErrorId::kLimitExceeded, "the manifest lists more than " + std::to_string(kMaxParts) + " parts");
    Reader e = m.enter_sequence("PartInfo");
    PartInfo info;
    info.name = utf8_field(e, "PartInfo.name");
    info.media_type = utf8_field(e, "PartInfo.mediaType");
    const std::int64_t size = e.read_small_integer("PartInfo.size");
    if (size < 0 || static_cast<std::uint64_t>(size) > kMaxPartSize) {
      fail(ErrorId::kLimitExceeded, "part '" + info.name.substr(0, 40) + "' declares " + std::to_string(size) + " bytes; the limit is " +
                                        std::to_string(kMaxPartSize));
    }
    info.size = static_cast<std::size_t>(size);
    check_part_fields(info.name, info.media_type, info.size);
    info.sha256 = fixed<32>(e.read_octet_string("PartInfo.sha256"), "PartInfo.sha256");
    e.expect_end("PartInfo");
    if (!b.manifest.empty() && !(b.manifest.back().name < info.name)) {
      fail(ErrorId::kBadManifest, "manifest names are not unique and sorted ('" + b.manifest.back().name + "' then '" + info.name + "')");
    }
    total += info.size;
    if (total > kMaxBundleSize) fail(ErrorId::kLimitExceeded, "the manifest declares more than " + std::to_string(kMaxBundleSize) + " bytes in all");
    b.manifest.push_back(std::move(info));
  }
  if (b.manifest.empty()) fail(ErrorId::kBadManifest, "the manifest lists no parts");
  // parts SEQUENCE SIZE (1..kMaxParts) OF OCTET STRING
  Reader p = t.enter_sequence("parts");
  while (!p.at_end()) {
    if (b.parts.size() == b.manifest.size()) fail(ErrorId::kBadManifest, "the bundle carries more parts than its manifest lists");
    const BytesView content = p.read_octet_string("part");
    const PartInfo& info = b.manifest[b.parts.size()];
    if (content.size() != info.size) {
      fail(ErrorId::kBadManifest, "part '" + info.name + "' is " + std::to_string(content.size()) + " bytes; the manifest says " + std::to_string(info.size));
    }
    if (sha256(content) != info.sha256) fail(ErrorId::kBadManifest, "part '" + info.name + "' does not match its SHA-256 in the manifest");
    b.parts.emplace_back(content.begin(), content.end());
  }
  if (b.parts.size() != b.manifest.size()) {
    fail(ErrorId::kBadManifest, "the manifest lists " + std::to_string(b.manifest.size()) + " parts but the bundle carries " + std::to_string(b.parts.size()));
  }
  t.expect_end("TBSBundle");
  b.sha256 = sha256(der);
  b.encoded_size = der.size();
  return b;
}

}  // namespace

std::string_view error_id_name(ErrorId id) {
  switch (id) {
    case ErrorId::kMalformed: return "malformed";
    case ErrorId::kUnsupportedVersion: return "unsupported-version";
    case ErrorId::kLimitExceeded: return "limit-exceeded";
    case ErrorId::kBadManifest: return "bad-manifest";
    case ErrorId::kUnknownSigner: return "unknown-signer";
    case ErrorId::kBadSignature: return "bad-signature";
    case ErrorId::kWrongDirection: return "wrong-direction";
    case ErrorId::kReplay: return "replay";
    case ErrorId::kOutOfSequence: return "out-of-sequence";
    case ErrorId::kBadFileName: return "bad-file-name";
    case ErrorId::kPartialFile: return "partial-file";
    case ErrorId::kBadFrame: return "bad-frame";
    case ErrorId::kNotEnoughFrames: return "not-enough-frames";
    case ErrorId::kCorruptRebuild: return "corrupt-rebuild";
    case ErrorId::kIo: return "io";
  }
  return "unknown";
}

std::string_view direction_name(Direction d) { return d == Direction::kRequest ? "request" : "result"; }

std::optional<Direction> parse_direction(std::string_view name) {
  if (name == "request") return Direction::kRequest;
  if (name == "result") return Direction::kResult;
  return std::nullopt;
}

KeyId key_id_of(const pki::PublicKey& key) { return sha256(key.spki); }

BundleContent make_bundle(BundleId id, Direction direction, std::uint64_t sequence, pki::Time created, std::vector<Part> parts) {
  BundleContent c{id, direction, sequence, created, std::move(parts)};
  (void)encode_tbs(c, KeyId{});  // checks every limit now, not at signing time
  return c;
}

BundleId random_bundle_id(CryptoPP::RandomNumberGenerator& rng) {
  BundleId id{};
  rng.GenerateBlock(id.data(), id.size());
  return id;
}

Bytes sign_bundle(const BundleContent& content, pki::Signer& signer) {
  const Bytes tbs = encode_tbs(content, key_id_of(signer.public_key()));
  const Bytes signature = signer.sign(tbs);
  Writer w(tbs.size() + signature.size() + 64);
  w.sequence([&](Writer& b) {
    b.raw(tbs);
    pki::write_algorithm_identifier(b, signer.algorithm());
    b.bit_string(signature);
  });
  Bytes der = std::move(w).take();
  // Sign, then re-parse strictly and verify before anything leaves this function.
  const auto check = open_bundle(der, {signer.public_key()});
  if (!check) throw pki::BuildError("the bundle just signed does not verify: " + check.message());
  return der;
}

Result<Bundle> parse_bundle(BytesView der) {
  try {
    return parse_strict(der);
  } catch (const TransferError& e) {
    return {e.id(), e.what()};
  } catch (const pki::ParseError& e) {
    return {e.id() == pki::ErrorId::kUnsupportedAlgorithm ? ErrorId::kBadSignature : ErrorId::kMalformed,
            "not a valid bundle [" + std::string(pki::error_id_name(e.id())) + "]: " + e.what()};
  }
}

Result<Bundle> open_bundle(BytesView der, const std::vector<pki::PublicKey>& trusted) {
  auto parsed = parse_bundle(der);
  if (!parsed) return parsed;
  const Bundle& b = *parsed;
  for (const pki::PublicKey& key : trusted) {
    if (key_id_of(key) != b.signer) continue;
    if (!pki::algorithm_fits_key(b.signature_algorithm, key)) {
      return {ErrorId::kBadSignature, "signature algorithm " + std::string(pki::signature_algorithm_name(b.signature_algorithm)) +
                                          " does not fit the signer's " + key.description() + " key"};
    }
    if (!pki::verify_signature(key, b.signature_algorithm, b.tbs, b.signature)) {
      return {ErrorId::kBadSignature, "the bundle's signature does not verify: it was changed after signing or signed over other content"};
    }
    return parsed;
  }
  return {ErrorId::kUnknownSigner, "the bundle is signed by key " + to_hex(BytesView(b.signer).first(8)) +
                                       "... which is not one of the " + std::to_string(trusted.size()) + " trusted keys"};
}

const std::array<const char*, 256>& word_list() {
  // Short, distinct English words; fixed forever (both sides must agree).
  static const std::array<const char*, 256> kWords = {
      "acid",  "acorn", "actor", "adobe", "agent", "alarm", "album", "alley", "amber", "angle", "ankle", "apple", "april", "apron", "arena", "arrow",
      "atlas", "attic", "audio", "award", "bacon", "badge", "baker", "bamboo", "banjo", "barn",  "basil", "beach", "beard", "bench", "berry", "bison",
      "blade", "blank", "blaze", "bloom", "board", "boat",  "bonus", "boots", "brain", "brass", "bread", "brick", "bride", "brook", "brush", "bucket",
      "buffalo", "bugle", "cabin", "cable", "cactus", "camel", "candy", "canoe", "canyon", "cargo", "carpet", "castle", "cedar", "chalk", "cherry", "chess",
      "chief", "cider", "cinema", "circle", "clay",  "cliff", "cloud", "clover", "coast", "cobra", "cocoa", "comet", "copper", "coral", "cotton", "crane",
      "crater", "crown", "cube",  "daisy", "dancer", "delta", "denim", "desert", "diary", "dingo", "disco", "dolphin", "donkey", "dragon", "drum",  "eagle",
      "earth", "easel", "echo",  "eclipse", "elbow", "elder", "elephant", "elk",  "ember", "engine", "equator", "fabric", "falcon", "feather", "fence", "ferry",
      "fiddle", "field", "flame", "flute", "forest", "fossil", "fox",  "frost", "fruit", "galaxy", "garden", "garlic", "gecko", "ginger", "giraffe", "glacier",
      "globe", "glove", "goat",  "gold",  "gorilla", "grape", "gravel", "guitar", "hammer", "harbor", "harp", "hazel", "helmet", "heron", "hollow", "honey",
      "horizon", "hotel", "igloo", "index", "ink",   "island", "ivory", "jacket", "jaguar", "jelly", "jewel", "jungle", "kayak", "kettle", "kiwi", "koala",
      "ladder", "lagoon", "lamp", "lantern", "laser", "lemon", "lentil", "lily", "linen", "lion", "lizard", "lobster", "lotus", "lunar", "magnet", "mango",
      "maple", "marble", "meadow", "melon", "meteor", "mint", "mirror", "monkey", "mosaic", "moss", "mountain", "mule", "nectar", "needle", "noodle", "nutmeg",
      "oasis", "ocean", "olive", "onion", "opera", "orange", "orchid", "otter", "owl",  "oyster", "paddle", "palm", "panda", "paper", "parrot", "peach",
      "pearl", "pebble", "pepper", "piano", "pilot", "pine", "planet", "plum", "pocket", "pony", "prism", "pumpkin", "quartz", "quill", "rabbit", "radar",
      "raven", "reef",  "ribbon", "river", "robin", "rocket", "saddle", "salmon", "sand", "satin", "seal", "shell", "silver", "sketch", "sled", "spider",
      "spruce", "squid", "statue", "stone", "sugar", "summit", "swan", "tango", "temple", "thunder", "tiger", "tomato", "tulip", "turtle", "violin", "walnut",
  };
  return kWords;
}

std::string digest_words(const std::array<std::uint8_t, 32>& digest) {
  std::string out;
  for (std::size_t i = 0; i < 8; ++i) {
    if (i) out += ' ';
    out += word_list()[digest[i]];
  }
  return out;
}

std::string bundle_file_name(const Bundle& b) {
  std::string seq = std::to_string(b.sequence);
  if (seq.size() < 6) seq.insert(0, 6 - seq.size(), '0');
  return "hanko-" + std::string(direction_name(b.direction)) + "-" + seq + "-" + to_hex(b.id) + ".hkb";
}

std::string describe_bundle(const Bundle& b) {
  std::ostringstream o;
  o << "Bundle " << to_hex(b.id) << "\n"
    << "  direction   " << direction_name(b.direction)
    << (b.direction == Direction::kRequest ? " (relay -> signer)" : " (signer -> relay)") << "\n"
    << "  sequence    " << b.sequence << "\n"
    << "  created     " << pki::format_time(b.created) << "\n"
    << "  signer key  " << to_hex(b.signer) << "\n"
    << "  signature   " << pki::signature_algorithm_name(b.signature_algorithm) << "\n"
    << "  parts       " << b.manifest.size() << "\n";
  for (const PartInfo& p : b.manifest) {
    o << "    " << p.name << "  " << p.media_type << "  " << p.size << " bytes  SHA-256 " << to_hex(p.sha256) << "\n";
  }
  o << "  size        " << b.encoded_size << " bytes\n"
    << "  SHA-256     " << to_hex(b.sha256) << "\n"
    << "  read aloud  " << digest_words(b.sha256) << "\n";
  return o.str();
}

}  // namespace hanko::transfer
