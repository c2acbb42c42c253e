// Built with -DHANKO_VIDEO=OFF (the appliance image): video input is refused with a way forward.
#include "hanko/transfer/qr.h"

namespace hanko::transfer {

Result<Bytes> collect_from_video(const std::filesystem::path& file, const std::function<void(const FrameCollector::Progress&)>&) {
  return {ErrorId::kIo, "this build reads no video ('" + file.string() +
                            "'); capture still images (PNG or JPEG) and use --qr-images"};
}

}  // namespace hanko::transfer
