#include "hanko/transfer/bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bundle = hanko::transfer::parse_bundle(hanko::BytesView(data, size));
  if (bundle) (void)hanko::transfer::describe_bundle(*bundle);
  return 0;
}
