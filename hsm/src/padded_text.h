#pragma once
// PKCS#11 info strings (labels, serials, models) are fixed-size, blank padded and not NUL
// terminated; some modules pad with NULs instead.
#include <cstddef>
#include <string>

namespace hanko::hsm {

template <std::size_t N>
std::string trimmed(const unsigned char (&field)[N]) {
  std::string s(reinterpret_cast<const char*>(field), N);
  const auto end = s.find_last_not_of(" \0", std::string::npos, 2);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

}  // namespace hanko::hsm
