#pragma once
// PEM armour (RFC 7468). The DER inside is still parsed strictly by its own parser.
#include <string>
#include <string_view>

#include "hanko/pki/bytes.h"

namespace hanko::pki {

std::string pem_encode(BytesView der, std::string_view label);
// Returns the DER of the first block with `label`; throws ParseError(kBadString) when absent or
// when the base64 is malformed.
Bytes pem_decode(std::string_view text, std::string_view label);
bool looks_like_pem(BytesView data);

}  // namespace hanko::pki
