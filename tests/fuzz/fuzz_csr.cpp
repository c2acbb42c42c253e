#include "hanko/pki/csr.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto request = hanko::pki::parse_certification_request(hanko::BytesView(data, size));
  if (request) (void)request->subject.to_string();
  return 0;
}
