#pragma once
// Shared helpers for the transfer tests: software keys, bundles with chosen content, temp folders.
#include <chrono>
#include <filesystem>
#include <random>

#include "hanko/pki/testing/software_signer.h"
#include "hanko/transfer/bundle.h"

namespace hanko::transfer::testing {

inline pki::SoftwareSigner& relay_key() {
  static pki::SoftwareSigner s(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  return s;
}
inline pki::SoftwareSigner& other_key() {
  static pki::SoftwareSigner s(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  return s;
}

inline pki::Time fixed_time() { return pki::Time(std::chrono::seconds(1'790'000'000)); }

inline BundleId id_from(std::uint64_t seed) {
  BundleId id{};
  std::mt19937_64 g(seed);
  for (auto& b : id) b = static_cast<std::uint8_t>(g());
  return id;
}

inline Bytes pseudo_random(std::size_t n, std::uint64_t seed) {
  Bytes out(n);
  std::mt19937_64 g(seed);
  for (auto& b : out) b = static_cast<std::uint8_t>(g() >> 13);
  return out;
}

inline Bytes make_signed(std::uint64_t sequence, Direction direction = Direction::kRequest, std::size_t payload = 300,
                         pki::Signer& signer = relay_key(), std::uint64_t seed = 0) {
  std::vector<Part> parts = {
      {"items.der", "application/octet-stream", pseudo_random(payload, sequence * 7 + seed)},
      {"note.txt", "text/plain", to_bytes("batch " + std::to_string(sequence))},
  };
  return sign_bundle(make_bundle(id_from(sequence * 1000 + seed + static_cast<std::uint64_t>(direction)), direction, sequence, fixed_time(),
                                 std::move(parts)),
                     signer);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hanko-transfer-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

}  // namespace hanko::transfer::testing
