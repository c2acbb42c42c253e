#include <gtest/gtest.h>

#include <set>

#include "transfer_test_support.h"

using namespace hanko;
using namespace hanko::transfer;
using namespace hanko::transfer::testing;
using pki::der::Writer;

namespace {

// Builds a TBSBundle by hand so tests can write what make_bundle refuses to.
struct RawPart {
  std::string name = "a.bin";
  std::string media_type = "application/octet-stream";
  std::int64_t declared_size = -1;  // -1: the real size
  Bytes content = to_bytes("hello");
  bool good_hash = true;
};

Bytes raw_bundle(const std::vector<RawPart>& parts, pki::Signer& signer, std::int64_t version = 1, std::int64_t sequence = 1,
                 std::size_t id_size = 16) {
  Writer t;
  t.sequence([&](Writer& w) {
    w.integer(version);
    w.octet_string(Bytes(id_size, 0x42));
    w.integer(0, pki::der::kEnumerated);
    w.integer(sequence);
    pki::write_generalized_time(w, fixed_time());
    w.octet_string(key_id_of(signer.public_key()));
    w.sequence([&](Writer& m) {
      for (const RawPart& p : parts) {
        m.sequence([&](Writer& e) {
          e.utf8_string(p.name);
          e.utf8_string(p.media_type);
          e.integer(p.declared_size >= 0 ? p.declared_size : static_cast<std::int64_t>(p.content.size()));
          Bytes digest = pki::digest(pki::HashAlgorithm::kSha256, p.content);
          if (!p.good_hash) digest[0] ^= 1;
          e.octet_string(digest);
        });
      }
    });
    w.sequence([&](Writer& s) {
      for (const RawPart& p : parts) s.octet_string(p.content);
    });
  });
  const Bytes tbs = t.take();
  Writer b;
  b.sequence([&](Writer& w) {
    w.raw(tbs);
    pki::write_algorithm_identifier(w, signer.algorithm());
    w.bit_string(signer.sign(tbs));
  });
  return b.take();
}

std::vector<pki::PublicKey> trusted() { return {relay_key().public_key()}; }

}  // namespace

TEST(Bundle, RoundTripKeepsEveryField) {
  const Bytes der = make_signed(7, Direction::kRequest, 1000);
  const auto b = open_bundle(der, trusted());
  ASSERT_TRUE(b) << b.message();
  EXPECT_EQ(b->id, id_from(7000));
  EXPECT_EQ(b->direction, Direction::kRequest);
  EXPECT_EQ(b->sequence, 7u);
  EXPECT_EQ(b->created, fixed_time());
  EXPECT_EQ(b->signer, key_id_of(relay_key().public_key()));
  ASSERT_EQ(b->manifest.size(), 2u);
  EXPECT_EQ(b->manifest[0].name, "items.der");
  EXPECT_EQ(b->parts[0], pseudo_random(1000, 49));
  EXPECT_EQ(to_string(b->parts[1]), "batch 7");
  EXPECT_EQ(b->encoded_size, der.size());
}

TEST(Bundle, IsCanonicalWhateverThePartOrder) {
  // RSA PKCS#1 v1.5 is deterministic, so whole bundles can be compared byte for byte.
  pki::SoftwareSigner rsa(pki::SoftwareKeyType::kRsa2048, pki::SignatureAlgorithm::kRsaPkcs1Sha256);
  std::vector<Part> parts = {{"b.txt", "text/plain", to_bytes("two")}, {"a.txt", "text/plain", to_bytes("one")}};
  std::vector<Part> reversed = {parts[1], parts[0]};
  const Bytes x = sign_bundle(make_bundle(id_from(1), Direction::kResult, 3, fixed_time(), parts), rsa);
  const Bytes y = sign_bundle(make_bundle(id_from(1), Direction::kResult, 3, fixed_time(), reversed), rsa);
  EXPECT_EQ(x, y);
  const auto b = open_bundle(x, {rsa.public_key()});
  ASSERT_TRUE(b) << b.message();
  EXPECT_EQ(b->manifest[0].name, "a.txt");
}

