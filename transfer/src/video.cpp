// QR frames from a video file (a camera recording of the other screen), decoded with FFmpeg's
// libavformat/libavcodec and converted to grey with libswscale.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <memory>

#include "hanko/transfer/qr.h"

namespace hanko::transfer {

namespace {

struct FormatCloser {
  void operator()(AVFormatContext* c) const noexcept { avformat_close_input(&c); }
};
struct CodecFreer {
  void operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
};
struct FrameFreer {
  void operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct ScaleFreer {
  void operator()(SwsContext* s) const noexcept { sws_freeContext(s); }
};

std::string av_error(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

// Caps what a hostile file can make us allocate: 4K frames are plenty for a camera.
constexpr int kMaxDimension = 4096;

}  // namespace

Result<Bytes> collect_from_video(const std::filesystem::path& file,
                                 const std::function<void(const FrameCollector::Progress&)>& report) {
  av_log_set_level(AV_LOG_ERROR);
  AVFormatContext* raw_format = nullptr;
  if (const int rc = avformat_open_input(&raw_format, file.c_str(), nullptr, nullptr); rc < 0) {
    return {ErrorId::kIo, "cannot open video '" + file.string() + "': " + av_error(rc)};
  }
  std::unique_ptr<AVFormatContext, FormatCloser> format(raw_format);
  if (const int rc = avformat_find_stream_info(format.get(), nullptr); rc < 0) {
    return {ErrorId::kMalformed, "'" + file.string() + "' is not a video FFmpeg can read: " + av_error(rc)};
  }
  const AVCodec* codec = nullptr;
  const int stream = av_find_best_stream(format.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (stream < 0 || !codec) return {ErrorId::kMalformed, "'" + file.string() + "' holds no video stream"};
  std::unique_ptr<AVCodecContext, CodecFreer> decoder(avcodec_alloc_context3(codec));
  if (!decoder || avcodec_parameters_to_context(decoder.get(), format->streams[stream]->codecpar) < 0 ||
      avcodec_open2(decoder.get(), codec, nullptr) < 0) {
    return {ErrorId::kMalformed, "cannot decode the video stream of '" + file.string() + "'"};
  }
  std::unique_ptr<AVFrame, FrameFreer> frame(av_frame_alloc());
  std::unique_ptr<AVPacket, PacketFreer> packet(av_packet_alloc());
  std::unique_ptr<SwsContext, ScaleFreer> scaler;
  FrameCollector collector;
  Image grey;

  const auto take_frames = [&]() -> bool {
    while (avcodec_receive_frame(decoder.get(), frame.get()) == 0) {
      if (frame->width <= 0 || frame->height <= 0 || frame->width > kMaxDimension || frame->height > kMaxDimension) {
        av_frame_unref(frame.get());
        continue;
      }
      scaler.reset(sws_getCachedContext(scaler.release(), frame->width, frame->height,
                                        static_cast<AVPixelFormat>(frame->format), frame->width, frame->height,
                                        AV_PIX_FMT_GRAY8, SWS_BILINEAR, nullptr, nullptr, nullptr));
      if (!scaler) return false;
      grey.width = frame->width;
      grey.height = frame->height;
      grey.pixels.resize(static_cast<std::size_t>(grey.width) * static_cast<std::size_t>(grey.height));
      std::uint8_t* planes[4] = {grey.pixels.data(), nullptr, nullptr, nullptr};
      int strides[4] = {grey.width, 0, 0, 0};
      sws_scale(scaler.get(), frame->data, frame->linesize, 0, frame->height, planes, strides);
      av_frame_unref(frame.get());
      collector.add_image(grey);
      if (report) report(collector.progress());
      if (collector.complete()) return true;
    }
    return false;
  };

  bool done = false;
  while (!done && av_read_frame(format.get(), packet.get()) >= 0) {
    if (packet->stream_index == stream && avcodec_send_packet(decoder.get(), packet.get()) >= 0) done = take_frames();
    av_packet_unref(packet.get());
  }
  if (!done) {
    avcodec_send_packet(decoder.get(), nullptr);  // drain what the decoder still holds
    take_frames();
  }
  auto result = collector.result();
  if (!result && result.error() == ErrorId::kNotEnoughFrames) {
    return {ErrorId::kNotEnoughFrames, result.message() + " (looked at " + std::to_string(collector.progress().images) +
                                           " video frames of '" + file.string() + "')"};
  }
  return result;
}

}  // namespace hanko::transfer
