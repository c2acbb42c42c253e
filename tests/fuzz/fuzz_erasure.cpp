#include <algorithm>

#include "hanko/transfer/erasure.h"

// The erasure decoder on hostile parameters and symbols: first bytes choose the declared size,
// K and S (kept small so each run is fast), the rest are (id, symbol) records.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 6) return 0;
  const std::size_t declared = static_cast<std::size_t>(data[0]) << 8 | data[1];
  const std::size_t k = data[2] % 64;
  const std::size_t s = data[3] % 64;
  std::size_t at = 4;
  try {
    hanko::transfer::ErasureDecoder decoder(declared, k, s);
    while (at + 4 + s <= size) {
      const std::uint32_t id = static_cast<std::uint32_t>(data[at] | data[at + 1] << 8 | data[at + 2] << 16 | data[at + 3] << 24);
      decoder.add(id, hanko::BytesView(data + at + 4, s));
      at += 4 + s;
    }
    (void)decoder.message();
  } catch (const hanko::transfer::TransferError&) {
  }
  return 0;
}