TEST(Bundle, EveryFlippedByteIsRefused) {
  const Bytes der = make_signed(1, Direction::kRequest, 200);
  std::set<ErrorId> seen;
  for (std::size_t i = 0; i < der.size(); ++i) {
    Bytes bad = der;
    bad[i] ^= 0x01;
    const auto b = open_bundle(bad, trusted());
    ASSERT_FALSE(b) << "flipping byte " << i << " went unnoticed";
    EXPECT_FALSE(b.message().empty());
    seen.insert(b.error());
  }
  EXPECT_TRUE(seen.count(ErrorId::kBadSignature));
  EXPECT_TRUE(seen.count(ErrorId::kBadManifest));
  EXPECT_TRUE(seen.count(ErrorId::kMalformed));
}

TEST(Bundle, ValidSignatureOverADifferentManifestIsRefused) {
  // A part and its manifest hash changed together, with the signature of the original bundle:
  // the manifest is self-consistent, the signature is genuine, but it signed other content.
  RawPart original;
  RawPart forged;
  forged.content = to_bytes("HELLO");
  const Bytes a = raw_bundle({original}, relay_key());
  const Bytes b = raw_bundle({forged}, relay_key());
  const auto pa = parse_bundle(a), pb = parse_bundle(b);
  ASSERT_TRUE(pa && pb);
  Writer w;
  w.sequence([&](Writer& o) {
    o.raw(pb->tbs);
    pki::write_algorithm_identifier(o, relay_key().algorithm());
    o.bit_string(pa->signature);
  });
  const auto spliced = open_bundle(w.bytes(), trusted());
  ASSERT_FALSE(spliced);
  EXPECT_EQ(spliced.error(), ErrorId::kBadSignature) << spliced.message();
  EXPECT_TRUE(parse_bundle(w.bytes())) << "structurally it is a fine bundle";
}

TEST(Bundle, UnknownSignerIsRefused) {
  const Bytes der = make_signed(1, Direction::kRequest, 10, other_key());
  const auto b = open_bundle(der, trusted());
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error(), ErrorId::kUnknownSigner);
  EXPECT_NE(b.message().find("not one of the 1 trusted keys"), std::string::npos) << b.message();
  EXPECT_FALSE(open_bundle(der, {}));
}

struct BadBundle {
  const char* name;
  std::vector<RawPart> parts;
  std::int64_t version;
  std::size_t id_size;
  ErrorId expected;
};

class BadBundleTest : public ::testing::TestWithParam<BadBundle> {};

TEST_P(BadBundleTest, IsRefusedWithItsErrorId) {
  const BadBundle& c = GetParam();
  const Bytes der = raw_bundle(c.parts, relay_key(), c.version, 1, c.id_size);
  const auto b = open_bundle(der, trusted());
  ASSERT_FALSE(b) << c.name;
  EXPECT_EQ(b.error(), c.expected) << c.name << ": " << b.message();
}

RawPart part(std::string name, std::string type = "text/plain", std::int64_t declared = -1, bool good_hash = true) {
  RawPart p;
  p.name = std::move(name);
  p.media_type = std::move(type);
  p.declared_size = declared;
  p.good_hash = good_hash;
  return p;
}

