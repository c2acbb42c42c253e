#pragma once
// An RA operator's signing key: ECDSA P-256 in a PKCS#8 file only its owner can read.
#include <filesystem>
#include <memory>

#include "hanko/pki/signer.h"

namespace hanko::relay {

class RaKey final : public pki::Signer {
 public:
  static void generate(const std::filesystem::path& private_key, const std::filesystem::path& public_key);
  explicit RaKey(const std::filesystem::path& private_key);
  ~RaKey() override;

  pki::SignatureAlgorithm algorithm() const override { return pki::SignatureAlgorithm::kEcdsaSha256; }
  const pki::PublicKey& public_key() const override { return m_public_key; }
  Bytes sign(BytesView data) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  pki::PublicKey m_public_key;
};

}  // namespace hanko::relay
