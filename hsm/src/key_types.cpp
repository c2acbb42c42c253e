#include "hanko/hsm/key_types.h"

#include <array>
#include <utility>

namespace hanko::hsm {

namespace {

constexpr std::array<std::pair<KeyType, std::string_view>, 5> kKeyTypeNames{{
    {KeyType::Rsa2048, "rsa2048"},
    {KeyType::Rsa3072, "rsa3072"},
    {KeyType::Rsa4096, "rsa4096"},
    {KeyType::EcP256, "p256"},
    {KeyType::EcP384, "p384"},
}};

constexpr std::array<std::pair<SignMechanism, std::string_view>, 9> kMechanismNames{{
    {SignMechanism::RsaPkcs1Sha256, "rsa-pkcs1-sha256"},
    {SignMechanism::RsaPkcs1Sha384, "rsa-pkcs1-sha384"},
    {SignMechanism::RsaPkcs1Sha512, "rsa-pkcs1-sha512"},
    {SignMechanism::RsaPssSha256, "rsa-pss-sha256"},
    {SignMechanism::RsaPssSha384, "rsa-pss-sha384"},
    {SignMechanism::RsaPssSha512, "rsa-pss-sha512"},
    {SignMechanism::EcdsaSha256, "ecdsa-sha256"},
    {SignMechanism::EcdsaSha384, "ecdsa-sha384"},
    {SignMechanism::EcdsaSha512, "ecdsa-sha512"},
}};

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                         Enum value) noexcept {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <typename Enum, std::size_t N>
std::optional<Enum> parse(const std::array<std::pair<Enum, std::string_view>, N>& table,
                          std::string_view name) noexcept {
  for (const auto& [v, n] : table) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view key_type_name(KeyType type) noexcept { return name_of(kKeyTypeNames, type); }

std::optional<KeyType> parse_key_type(std::string_view name) noexcept {
  return parse(kKeyTypeNames, name);
}

bool is_rsa(KeyType type) noexcept {
  return type == KeyType::Rsa2048 || type == KeyType::Rsa3072 || type == KeyType::Rsa4096;
}

std::string_view sign_mechanism_name(SignMechanism mechanism) noexcept {
  return name_of(kMechanismNames, mechanism);
}

std::optional<SignMechanism> parse_sign_mechanism(std::string_view name) noexcept {
  return parse(kMechanismNames, name);
}

bool fits(KeyType type, SignMechanism mechanism) noexcept {
  const bool ecdsa = mechanism == SignMechanism::EcdsaSha256 ||
                     mechanism == SignMechanism::EcdsaSha384 ||
                     mechanism == SignMechanism::EcdsaSha512;
  return is_rsa(type) != ecdsa;
}

std::size_t digest_size(SignMechanism mechanism) noexcept {
  switch (mechanism) {
    case SignMechanism::RsaPkcs1Sha256:
    case SignMechanism::RsaPssSha256:
    case SignMechanism::EcdsaSha256: return 32;
    case SignMechanism::RsaPkcs1Sha384:
    case SignMechanism::RsaPssSha384:
    case SignMechanism::EcdsaSha384: return 48;
    case SignMechanism::RsaPkcs1Sha512:
    case SignMechanism::RsaPssSha512:
    case SignMechanism::EcdsaSha512: return 64;
  }
  return 0;
}

}  // namespace hanko::hsm
