#include "hanko/pki/testing/software_signer.h"
#include "intake.h"

// The relay's intake: a DER SignedRequestItem or a JSON envelope from the network.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static hanko::pki::SoftwareSigner ra(hanko::pki::SoftwareKeyType::kEcP256, hanko::pki::SignatureAlgorithm::kEcdsaSha256);
  static const hanko::relay::RaRegistry registry{{"RA operator 1", ra.public_key()}};
  (void)hanko::relay::check_signed_item(hanko::BytesView(data, size), registry);
  std::string why;
  (void)hanko::relay::parse_json_envelope(std::string_view(reinterpret_cast<const char*>(data), size), why);
  return 0;
}
