// Real libqrencode and real ZXing on rendered images: no mocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include <cryptopp/crc.h>

#include "hanko/transfer/media.h"
#include "hanko/transfer/qr.h"
#include "transfer_test_support.h"

using namespace hanko;
using namespace hanko::transfer;
using namespace hanko::transfer::testing;

namespace {

// Frame bytes -> QR -> PNG -> image -> ZXing -> bytes, as a camera path without the camera.
std::vector<Bytes> through_png(BytesView frame, int version, int ppm = 3) {
  const Bytes png = encode_png(render(qr_encode(frame, version), ppm));
  return read_qr_codes(decode_image(png).value());
}

}  // namespace

TEST(Qr, FrameHeaderRoundTripAndChecks) {
  const Bytes bundle = make_signed(1, Direction::kRequest, 3000);
  FrameEncoder enc(bundle);
  const Bytes frame = enc.frame(5);
  EXPECT_EQ(frame.size(), qr_capacity_l(25));
  const auto f = parse_frame(frame);
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->header.symbol_id, 5u);
  EXPECT_EQ(f->header.bundle_size, bundle.size());
  EXPECT_EQ(f->header.bundle_id, parse_bundle(bundle)->id);
  // Any changed byte of header or payload is caught.
  for (std::size_t i : {std::size_t{0}, std::size_t{4}, std::size_t{30}, std::size_t{37}, std::size_t{41}, std::size_t{100}}) {
    Bytes bad = frame;
    bad[i] ^= 0x10;
    const auto r = parse_frame(bad);
    ASSERT_FALSE(r) << i;
    EXPECT_EQ(r.error(), ErrorId::kBadFrame) << i << ": " << r.message();
  }
  Bytes v2 = frame;
  v2[3] = 2;
  EXPECT_EQ(parse_frame(v2).error(), ErrorId::kUnsupportedVersion);
  EXPECT_EQ(parse_frame(BytesView(frame).first(43)).error(), ErrorId::kBadFrame);
  EXPECT_EQ(parse_frame(BytesView(frame).first(frame.size() - 1)).error(), ErrorId::kBadFrame);
}

