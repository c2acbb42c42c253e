#include "hanko/pki/ocsp.h"

// Both OCSP parsers: requests come from anyone on the network; responses are re-parsed by the
// builder and by the relay's checks.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hanko::BytesView in(data, size);
  if (const auto r = hanko::pki::parse_ocsp_request(in)) (void)r->requests.size();
  if (const auto r = hanko::pki::parse_ocsp_response(in)) (void)r->responses.size();
  return 0;
}
