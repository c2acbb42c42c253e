#pragma once
// Checks on what arrives at the intake API, before anything is stored: one strict DER
// SignedRequestItem (or a JSON envelope carrying one in base64), signed by an RA operator the
// relay knows. The signer checks all of it again; the relay refuses early what it can.
#include <array>
#include <map>
#include <optional>
#include <string>

#include "hanko/pki/algorithm.h"
#include "hanko/transfer/batch.h"

namespace hanko::relay {

enum class IntakeError {
  kMalformed,        // not DER / not JSON / not a SignedRequestItem (HTTP 400)
  kUnknownOperator,  // the raOperator is not registered on the relay (403)
  kBadSignature,     // the item's signature does not verify with the operator's key (403)
  kBadRequest,       // the CSR inside does not parse or its self-signature fails (422)
};
std::string_view intake_error_name(IntakeError e);

struct CheckedItem {
  transfer::SignedRequestItem item;
  Bytes der;                       // the SignedRequestItem as received (what goes into the batch)
  std::array<std::uint8_t, 32> sha256{};
  std::string kind;                // "issue" or "revoke"
};

struct IntakeResult {
  std::optional<CheckedItem> item;
  IntakeError error = IntakeError::kMalformed;
  std::string message;
  explicit operator bool() const noexcept { return item.has_value(); }
};

// name -> public key of the RA operators allowed to submit.
using RaRegistry = std::map<std::string, pki::PublicKey, std::less<>>;

IntakeResult check_signed_item(BytesView der, const RaRegistry& operators);
// {"item": "<base64 of the DER SignedRequestItem>"} — nothing else is accepted.
std::optional<Bytes> parse_json_envelope(std::string_view json, std::string& error);
// Strict RFC 4648 base64 (padding required, no whitespace).
std::optional<Bytes> base64_decode(std::string_view text);
std::string base64_encode(BytesView data);
// The same for base64url without padding is not needed: OCSP GET uses standard base64.

}  // namespace hanko::relay
