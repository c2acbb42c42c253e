#include "intake.h"

#include <cryptopp/sha.h>

#include "hanko/pki/csr.h"
#include "hanko/pki/der.h"

namespace hanko::relay {

std::string_view intake_error_name(IntakeError e) {
  switch (e) {
    case IntakeError::kMalformed: return "malformed";
    case IntakeError::kUnknownOperator: return "unknown-operator";
    case IntakeError::kBadSignature: return "bad-signature";
    case IntakeError::kBadRequest: return "bad-request";
  }
  return "?";
}

namespace {
IntakeResult fail(IntakeError e, std::string message) {
  IntakeResult r;
  r.error = e;
  r.message = std::move(message);
  return r;
}
}  // namespace

IntakeResult check_signed_item(BytesView der, const RaRegistry& operators) {
  transfer::RequestBatch wrapped;
  try {
    // Exactly one element, no trailing bytes; then the signer's own item grammar, reached by
    // wrapping the item in a one-item batch (the same parser, the same limits).
    pki::der::read_single(der, "SignedRequestItem");
    const Bytes one = transfer::encode_request_batch(Bytes(16, 0), pki::Time{}, {Bytes(der.begin(), der.end())});
    wrapped = transfer::parse_request_batch(one);
  } catch (const pki::ParseError& e) {
    return fail(IntakeError::kMalformed, std::string(pki::error_id_name(e.id())) + ": " + e.what());
  } catch (const std::exception& e) {
    return fail(IntakeError::kMalformed, e.what());
  }
  transfer::SignedRequestItem& si = wrapped.items.front();
  const auto op = operators.find(si.item.ra_operator);
  if (op == operators.end()) {
    return fail(IntakeError::kUnknownOperator, "RA operator '" + si.item.ra_operator + "' is not registered on this relay");
  }
  if (!pki::algorithm_fits_key(si.algorithm, op->second) ||
      !pki::verify_signature(op->second, si.algorithm, si.item_der, si.signature)) {
    return fail(IntakeError::kBadSignature, "item '" + si.item.item_id + "': signature does not verify with the key of '" +
                                                si.item.ra_operator + "'");
  }
  for (char c : si.item.item_id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return fail(IntakeError::kMalformed, "itemId may hold only [A-Za-z0-9._-] (it names a URL)");
  }
  if (si.item.issue) {
    const auto csr = pki::parse_certification_request(si.item.issue->request);
    if (!csr) {
      return fail(IntakeError::kBadRequest, "item '" + si.item.item_id + "': certification request refused [" +
                                                std::string(pki::error_id_name(csr.error())) + "]: " + csr.message());
    }
  }
  CheckedItem out;
  out.der.assign(der.begin(), der.end());
  CryptoPP::SHA256().CalculateDigest(out.sha256.data(), der.data(), der.size());
  out.kind = si.item.issue ? "issue" : "revoke";
  out.item = std::move(si);
  IntakeResult r;
  r.item = std::move(out);
  return r;
}

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::optional<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=') {
        if (i + 4 != text.size() || j < 2) return std::nullopt;
        v[j] = 0;
        ++pad;
      } else {
        if (pad) return std::nullopt;
        v[j] = b64_value(c);
        if (v[j] < 0) return std::nullopt;
      }
    }
    const std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out.push_back(static_cast<std::uint8_t>(n >> 16));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>(n >> 8));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(n));
    // Canonical: the bits dropped by padding must be zero.
    if (pad == 1 && (v[2] & 0x3)) return std::nullopt;
    if (pad == 2 && (v[1] & 0xF)) return std::nullopt;
  }
  return out;
}

std::string base64_encode(BytesView data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < data.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    if (i + 2 < data.size()) n |= data[i + 2];
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < data.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

std::optional<Bytes> parse_json_envelope(std::string_view json, std::string& error) {
  std::size_t i = 0;
  const auto ws = [&] {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) ++i;
  };
  const auto expect = [&](char c) {
    ws();
    if (i >= json.size() || json[i] != c) {
      error = std::string("expected '") + c + "' at offset " + std::to_string(i);
      return false;
    }
    ++i;
    return true;
  };
  const auto string = [&](std::string& out) {
    ws();
    if (i >= json.size() || json[i] != '"') {
      error = "expected a string at offset " + std::to_string(i);
      return false;
    }
    ++i;
    const auto end = json.find('"', i);
    if (end == std::string_view::npos) {
      error = "unterminated string";
      return false;
    }
    out.assign(json.substr(i, end - i));
    if (out.find('\\') != std::string::npos) {
      error = "escapes are not used in this envelope";
      return false;
    }
    i = end + 1;
    return true;
  };
  std::string key, value;
  if (!expect('{') || !string(key)) return std::nullopt;
  if (key != "item") {
    error = "the only member is \"item\"";
    return std::nullopt;
  }
  if (!expect(':') || !string(value) || !expect('}')) return std::nullopt;
  ws();
  if (i != json.size()) {
    error = "trailing bytes after the JSON object";
    return std::nullopt;
  }
  auto der = base64_decode(value);
  if (!der) error = "\"item\" is not canonical base64";
  return der;
}

}  // namespace hanko::relay
