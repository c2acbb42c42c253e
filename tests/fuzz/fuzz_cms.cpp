#include "hanko/pki/cms.h"

// CMS SignedData as the relay reads it from a result bundle (the signed fingerprints page and the
// certificate bundle): parse strictly, then check a detached signature over a fixed page.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto signed_data = hanko::pki::parse_signed_data(hanko::BytesView(data, size));
  if (!signed_data) return 0;
  try {
    (void)hanko::pki::verify_detached(*signed_data, hanko::to_bytes("fingerprints"));
  } catch (const hanko::pki::ParseError&) {
  }
  return 0;
}
