#include "hanko/pki/certificate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto cert = hanko::pki::parse_certificate(hanko::BytesView(data, size));
  if (cert) {
    // Accessors decode extensions again; they must agree with the parser.
    (void)cert->subject.to_string();
    (void)cert->subject_alt_names();
    (void)verify_certificate_signature(*cert, cert->public_key);
  }
  return 0;
}
