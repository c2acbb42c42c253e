#include <algorithm>

#include "hanko/transfer/qr.h"

// The frame parser and the collector behind it. The input is split at FF FE markers into several
// frames, so one input can mix frames of several sequences, duplicates and damaged ones.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hanko::transfer::FrameCollector collector;
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < size; ++i) {
    if (data[i] == 0xFF && data[i + 1] == 0xFE) {
      collector.add_frame(hanko::BytesView(data + start, i - start));
      start = i + 2;
    }
  }
  start = std::min(start, size);
  collector.add_frame(hanko::BytesView(data + start, size - start));
  (void)collector.progress().line();
  (void)collector.result();
  return 0;
}
