#include "hanko/pki/bytes.h"

#include <stdexcept>

namespace hanko {

std::string to_hex(BytesView bytes, char separator) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (separator != '\0' && i != 0) out.push_back(separator);
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0x0F]);
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Bytes from_hex(std::string_view hex) {
  Bytes out;
  int pending = -1;
  for (char c : hex) {
    if (c == ':' || c == ' ') continue;
    const int v = hex_value(c);
    if (v < 0) throw std::invalid_argument("not a hexadecimal digit: '" + std::string(1, c) + "'");
    if (pending < 0) {
      pending = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(pending << 4 | v));
      pending = -1;
    }
  }
  if (pending >= 0) throw std::invalid_argument("odd number of hexadecimal digits");
  return out;
}

}  // namespace hanko
