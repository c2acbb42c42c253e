#pragma once
// PKCS#10 certification requests (RFC 2986), strictly parsed, with proof of possession checked.
#include <vector>

#include "hanko/pki/algorithm.h"
#include "hanko/pki/extensions.h"
#include "hanko/pki/name.h"

namespace hanko::pki {

struct CertificationRequest {
  Bytes der;
  Name subject;
  PublicKey public_key;
  SignatureAlgorithm signature_algorithm{};
  std::vector<Extension> requested_extensions;  // from the PKCS#9 extensionRequest attribute
  std::vector<Oid> other_attributes;            // attribute types we saw but do not use
};

// Parses strictly and verifies the request's self-signature (proof of possession): a request
// whose signature does not verify is an error (kBadSignature), never a warning.
Parsed<CertificationRequest> parse_certification_request(BytesView der);

}  // namespace hanko::pki
