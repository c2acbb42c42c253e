#include "hanko/transfer/qr.h"

#include <cryptopp/base64.h>
#include <cryptopp/crc.h>
#include <cryptopp/filters.h>
#include <cryptopp/sha.h>
#include <qrencode.h>
#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#define ZX_USE_UTF8 1
#include <ZXing/ReadBarcode.h>

#include "hanko/transfer/bundle.h"
#include "hanko/transfer/media.h"

namespace hanko::transfer {

namespace {

constexpr std::uint8_t kMagic[3] = {'H', 'K', 'Q'};
constexpr std::size_t kMinSymbolSize = 8;
constexpr std::size_t kMaxSequences = 8;  // distinct sequences tracked at once (others counted, dropped)

void put_be(Bytes& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_be(BytesView in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | in[at + static_cast<std::size_t>(i)];
  return v;
}

std::array<std::uint8_t, 4> crc32(BytesView a, BytesView b) {
  CryptoPP::CRC32 crc;
  crc.Update(a.data(), a.size());
  crc.Update(b.data(), b.size());
  std::array<std::uint8_t, 4> out{};
  crc.Final(out.data());
  return out;
}

Bytes encode_frame(const FrameHeader& h, BytesView payload) {
  Bytes out;
  out.reserve(kFrameHeaderSize + payload.size());
  out.insert(out.end(), std::begin(kMagic), std::end(kMagic));
  out.push_back(kFrameVersion);
  out.insert(out.end(), h.bundle_id.begin(), h.bundle_id.end());
  out.insert(out.end(), h.digest.begin(), h.digest.end());
  put_be(out, h.bundle_size, 4);
  put_be(out, h.symbol_count, 2);
  put_be(out, h.symbol_size, 2);
  put_be(out, h.symbol_id, 4);
  const auto crc = crc32(out, payload);
  out.insert(out.end(), crc.begin(), crc.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

QRecLevel level_of(char level) {
  switch (level) {
    case 'L': return QR_ECLEVEL_L;
    case 'M': return QR_ECLEVEL_M;
    case 'Q': return QR_ECLEVEL_Q;
    case 'H': return QR_ECLEVEL_H;
    default: throw TransferError(ErrorId::kLimitExceeded, std::string("QR error correction level '") + level + "' is not L, M, Q or H");
  }
}

std::string base64(BytesView data) {
  std::string out;
  CryptoPP::StringSource(data.data(), data.size(), true, new CryptoPP::Base64Encoder(new CryptoPP::StringSink(out), false));
  return out;
}

}  // namespace

Result<Frame> parse_frame(BytesView data) {
  if (data.size() < kFrameHeaderSize) return {ErrorId::kBadFrame, "a frame of " + std::to_string(data.size()) + " bytes is shorter than its header"};
  if (!std::equal(std::begin(kMagic), std::end(kMagic), data.begin())) return {ErrorId::kBadFrame, "not a hanko frame (magic)"};
  if (data[3] != kFrameVersion) return {ErrorId::kUnsupportedVersion, "frame format version " + std::to_string(data[3]) + " is not supported"};
  const BytesView head = data.first(40), payload = data.subspan(kFrameHeaderSize);
  const auto crc = crc32(head, payload);
  if (!std::equal(crc.begin(), crc.end(), data.begin() + 40)) return {ErrorId::kBadFrame, "frame checksum does not match (damaged frame)"};
  Frame f;
  std::copy_n(data.begin() + 4, 16, f.header.bundle_id.begin());
  std::copy_n(data.begin() + 20, 8, f.header.digest.begin());
  f.header.bundle_size = static_cast<std::uint32_t>(get_be(data, 28, 4));
  f.header.symbol_count = static_cast<std::uint16_t>(get_be(data, 32, 2));
  f.header.symbol_size = static_cast<std::uint16_t>(get_be(data, 34, 2));
  f.header.symbol_id = static_cast<std::uint32_t>(get_be(data, 36, 4));
  const FrameHeader& h = f.header;
  if (payload.size() != h.symbol_size) {
    return {ErrorId::kBadFrame, "frame payload is " + std::to_string(payload.size()) + " bytes; its header says " + std::to_string(h.symbol_size)};
  }
  if (h.symbol_size < kMinSymbolSize || h.symbol_size > kMaxSymbolSize || h.symbol_count == 0 || h.symbol_count > kMaxSymbols) {
    return {ErrorId::kLimitExceeded, "frame declares " + std::to_string(h.symbol_count) + " symbols of " + std::to_string(h.symbol_size) + " bytes: out of limits"};
  }
  if (h.bundle_size > kMaxQrBundleSize) {
    return {ErrorId::kLimitExceeded, "frame declares a bundle of " + std::to_string(h.bundle_size) + " bytes; a QR sequence carries at most " +
                                         std::to_string(kMaxQrBundleSize)};
  }
  const std::size_t k = h.symbol_count, s = h.symbol_size;
  if (h.bundle_size == 0 || h.bundle_size > k * s || h.bundle_size <= (k - 1) * s) {
    return {ErrorId::kLimitExceeded, "frame declares " + std::to_string(h.bundle_size) + " bytes in " + std::to_string(k) + " symbols of " +
                                         std::to_string(s) + " bytes: inconsistent"};
  }
  f.payload.assign(payload.begin(), payload.end());
  return f;
}

std::size_t qr_capacity_l(int version) {
  // ISO/IEC 18004 table 7, byte mode, level L.
  static constexpr std::size_t kCapacity[41] = {0,    17,   32,   53,   78,   106,  134,  154,  192,  230,  271,  321,  367,  425,
                                                458,  520,  586,  644,  718,  792,  858,  929,  1003, 1091, 1171, 1273, 1367, 1465,
                                                1528, 1628, 1732, 1840, 1952, 2068, 2188, 2303, 2431, 2563, 2699, 2809, 2953};
  if (version < 1 || version > 40) throw TransferError(ErrorId::kLimitExceeded, "QR version " + std::to_string(version) + " is not 1 to 40");
  return kCapacity[version];
}

FrameEncoder::FrameEncoder(BytesView bundle, const QrOptions& options)
    : m_options(options),
      m_encoder(bundle, [&] {
        const std::size_t capacity = qr_capacity_l(options.version);
        if (options.level != 'L') level_of(options.level);
        // Levels above L hold less; a rough factor keeps the frame inside the fixed version.
        const double factor = options.level == 'L' ? 1.0 : options.level == 'M' ? 0.78 : options.level == 'Q' ? 0.56 : 0.42;
        const auto usable = static_cast<std::size_t>(std::floor(static_cast<double>(capacity) * factor));
        if (usable < kFrameHeaderSize + kMinSymbolSize) {
          throw TransferError(ErrorId::kLimitExceeded, "QR version " + std::to_string(options.version) + " is too small for a frame");
        }
        return usable - kFrameHeaderSize;
      }()) {
  const auto parsed = parse_bundle(bundle);
  if (!parsed) throw TransferError(parsed.error(), "refusing to encode: " + parsed.message());
  if (bundle.size() > kMaxQrBundleSize) {
    throw TransferError(ErrorId::kLimitExceeded, "the bundle is " + std::to_string(bundle.size()) + " bytes; a QR sequence carries at most " +
                                                     std::to_string(kMaxQrBundleSize) + " (use a disk)");
  }
  if (options.repair_ratio < 0 || options.repair_ratio > 10) throw TransferError(ErrorId::kLimitExceeded, "repair ratio must be 0 to 10");
  m_header.bundle_id = parsed->id;
  std::copy_n(parsed->sha256.begin(), 8, m_header.digest.begin());
  m_header.bundle_size = static_cast<std::uint32_t>(bundle.size());
  m_header.symbol_count = static_cast<std::uint16_t>(m_encoder.symbol_count());
  m_header.symbol_size = static_cast<std::uint16_t>(m_encoder.symbol_size());
}

std::size_t FrameEncoder::frame_count() const noexcept {
  const std::size_t k = m_encoder.symbol_count();
  return k + static_cast<std::size_t>(std::ceil(static_cast<double>(k) * m_options.repair_ratio)) + 2;
}

Bytes FrameEncoder::frame(std::uint32_t symbol_id) const {
  FrameHeader h = m_header;
  h.symbol_id = symbol_id;
  return encode_frame(h, m_encoder.symbol(symbol_id));
}

std::string render_svg(const QrMatrix& m, int pixels_per_module, int quiet_zone) {
  const int size = m.size + 2 * quiet_zone;
  const std::string side = std::to_string(size), shown = std::to_string(size * pixels_per_module);
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + side + " " + side + "\" width=\"" + shown +
                    "\" height=\"" + shown + "\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"";
  for (int y = 0; y < m.size; ++y) {
    for (int x = 0; x < m.size; ++x) {
      if (m.dark[static_cast<std::size_t>(y * m.size + x)]) {
        svg += "M" + std::to_string(x + quiet_zone) + " " + std::to_string(y + quiet_zone) + "h1v1h-1z";
      }
    }
  }
  return svg + "\" fill=\"#000\"/></svg>";
}

QrMatrix qr_encode(BytesView frame, int version, char level) {
  QRcode* code = QRcode_encodeData(static_cast<int>(frame.size()), frame.data(), version, level_of(level));
  if (!code) throw TransferError(ErrorId::kLimitExceeded, "libqrencode cannot encode a frame of " + std::to_string(frame.size()) + " bytes");
  const int got = code->version;
  QrMatrix m;
  m.size = code->width;
  m.dark.resize(static_cast<std::size_t>(m.size) * static_cast<std::size_t>(m.size));
  for (std::size_t i = 0; i < m.dark.size(); ++i) m.dark[i] = (code->data[i] & 1) != 0;
  QRcode_free(code);
  if (got != version) {
    throw TransferError(ErrorId::kLimitExceeded, "a frame of " + std::to_string(frame.size()) + " bytes needs QR version " + std::to_string(got) +
                                                     ", not the fixed version " + std::to_string(version));
  }
  return m;
}

Image render(const QrMatrix& m, int ppm, int quiet) {
  Image img;
  img.width = img.height = (m.size + 2 * quiet) * ppm;
  img.pixels.assign(static_cast<std::size_t>(img.width) * static_cast<std::size_t>(img.height), 255);
  for (int y = 0; y < m.size; ++y) {
    for (int x = 0; x < m.size; ++x) {
      if (!m.dark[static_cast<std::size_t>(y * m.size + x)]) continue;
      for (int dy = 0; dy < ppm; ++dy) {
        std::uint8_t* row = img.pixels.data() + static_cast<std::size_t>(((y + quiet) * ppm + dy) * img.width + (x + quiet) * ppm);
        std::fill(row, row + ppm, std::uint8_t{0});
      }
    }
  }
  return img;
}

Bytes encode_png(const Image& image) {
  Bytes out;
  auto sink = [](void* context, void* data, int size) {
    auto* o = static_cast<Bytes*>(context);
    const auto* p = static_cast<const std::uint8_t*>(data);
    o->insert(o->end(), p, p + size);
  };
  if (!stbi_write_png_to_func(sink, &out, image.width, image.height, 1, image.pixels.data(), image.width)) {
    throw TransferError(ErrorId::kIo, "PNG encoding failed");
  }
  return out;
}

Result<Image> decode_image(BytesView file_bytes) {
  if (file_bytes.size() > (64u << 20)) return {ErrorId::kLimitExceeded, "image file larger than 64 MiB"};
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(file_bytes.data(), static_cast<int>(file_bytes.size()), &w, &h, &n)) {
    return {ErrorId::kBadFrame, "not a PNG or JPEG image we can read"};
  }
  if (w <= 0 || h <= 0 || static_cast<long long>(w) * h > 64ll * 1024 * 1024) return {ErrorId::kLimitExceeded, "image dimensions out of limits"};
  stbi_uc* pixels = stbi_load_from_memory(file_bytes.data(), static_cast<int>(file_bytes.size()), &w, &h, &n, 1);
  if (!pixels) return {ErrorId::kBadFrame, std::string("image does not decode: ") + stbi_failure_reason()};
  Image img;
  img.width = w;
  img.height = h;
  img.pixels.assign(pixels, pixels + static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
  stbi_image_free(pixels);
  return img;
}

Result<Image> load_image(const std::filesystem::path& path) {
  try {
    return decode_image(read_file_capped(path, 64u << 20));
  } catch (const TransferError& e) {
    return {e.id(), e.what()};
  }
}

namespace {
// Bilinear 2x enlargement: gives ZXing's finder more pixels per module on small, blurred,
// rotated captures (3 px/module after a 10 degree turn often defeats the sampling grid).
Image enlarge(const Image& in) {
  Image out;
  out.width = in.width * 2;
  out.height = in.height * 2;
  out.pixels.resize(static_cast<std::size_t>(out.width) * static_cast<std::size_t>(out.height));
  const auto at = [&](int x, int y) {
    x = std::clamp(x, 0, in.width - 1);
    y = std::clamp(y, 0, in.height - 1);
    return static_cast<int>(in.pixels[static_cast<std::size_t>(y) * static_cast<std::size_t>(in.width) + static_cast<std::size_t>(x)]);
  };
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      const int sx = x / 2, sy = y / 2, fx = x % 2, fy = y % 2;
      const int v = (at(sx, sy) * (2 - fx) * (2 - fy) + at(sx + 1, sy) * fx * (2 - fy) + at(sx, sy + 1) * (2 - fx) * fy +
                     at(sx + 1, sy + 1) * fx * fy) / 4;
      out.pixels[static_cast<std::size_t>(y) * static_cast<std::size_t>(out.width) + static_cast<std::size_t>(x)] = static_cast<std::uint8_t>(v);
    }
  }
  return out;
}

std::vector<Bytes> read_qr_codes_once(const Image& image) {
  ZXing::DecodeHints hints;
  hints.setFormats(ZXing::BarcodeFormat::QRCode);
  hints.setTryHarder(true);
  hints.setTryRotate(true);
  hints.setTryDownscale(true);
  hints.setMaxNumberOfSymbols(4);
  const ZXing::ImageView view(image.pixels.data(), image.width, image.height, ZXing::ImageFormat::Lum);
  std::vector<Bytes> out;
  // The local binarizer suits uneven camera light; blurred, JPEG-damaged frames often only read
  // with a global threshold, so that is the second try (it costs time only when the first fails).
  for (const auto binarizer : {ZXing::Binarizer::LocalAverage, ZXing::Binarizer::GlobalHistogram}) {
    hints.setBinarizer(binarizer);
    for (const ZXing::Result& r : ZXing::ReadBarcodes(view, hints)) {
      if (!r.isValid()) continue;
      const ZXing::ByteArray& b = r.bytes();  // raw bytes; text() would re-encode them
      out.emplace_back(b.begin(), b.end());
    }
    if (!out.empty()) break;
  }
  return out;
}
}  // namespace

std::vector<Bytes> read_qr_codes(const Image& image) {
  std::vector<Bytes> out = read_qr_codes_once(image);
  // Costs time only when the direct reads fail; small captures only (memory stays bounded).
  if (out.empty() && image.width > 0 && image.width <= 2048 && image.height <= 2048) out = read_qr_codes_once(enlarge(image));
  return out;
}

std::size_t write_png_frames(const FrameEncoder& enc, const std::filesystem::path& dir, int ppm) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw TransferError(ErrorId::kIo, "cannot create '" + dir.string() + "': " + ec.message());
  const std::size_t n = enc.frame_count();
  for (std::size_t i = 0; i < n; ++i) {
    const QrMatrix m = qr_encode(enc.frame(static_cast<std::uint32_t>(i)), enc.options().version, enc.options().level);
    char name[32];
    std::snprintf(name, sizeof name, "frame-%04zu.png", i);
    write_file_atomic(dir / name, encode_png(render(m, ppm)));
  }
  return n;
}

std::string html_page(const FrameEncoder& enc, int fps, const std::string& title, int ppm) {
  if (fps < 5 || fps > 15) throw TransferError(ErrorId::kLimitExceeded, "frame rate " + std::to_string(fps) + " is not 5 to 15 frames per second");
  std::string escaped;
  for (char c : title) {
    if (c == '<') escaped += "&lt;";
    else if (c == '>') escaped += "&gt;";
    else if (c == '&') escaped += "&amp;";
    else escaped += c;
  }
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << escaped << "</title>\n"
    << "<style>body{background:#fff;color:#000;font:16px sans-serif;text-align:center;margin:1em}"
       "img{image-rendering:pixelated;height:85vh;width:auto}</style></head>\n<body>\n"
    << "<div>" << escaped << " &mdash; <span id=\"n\"></span></div>\n<img id=\"f\" alt=\"QR frame\">\n<script>\nconst frames=[\n";
  const std::size_t n = enc.frame_count();
  for (std::size_t i = 0; i < n; ++i) {
    const QrMatrix m = qr_encode(enc.frame(static_cast<std::uint32_t>(i)), enc.options().version, enc.options().level);
    o << "\"data:image/png;base64," << base64(encode_png(render(m, ppm))) << "\",\n";
  }
  o << "];\nlet i=0;const img=document.getElementById('f'),n=document.getElementById('n');\n"
    << "function show(){img.src=frames[i];n.textContent='frame '+(i+1)+' of '+frames.length;i=(i+1)%frames.length;}\n"
    << "show();setInterval(show," << (1000 / fps) << ");\n</script>\n</body></html>\n";
  return o.str();
}

std::string terminal_frame(const QrMatrix& m, int quiet) {
  const int total = m.size + 2 * quiet;
  auto dark = [&](int x, int y) {
    x -= quiet;
    y -= quiet;
    return x >= 0 && y >= 0 && x < m.size && y < m.size && m.dark[static_cast<std::size_t>(y * m.size + x)];
  };
  std::string out;
  for (int y = 0; y < total; y += 2) {
    out += "\x1b[30;107m";  // black on bright white, whatever the terminal's colours
    for (int x = 0; x < total; ++x) {
      const bool top = dark(x, y), bottom = y + 1 < total && dark(x, y + 1);
      out += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
    }
    out += "\x1b[0m\n";
  }
  return out;
}

std::string FrameCollector::Progress::line() const {
  std::ostringstream o;
  o << "images " << images << ", frames " << frames_seen << " seen, ";
  if (needed == 0) {
    o << "no hanko frame yet";
  } else {
    o << useful << "/" << needed << " symbols, " << (useful * 100 / needed) << "%";
  }
  if (duplicates) o << ", " << duplicates << " duplicate";
  if (other_bundle) o << ", " << other_bundle << " of another bundle";
  if (bad) o << ", " << bad << " bad";
  if (images_without_code) o << ", " << images_without_code << " images without a code";
  return o.str();
}

const FrameCollector::Sequence* FrameCollector::leading() const {
  const Sequence* best = nullptr;
  for (const Sequence& s : m_sequences) {
    if (s.decoder->complete()) return &s;
    if (!best || s.decoder->rank() > best->decoder->rank()) best = &s;
  }
  return best;
}

bool FrameCollector::add_frame(BytesView frame_bytes) {
  ++m_progress.frames_seen;
  const auto frame = parse_frame(frame_bytes);
  if (!frame) {
    ++m_progress.bad;
    return complete();
  }
  Sequence* seq = nullptr;
  for (Sequence& s : m_sequences) {
    if (s.header.same_sequence(frame->header)) seq = &s;
  }
  if (!seq) {
    if (m_sequences.size() >= kMaxSequences) {
      ++m_progress.other_bundle;
      return complete();
    }
    Sequence s;
    s.header = frame->header;
    s.decoder = std::make_unique<ErasureDecoder>(frame->header.bundle_size, frame->header.symbol_count, frame->header.symbol_size);
    m_sequences.push_back(std::move(s));
    seq = &m_sequences.back();
  }
  ++seq->frames;
  if (!seq->decoder->add(frame->header.symbol_id, frame->payload)) ++m_progress.duplicates;
  return complete();
}

bool FrameCollector::add_image(const Image& image) {
  ++m_progress.images;
  const auto codes = read_qr_codes(image);
  if (codes.empty()) ++m_progress.images_without_code;
  for (const Bytes& c : codes) add_frame(c);
  return complete();
}

bool FrameCollector::complete() const noexcept {
  return std::any_of(m_sequences.begin(), m_sequences.end(), [](const Sequence& s) { return s.decoder->complete(); });
}

FrameCollector::Progress FrameCollector::progress() const {
  Progress p = m_progress;
  if (const Sequence* lead = leading()) {
    p.useful = lead->decoder->rank();
    p.needed = lead->decoder->symbol_count();
    for (const Sequence& s : m_sequences) {
      if (&s != lead) p.other_bundle += s.frames;
    }
  }
  return p;
}

Result<Bytes> FrameCollector::result() const {
  const Sequence* lead = leading();
  if (!lead) {
    return {ErrorId::kNotEnoughFrames, "no hanko QR frame was found in " + std::to_string(m_progress.images) + " images (" +
                                           std::to_string(m_progress.bad) + " damaged frames)"};
  }
  auto message = lead->decoder->message();
  if (!message) return message;
  std::array<std::uint8_t, 32> digest{};
  CryptoPP::SHA256().CalculateDigest(digest.data(), message->data(), message->size());
  if (!std::equal(lead->header.digest.begin(), lead->header.digest.end(), digest.begin())) {
    return {ErrorId::kCorruptRebuild, "the rebuilt bundle does not match the digest its frames announce; a frame was forged or damaged"};
  }
  return message;
}

Result<Bytes> collect_from_images(const std::filesystem::path& dir, const std::function<void(const FrameCollector::Progress&)>& report) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return {ErrorId::kIo, "'" + dir.string() + "' is not a folder"};
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) files.push_back(e.path());
  }
  if (ec) return {ErrorId::kIo, "cannot list '" + dir.string() + "': " + ec.message()};
  std::sort(files.begin(), files.end());
  FrameCollector collector;
  for (const auto& f : files) {
    const auto image = load_image(f);
    if (image) collector.add_image(*image);
    if (report) report(collector.progress());
    if (collector.complete()) break;
  }
  auto result = collector.result();
  if (!result && result.error() == ErrorId::kNotEnoughFrames) {
    return {ErrorId::kNotEnoughFrames, result.message() + " (looked at " + std::to_string(files.size()) + " images in '" + dir.string() + "')"};
  }
  return result;
}

}  // namespace hanko::transfer
