#include "hanko/pki/pem.h"

#include "hanko/pki/error.h"

namespace hanko::pki {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

[[noreturn]] void bad(const std::string& detail) { throw ParseError(ErrorId::kBadString, "PEM: " + detail); }
}  // namespace

std::string pem_encode(BytesView der, std::string_view label) {
  std::string b64;
  for (std::size_t i = 0; i < der.size(); i += 3) {
    const std::uint32_t n = static_cast<std::uint32_t>(der[i]) << 16 |
                            (i + 1 < der.size() ? static_cast<std::uint32_t>(der[i + 1]) << 8 : 0) |
                            (i + 2 < der.size() ? der[i + 2] : 0);
    b64.push_back(kAlphabet[n >> 18 & 63]);
    b64.push_back(kAlphabet[n >> 12 & 63]);
    b64.push_back(i + 1 < der.size() ? kAlphabet[n >> 6 & 63] : '=');
    b64.push_back(i + 2 < der.size() ? kAlphabet[n & 63] : '=');
  }
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

Bytes pem_decode(std::string_view text, std::string_view label) {
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  const std::size_t b = text.find(begin);
  if (b == std::string_view::npos) bad("no '" + begin + "' block");
  const std::size_t body = b + begin.size();
  const std::size_t e = text.find(end, body);
  if (e == std::string_view::npos) bad("'" + begin + "' without its END line");
  Bytes out;
  std::uint32_t acc = 0;
  int bits = 0;
  int padding = 0;
  for (char c : text.substr(body, e - body)) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int v = decode_char(c);
    if (v < 0 || padding) bad("malformed base64");
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  if (padding > 2 || (acc & ((1u << bits) - 1)) != 0) bad("malformed base64 padding");
  return out;
}

bool looks_like_pem(BytesView data) {
  const std::string_view s(reinterpret_cast<const char*>(data.data()), std::min<std::size_t>(data.size(), 4096));
  return s.find("-----BEGIN ") != std::string_view::npos;
}

}  // namespace hanko::pki
