// Request batches come from the online side, which may be compromised.
#include "hanko/transfer/batch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hanko::BytesView input(data, size);
  try {
    (void)hanko::transfer::parse_request_batch(input);
  } catch (const hanko::pki::ParseError&) {
  }
  try {
    (void)hanko::transfer::parse_result_batch(input);
  } catch (const hanko::pki::ParseError&) {
  }
  return 0;
}
