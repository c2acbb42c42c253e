#pragma once
// Byte containers shared by every hanko library.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hanko {

using Bytes = std::vector<std::uint8_t>;
using BytesView = std::span<const std::uint8_t>;

inline BytesView view(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string to_string(BytesView b) { return std::string(b.begin(), b.end()); }

std::string to_hex(BytesView bytes, char separator = '\0');
Bytes from_hex(std::string_view hex);  // throws std::invalid_argument on bad input

}  // namespace hanko
