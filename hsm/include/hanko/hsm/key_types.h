#pragma once
// Key types and signing mechanisms hanko supports, with their names on the command line.
#include <cstddef>
#include <optional>
#include <string_view>

namespace hanko::hsm {

enum class KeyType { Rsa2048, Rsa3072, Rsa4096, EcP256, EcP384 };

// "rsa2048", "rsa3072", "rsa4096", "p256", "p384".
std::string_view key_type_name(KeyType type) noexcept;
std::optional<KeyType> parse_key_type(std::string_view name) noexcept;
bool is_rsa(KeyType type) noexcept;

enum class SignMechanism {
  RsaPkcs1Sha256,
  RsaPkcs1Sha384,
  RsaPkcs1Sha512,
  RsaPssSha256,  // MGF1 with the same hash, salt length = hash length
  RsaPssSha384,
  RsaPssSha512,
  EcdsaSha256,  // signature as DER SEQUENCE { INTEGER r, INTEGER s }
  EcdsaSha384,
  EcdsaSha512,
};

// "rsa-pkcs1-sha256", "rsa-pss-sha384", "ecdsa-sha512", ...
std::string_view sign_mechanism_name(SignMechanism mechanism) noexcept;
std::optional<SignMechanism> parse_sign_mechanism(std::string_view name) noexcept;
// Whether the mechanism can be used with a key of this type (RSA with RSA, ECDSA with EC).
bool fits(KeyType type, SignMechanism mechanism) noexcept;
// Length in bytes of the digest the mechanism signs: 32, 48 or 64.
std::size_t digest_size(SignMechanism mechanism) noexcept;

}  // namespace hanko::hsm
