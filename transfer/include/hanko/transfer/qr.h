#pragma once
// QR sequences: a bundle as a series of QR frames (libqrencode, binary mode) and back (ZXing-cpp,
// raw bytes), with the erasure code of erasure.h so any large enough set of frames rebuilds it.
//
// Frame layout (big-endian), all frames of one sequence the same length and QR version:
//   0  magic "HKQ"            3
//   3  format version (1)     1
//   4  bundle id             16   (the bundle's own id; for display and to tell sequences apart)
//  20  bundle digest          8   (first 8 bytes of SHA-256 of the bundle; checked after rebuild)
//  28  bundle size            4
//  32  symbol count K         2
//  34  symbol size S          2
//  36  symbol id              4
//  40  CRC-32 of bytes 0..39 and of the payload   4
//  44  payload (one erasure-coded symbol)          S
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hanko/transfer/erasure.h"

namespace hanko::transfer {

inline constexpr std::size_t kFrameHeaderSize = 44;
inline constexpr std::uint8_t kFrameVersion = 1;
// A QR sequence carries at most this many bytes (kMaxSymbols symbols of a version 40 frame would
// be more; the limit keeps decoding time and memory bounded for whatever a frame declares).
inline constexpr std::size_t kMaxQrBundleSize = 2u << 20;

struct FrameHeader {
  std::array<std::uint8_t, 16> bundle_id{};
  std::array<std::uint8_t, 8> digest{};
  std::uint32_t bundle_size = 0;
  std::uint16_t symbol_count = 0;
  std::uint16_t symbol_size = 0;
  std::uint32_t symbol_id = 0;
  bool same_sequence(const FrameHeader& o) const noexcept {
    return bundle_id == o.bundle_id && digest == o.digest && bundle_size == o.bundle_size &&
           symbol_count == o.symbol_count && symbol_size == o.symbol_size;
  }
};

struct Frame {
  FrameHeader header;
  Bytes payload;
};

// Parses and checks one frame (magic, version, CRC, sizes and limits). kBadFrame or
// kUnsupportedVersion or kLimitExceeded.
Result<Frame> parse_frame(BytesView data);

// Binary-mode capacity of a QR version at level L, in bytes (1..40).
std::size_t qr_capacity_l(int version);

struct QrOptions {
  int version = 25;         // fixed for the sequence; 1273 bytes per frame at level L
  char level = 'L';         // L, M, Q or H
  double repair_ratio = 0.5;  // frames beyond K in a finite sequence (PNG/HTML): N = K(1+r)+2
};

class FrameEncoder {
 public:
  // `bundle` must parse (parse_bundle): its id and size go into every header.
  FrameEncoder(BytesView bundle, const QrOptions& options = {});
  std::size_t symbol_count() const noexcept { return m_encoder.symbol_count(); }
  std::size_t frame_count() const noexcept;  // N for a finite sequence
  Bytes frame(std::uint32_t symbol_id) const;  // frame bytes (header + payload)
  const FrameHeader& header() const noexcept { return m_header; }
  const QrOptions& options() const noexcept { return m_options; }

 private:
  QrOptions m_options;
  FrameHeader m_header;
  ErasureEncoder m_encoder;
};

// A grey image, 8 bits per pixel, 0 black, 255 white.
struct Image {
  int width = 0;
  int height = 0;
  Bytes pixels;
};

// The QR symbol of `frame` at a fixed version (libqrencode, binary mode). Throws TransferError
// when the frame does not fit the version. Modules as a square matrix, true = dark.
struct QrMatrix {
  int size = 0;
  std::vector<bool> dark;
};
QrMatrix qr_encode(BytesView frame, int version, char level = 'L');
Image render(const QrMatrix& m, int pixels_per_module = 4, int quiet_zone = 4);
Bytes encode_png(const Image& image);
// The symbol as an inline SVG (for printable pages): one path, crisp edges, white quiet zone.
std::string render_svg(const QrMatrix& m, int pixels_per_module = 4, int quiet_zone = 4);
// PNG or JPEG (stb_image), converted to grey. kBadFrame if it is not an image we can read.
Result<Image> decode_image(BytesView file_bytes);
Result<Image> load_image(const std::filesystem::path& path);
// Every QR code ZXing finds in the image, as raw bytes (Result::bytes(), never the text).
std::vector<Bytes> read_qr_codes(const Image& image);

// Output forms.
// DIR/frame-0000.png ... for N frames; returns the number written.
std::size_t write_png_frames(const FrameEncoder& enc, const std::filesystem::path& dir, int pixels_per_module = 4);
// One self-contained HTML page looping the frames at `fps` (5..15) as data: URIs.
std::string html_page(const FrameEncoder& enc, int fps, const std::string& title, int pixels_per_module = 4);
// One frame drawn with ANSI half blocks (two modules per character cell, black on white).
std::string terminal_frame(const QrMatrix& m, int quiet_zone = 2);

// Collects frames (from any source, in any order, with duplicates and strangers) until one
// sequence can be rebuilt.
class FrameCollector {
 public:
  struct Progress {
    std::size_t frames_seen = 0;       // every frame offered, good or bad
    std::size_t useful = 0;            // rank of the leading sequence
    std::size_t needed = 0;            // K of the leading sequence (0 before the first frame)
    std::size_t duplicates = 0;        // frames that added nothing
    std::size_t bad = 0;               // unreadable header or checksum
    std::size_t other_bundle = 0;      // frames of sequences other than the leading one
    std::size_t images = 0;            // images looked at
    std::size_t images_without_code = 0;
    std::string line() const;          // "frames 37 seen, 30/82 symbols, 36%"
  };

  // Offers the raw bytes of one decoded QR code. Returns true when a sequence is complete.
  bool add_frame(BytesView frame_bytes);
  // Decodes every QR code in an image and offers them.
  bool add_image(const Image& image);
  bool complete() const noexcept;
  Progress progress() const;
  // The rebuilt bundle bytes (digest-checked): kNotEnoughFrames saying how many more are needed.
  Result<Bytes> result() const;

 private:
  struct Sequence {
    FrameHeader header;
    std::unique_ptr<ErasureDecoder> decoder;
    std::size_t frames = 0;
  };
  const Sequence* leading() const;
  std::vector<Sequence> m_sequences;
  Progress m_progress;
};

// Reads a folder of PNG/JPEG images in name order until the bundle is rebuilt; calls `report`
// after each image (for a progress line). Returns the bundle bytes or why not.
Result<Bytes> collect_from_images(const std::filesystem::path& dir,
                                  const std::function<void(const FrameCollector::Progress&)>& report = {});

// The same from a video file (any container and codec FFmpeg reads), frame by frame.
Result<Bytes> collect_from_video(const std::filesystem::path& file,
                                 const std::function<void(const FrameCollector::Progress&)>& report = {});

}  // namespace hanko::transfer
