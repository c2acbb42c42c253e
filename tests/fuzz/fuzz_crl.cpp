#include "hanko/pki/crl.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto crl = hanko::pki::parse_crl(hanko::BytesView(data, size));
  if (crl) (void)crl->issuer.to_string();
  return 0;
}
