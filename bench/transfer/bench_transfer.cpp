// QR transfer benchmark, single thread (numbers are per core):
//   1. encode and decode speed for ~1 KB frames (QR version 22, 1003 bytes);
//   2. effective throughput of a 100 KB bundle shown at 10 frames per second with 20% of the
//      frames dropped at random, fountain code against plain repetition of the source frames,
//      on clean renders and on images degraded by ImageMagick like a camera would.
// Every frame counted as received was really rendered by libqrencode and decoded by ZXing.
//   bench_transfer [--trials N] [--no-degraded]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "hanko/pki/testing/software_signer.h"
#include "hanko/transfer/bundle.h"
#include "hanko/transfer/media.h"
#include "hanko/transfer/qr.h"

using namespace hanko;
using namespace hanko::transfer;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Bytes make_bundle_of(std::size_t payload) {
  static pki::SoftwareSigner signer(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  Bytes content(payload);
  std::mt19937_64 g(7);
  for (auto& b : content) b = static_cast<std::uint8_t>(g());
  BundleId id{};
  id[0] = 1;
  return sign_bundle(make_bundle(id, Direction::kRequest, 1, pki::Time(std::chrono::seconds(1'790'000'000)),
                                 {{"items.der", "application/octet-stream", content}}),
                     signer);
}

// What the receiving camera gets out of frame `id`: the decoded bytes, or nothing.
class Channel {
 public:
  Channel(const FrameEncoder& enc, bool degraded, std::filesystem::path tmp) : m_enc(enc), m_degraded(degraded), m_tmp(std::move(tmp)) {}

  const std::optional<Bytes>& receive(std::uint32_t id) {
    auto it = m_cache.find(id);
    if (it != m_cache.end()) return it->second;
    std::optional<Bytes> got;
    const QrMatrix m = qr_encode(m_enc.frame(id), m_enc.options().version);
    std::optional<Image> image;
    if (!m_degraded) {
      image = render(m, 3);
    } else {
      // 6 px/module halved to 3, blur sigma 1 px, rotated 10 degrees, JPEG quality 40.
      const auto png = m_tmp / "in.png", jpg = m_tmp / "out.jpg";
      write_file_atomic(png, encode_png(render(m, 6)));
      const std::string cmd = "convert '" + png.string() + "' -resize 50% -gaussian-blur 0x1 -background white -rotate 10 -quality 40 '" +
                              jpg.string() + "'";
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("ImageMagick convert failed");
      const auto t = Clock::now();
      auto loaded = load_image(jpg);
      if (loaded) image = *loaded;
      m_decode_seconds += seconds_since(t);
    }
    const auto t = Clock::now();
    for (Bytes& code : read_qr_codes(*image)) got = std::move(code);
    m_decode_seconds += seconds_since(t);
    ++m_decoded;
    if (!got) ++m_unreadable;
    return m_cache.emplace(id, std::move(got)).first->second;
  }
  std::size_t unreadable() const { return m_unreadable; }
  double decode_ms() const { return m_decoded ? 1000 * m_decode_seconds / static_cast<double>(m_decoded) : 0; }

 private:
  const FrameEncoder& m_enc;
  bool m_degraded;
  std::filesystem::path m_tmp;
  std::map<std::uint32_t, std::optional<Bytes>> m_cache;
  std::size_t m_decoded = 0, m_unreadable = 0;
  double m_decode_seconds = 0;
};

struct Run {
  double fountain_frames = 0, repetition_frames = 0, fountain_received = 0;
  int repetition_incomplete = 0;
};

// Frames shown until the receiver has the bundle. Same drop pattern for both schemes.
Run simulate(const FrameEncoder& enc, Channel& channel, std::size_t size, int trials) {
  const std::size_t k = enc.symbol_count();
  Run run;
  for (int t = 0; t < trials; ++t) {
    std::mt19937 drops(static_cast<unsigned>(1000 + t));
    std::bernoulli_distribution lost(0.2);
    // Fountain: ids 0, 1, 2, ... (the first K are the source frames), never repeated.
    FrameCollector collector;
    std::size_t shown = 0, received = 0;
    for (std::uint32_t id = 0; !collector.complete(); ++id) {
      ++shown;
      if (lost(drops)) continue;
      const auto& bytes = channel.receive(id);
      if (bytes) {
        ++received;
        collector.add_frame(*bytes);
      }
    }
    if (collector.result().value().size() != size) throw std::runtime_error("rebuilt the wrong size");
    run.fountain_frames += static_cast<double>(shown);
    run.fountain_received += static_cast<double>(received);
    // Repetition: the K source frames in a loop, as a naive display does.
    drops.seed(static_cast<unsigned>(1000 + t));
    std::set<std::uint32_t> have;
    std::size_t rep_shown = 0;
    while (have.size() < k && rep_shown < 50 * k) {
      const auto id = static_cast<std::uint32_t>(rep_shown % k);
      ++rep_shown;
      if (lost(drops)) continue;
      if (channel.receive(id)) have.insert(id);
    }
    if (have.size() < k) ++run.repetition_incomplete;
    run.repetition_frames += static_cast<double>(rep_shown);
  }
  run.fountain_frames /= trials;
  run.fountain_received /= trials;
  run.repetition_frames /= trials;
  return run;
}

void report_throughput(const char* label, const FrameEncoder& enc, Channel& channel, std::size_t size, int trials) {
  const Run r = simulate(enc, channel, size, trials);
  const double fps = 10;
  const double ft = r.fountain_frames / fps, rt = r.repetition_frames / fps;
  std::printf("%-9s K=%zu  fountain: %.1f frames shown (%.1f received, %.3fxK) %.1f s %.2f KB/s | repetition: %.1f frames %.1f s %.2f KB/s%s"
              "  [unreadable frames %zu, decode %.1f ms/frame]\n",
              label, enc.symbol_count(), r.fountain_frames, r.fountain_received, r.fountain_received / static_cast<double>(enc.symbol_count()),
              ft, static_cast<double>(size) / ft / 1000, r.repetition_frames, rt, static_cast<double>(size) / rt / 1000,
              r.repetition_incomplete ? " (some runs never completed)" : "", channel.unreadable(), channel.decode_ms());
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 20;
  bool degraded = true;
  int version = QrOptions{}.version;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--trials" && i + 1 < argc) trials = std::atoi(argv[++i]);
    if (a == "--no-degraded") degraded = false;
    if (a == "--version" && i + 1 < argc) version = std::atoi(argv[++i]);
  }
  // 1. Speed for ~1 KB frames (version 22 holds 1003 bytes at level L).
  {
    const Bytes bundle = make_bundle_of(200'000);
    FrameEncoder enc(bundle, QrOptions{22, 'L', 0.5});
    const std::uint32_t n = 200;
    std::vector<Image> images;
    auto t = Clock::now();
    for (std::uint32_t id = 0; id < n; ++id) images.push_back(render(qr_encode(enc.frame(static_cast<std::uint32_t>(enc.symbol_count()) + id), 22), 3));
    const double encode = seconds_since(t);
    t = Clock::now();
    std::size_t png_bytes = 0;
    for (const Image& im : images) png_bytes += encode_png(im).size();
    const double png = seconds_since(t);
    t = Clock::now();
    FrameCollector collector;
    std::size_t ok = 0;
    for (const Image& im : images) {
      for (const Bytes& code : read_qr_codes(im)) ok += parse_frame(code) ? 1 : 0;
    }
    const double decode = seconds_since(t);
    std::printf("frames of %zu bytes (QR v22, L, 3 px/module %dx%d px), %u frames, one core:\n", qr_capacity_l(22), images[0].width,
                images[0].height, n);
    std::printf("  encode (erasure symbol + libqrencode + render): %7.0f frames/s\n", n / encode);
    std::printf("  PNG encode (stb, %zu bytes/frame):              %7.0f frames/s\n", png_bytes / n, n / png);
    std::printf("  decode (ZXing + frame parse), %zu/%u read:     %7.0f frames/s\n", ok, n, n / decode);
    // Erasure decoding alone for a 100 KB bundle with 20% of the source symbols replaced by repair.
    const Bytes b100 = make_bundle_of(100'000);
    FrameEncoder e100(b100);
    const std::size_t k = e100.symbol_count();
    std::vector<Bytes> frames;
    for (std::uint32_t id = 0; frames.size() < k; ++id) {
      if (id % 5 != 0 || id >= k) frames.push_back(e100.frame(id));
    }
    t = Clock::now();
    FrameCollector c;
    for (const Bytes& f : frames) c.add_frame(f);
    const auto rebuilt = c.result();
    std::printf("  erasure rebuild of a 100 KB bundle, K=%zu, 20%% repair symbols: %.1f ms (%s)\n", k, 1000 * seconds_since(t),
                rebuilt ? "ok" : rebuilt.message().c_str());
  }
  // 2. Effective throughput, 100 KB bundle, default frames (version 25), 10 fps, 20% dropped.
  const Bytes bundle = make_bundle_of(100'000 - 400);
  std::printf("\n%zu-byte bundle at 10 frames/s, 20%% of frames dropped at random, mean of %d runs (frames shown until rebuilt):\n",
              bundle.size(), trials);
  FrameEncoder enc(bundle, QrOptions{version, 'L', 0.5});
  std::printf("QR version %d\n", version);
  const auto tmp = std::filesystem::temp_directory_path() / ("hanko-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp);
  Channel clean(enc, false, tmp);
  report_throughput("clean", enc, clean, bundle.size(), trials);
  if (degraded) {
    Channel bad(enc, true, tmp);
    report_throughput("degraded", enc, bad, bundle.size(), trials);
  }
  std::filesystem::remove_all(tmp);
  return 0;
}