INSTANTIATE_TEST_SUITE_P(
    Bundle, BadBundleTest,
    ::testing::Values(
        BadBundle{"version2", {part("a")}, 2, 16, ErrorId::kUnsupportedVersion},
        BadBundle{"short_id", {part("a")}, 1, 8, ErrorId::kMalformed},
        BadBundle{"no_parts", {}, 1, 16, ErrorId::kBadManifest},
        BadBundle{"long_name", {part(std::string(kMaxNameLength + 1, 'n'))}, 1, 16, ErrorId::kLimitExceeded},
        BadBundle{"long_media_type", {part("a", "text/" + std::string(kMaxMediaTypeLength, 'x'))}, 1, 16, ErrorId::kLimitExceeded},
        BadBundle{"path_in_name", {part("../etc/passwd")}, 1, 16, ErrorId::kBadManifest},
        BadBundle{"dot_name", {part(".hidden")}, 1, 16, ErrorId::kBadManifest},
        BadBundle{"unsorted", {part("b"), part("a")}, 1, 16, ErrorId::kBadManifest},
        BadBundle{"duplicate", {part("a"), part("a")}, 1, 16, ErrorId::kBadManifest},
        BadBundle{"wrong_hash", {part("a", "text/plain", -1, false)}, 1, 16, ErrorId::kBadManifest},
        BadBundle{"wrong_size", {part("a", "text/plain", 6)}, 1, 16, ErrorId::kBadManifest},
        // Zip-bomb-like: a manifest promising far more than is there, or more than any limit.
        BadBundle{"declared_terabyte", {part("a", "text/plain", 1ll << 40)}, 1, 16, ErrorId::kLimitExceeded},
        BadBundle{"declared_over_part_limit", {part("a", "text/plain", static_cast<std::int64_t>(kMaxPartSize) + 1)}, 1, 16,
                  ErrorId::kLimitExceeded}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Bundle, TooManyPartsIsRefused) {
  std::vector<RawPart> parts;
  for (std::size_t i = 0; i <= kMaxParts; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "p%05zu", i);
    parts.push_back(part(name));
  }
  const auto b = open_bundle(raw_bundle(parts, relay_key()), trusted());
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error(), ErrorId::kLimitExceeded) << b.message();
}

TEST(Bundle, TruncatedAndTrailingBytesAreRefused) {
  const Bytes der = make_signed(2);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, der.size() / 2, der.size() - 1}) {
    const auto b = open_bundle(BytesView(der).first(n), trusted());
    ASSERT_FALSE(b) << n;
    EXPECT_EQ(b.error(), ErrorId::kMalformed) << b.message();
  }
  Bytes longer = der;
  longer.push_back(0);
  EXPECT_EQ(open_bundle(longer, trusted()).error(), ErrorId::kMalformed);
}

TEST(Bundle, BuilderRefusesWhatTheParserWould) {
  auto build = [](std::vector<Part> parts) { return make_bundle(id_from(1), Direction::kRequest, 1, fixed_time(), std::move(parts)); };
  try {
    build({{std::string(kMaxNameLength + 1, 'a'), "text/plain", {}}});
    FAIL();
  } catch (const TransferError& e) {
    EXPECT_EQ(e.id(), ErrorId::kLimitExceeded);
  }
  EXPECT_THROW(build({}), TransferError);
  EXPECT_THROW(build({{"a", "text/plain", {}}, {"a", "text/plain", {}}}), TransferError);
  EXPECT_THROW(build({{"a", "text/plain", Bytes(kMaxPartSize + 1)}}), TransferError);
  EXPECT_THROW(make_bundle(id_from(1), Direction::kRequest, 0, fixed_time(), {{"a", "text/plain", {}}}), TransferError);
}

TEST(Bundle, DescriptionNamesEverythingAPersonApproves) {
  const Bytes der = make_signed(5, Direction::kResult, 64);
  const auto b = open_bundle(der, trusted());
  ASSERT_TRUE(b);
  const std::string text = describe_bundle(*b);
  EXPECT_NE(text.find(to_hex(b->id)), std::string::npos);
  EXPECT_NE(text.find("result (signer -> relay)"), std::string::npos);
  EXPECT_NE(text.find("sequence    5"), std::string::npos);
  EXPECT_NE(text.find("items.der  application/octet-stream  64 bytes  SHA-256 " + to_hex(b->manifest[0].sha256)), std::string::npos);
  EXPECT_NE(text.find(to_hex(b->sha256)), std::string::npos);
  EXPECT_NE(text.find(digest_words(b->sha256)), std::string::npos);
  EXPECT_EQ(bundle_file_name(*b), "hanko-result-000005-" + to_hex(b->id) + ".hkb");
}

TEST(Bundle, DigestWordsAreEightDistinctListWords) {
  std::set<std::string> words(word_list().begin(), word_list().end());
  EXPECT_EQ(words.size(), 256u);
  std::array<std::uint8_t, 32> d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(i * 37);
  const std::string w = digest_words(d);
  EXPECT_EQ(std::count(w.begin(), w.end(), ' '), 7);
  EXPECT_EQ(w.substr(0, w.find(' ')), word_list()[0]);
}
