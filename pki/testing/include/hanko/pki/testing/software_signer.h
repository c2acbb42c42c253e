#pragma once
// A Crypto++ signer with the key in memory. For tests, fuzzers and benchmarks only: the product
// signs in the HSM.
#include <memory>
#include <string_view>

#include "hanko/pki/signer.h"

namespace hanko::pki {

enum class SoftwareKeyType { kRsa2048, kRsa3072, kEcP256, kEcP384 };

class SoftwareSigner final : public Signer {
 public:
  SoftwareSigner(SoftwareKeyType type, SignatureAlgorithm algorithm);
  ~SoftwareSigner() override;
  SoftwareSigner(SoftwareSigner&&) noexcept;
  SoftwareSigner& operator=(SoftwareSigner&&) noexcept;

  SignatureAlgorithm algorithm() const override { return m_algorithm; }
  const PublicKey& public_key() const override { return m_public_key; }
  Bytes sign(BytesView data) override;

 private:
  struct Keys;
  std::unique_ptr<Keys> m_keys;
  SignatureAlgorithm m_algorithm;
  PublicKey m_public_key;
};

}  // namespace hanko::pki