TEST(Qr, BinaryBytesSurviveQrAndZxing) {
  // Every byte value, NULs included: the string APIs of both libraries would lose some.
  Bytes frame(1003);
  for (std::size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<std::uint8_t>(i * 7);
  frame[0] = 0;
  const auto codes = through_png(frame, 22);
  ASSERT_EQ(codes.size(), 1u);
  EXPECT_EQ(codes[0], frame);
}

TEST(Qr, EveryFrameHasTheFixedVersion) {
  FrameEncoder enc(make_signed(1, Direction::kRequest, 5000), QrOptions{20, 'L', 0.5});
  for (std::uint32_t id = 0; id < enc.frame_count(); ++id) EXPECT_EQ(qr_encode(enc.frame(id), 20).size, 17 + 4 * 20);
  EXPECT_THROW(qr_encode(Bytes(qr_capacity_l(20) + 1), 20), TransferError);
}

TEST(Qr, PngFolderRoundTrip) {
  TempDir dir;
  const Bytes bundle = make_signed(3, Direction::kRequest, 20'000);
  FrameEncoder enc(bundle);
  const std::size_t n = write_png_frames(enc, dir.path(), 3);
  EXPECT_EQ(n, enc.frame_count());
  std::size_t reports = 0;
  const auto rebuilt = collect_from_images(dir.path(), [&](const FrameCollector::Progress& p) {
    ++reports;
    EXPECT_NE(p.line().find("symbols"), std::string::npos);
  });
  ASSERT_TRUE(rebuilt) << rebuilt.message();
  EXPECT_EQ(*rebuilt, bundle);
  EXPECT_EQ(reports, enc.symbol_count()) << "stops as soon as the bundle is whole";
  EXPECT_TRUE(open_bundle(*rebuilt, {relay_key().public_key()}));
}

TEST(Qr, TwentyPercentLossNeedsAtMostTenPercentMoreFrames) {
  const Bytes bundle = make_signed(4, Direction::kRequest, 100'000);
  FrameEncoder enc(bundle);
  const std::size_t k = enc.symbol_count();
  std::mt19937 rng(2024);
  std::bernoulli_distribution lost(0.2);
  FrameCollector collector;
  std::size_t received = 0;
  for (std::uint32_t id = 0; !collector.complete() && id < 4 * k; ++id) {
    if (lost(rng)) continue;
    ++received;
    for (const Bytes& code : through_png(enc.frame(id), enc.options().version)) collector.add_frame(code);
  }
  ASSERT_TRUE(collector.complete());
  EXPECT_LE(static_cast<double>(received), 1.1 * static_cast<double>(k)) << received << " frames for K = " << k;
  EXPECT_EQ(*collector.result(), bundle);
}

TEST(Qr, FramesOfTwoBundlesMixedAreCountedAndIgnored) {
  const Bytes a = make_signed(1, Direction::kRequest, 8000), b = make_signed(2, Direction::kRequest, 8000);
  FrameEncoder ea(a), eb(b);
  FrameCollector collector;
  std::size_t b_frames = 0;
  for (std::uint32_t id = 0; !collector.complete(); ++id) {
    if (id % 2 == 0 && id / 2 < 3) {  // a few of B first, interleaved
      collector.add_frame(eb.frame(id));
      ++b_frames;
    }
    collector.add_frame(ea.frame(id));
  }
  EXPECT_EQ(*collector.result(), a);
  EXPECT_EQ(collector.progress().other_bundle, b_frames);
  EXPECT_NE(collector.progress().line().find("of another bundle"), std::string::npos);
}

TEST(Qr, CorruptedFrameHeadersAreCountedAndSkipped) {
  const Bytes bundle = make_signed(1, Direction::kRequest, 8000);
  FrameEncoder enc(bundle);
  FrameCollector collector;
  for (std::uint32_t id = 0; !collector.complete(); ++id) {
    Bytes f = enc.frame(id);
    if (id % 3 == 0) f[10] ^= 0xFF;  // a damaged bundle id in the header
    for (const Bytes& code : through_png(f, enc.options().version)) collector.add_frame(code);
  }
  EXPECT_EQ(*collector.result(), bundle);
  EXPECT_GT(collector.progress().bad, 0u);
}

TEST(Qr, TooFewFramesSayHowManyMoreAreNeeded) {
  TempDir dir;
  const Bytes bundle = make_signed(1, Direction::kRequest, 10'000);
  FrameEncoder enc(bundle);
  const std::size_t k = enc.symbol_count();
  ASSERT_GE(k, 5u);
  for (std::uint32_t id = 0; id + 3 < k; ++id) {
    const std::string name = "img-" + std::to_string(100 + id) + ".png";
    write_file_atomic(dir / name, encode_png(render(qr_encode(enc.frame(id), 25), 3)));
  }
  const auto r = collect_from_images(dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), ErrorId::kNotEnoughFrames);
  EXPECT_NE(r.message().find("at least 3 more"), std::string::npos) << r.message();
}

TEST(Qr, ZipBombLikeDeclaredSizesAreRefused) {
  const Bytes bundle = make_signed(1);
  FrameEncoder enc(bundle);
  Bytes f = enc.frame(0);
  // Declare a 4 GiB bundle and fix the checksum, as an attacker would.
  auto forge = [&](std::size_t at, std::uint32_t value, int bytes) {
    Bytes g = f;
    for (int i = 0; i < bytes; ++i) g[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (8 * (bytes - 1 - i)));
    CryptoPP::CRC32 crc;
    crc.Update(g.data(), 40);
    crc.Update(g.data() + 44, g.size() - 44);
    crc.Final(g.data() + 40);
    return g;
  };
  EXPECT_EQ(parse_frame(forge(28, 0xFFFFFFFFu, 4)).error(), ErrorId::kLimitExceeded);
  EXPECT_EQ(parse_frame(forge(32, 0xFFFF, 2)).error(), ErrorId::kLimitExceeded);
  EXPECT_EQ(parse_frame(forge(28, 2u << 20, 4)).error(), ErrorId::kLimitExceeded);
  EXPECT_TRUE(parse_frame(forge(36, 77, 4))) << "the forger's checksum is right";
  FrameCollector collector;
  collector.add_frame(forge(28, 0xFFFFFFFFu, 4));
  EXPECT_EQ(collector.progress().bad, 1u);
}

TEST(Qr, HtmlPageAndTerminalFrame) {
  FrameEncoder enc(make_signed(1, Direction::kRequest, 2000));
  const std::string html = html_page(enc, 10, "request 1 <test>", 2);
  std::size_t uris = 0;
  for (std::size_t at = 0; (at = html.find("data:image/png;base64,", at)) != std::string::npos; ++at) ++uris;
  EXPECT_EQ(uris, enc.frame_count());
  EXPECT_NE(html.find("setInterval(show,100)"), std::string::npos);
  EXPECT_NE(html.find("request 1 &lt;test&gt;"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos) << "self-contained";
  EXPECT_THROW(html_page(enc, 30, "x"), TransferError);

  const QrMatrix m = qr_encode(enc.frame(0), 25);
  const std::string t = terminal_frame(m, 2);
  EXPECT_EQ(static_cast<int>(std::count(t.begin(), t.end(), '\n')), (m.size + 4 + 1) / 2);
}

TEST(Qr, DegradedCameraImagesStillDecode) {
  // ImageMagick plays the camera: 3 pixels per module, blur sigma 1 px, rotated 10 degrees,
  // JPEG quality 40.
  ASSERT_EQ(std::system("command -v convert >/dev/null"), 0) << "ImageMagick 'convert' is needed (scripts/setup installs it)";
  TempDir clean, degraded;
  const Bytes bundle = make_signed(6, Direction::kRequest, 12'000);
  FrameEncoder enc(bundle);
  const std::size_t n = write_png_frames(enc, clean.path(), 6);
  for (std::size_t i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "frame-%04zu", i);
    const std::string cmd = "convert '" + (clean / (std::string(name) + ".png")).string() +
                            "' -resize 50% -gaussian-blur 0x1 -background white -rotate 10 -quality 40 '" +
                            (degraded / (std::string(name) + ".jpg")).string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  FrameCollector::Progress last;
  const auto rebuilt = collect_from_images(degraded.path(), [&](const FrameCollector::Progress& p) { last = p; });
  ASSERT_TRUE(rebuilt) << rebuilt.message() << " / " << last.line();
  EXPECT_EQ(*rebuilt, bundle);
}
