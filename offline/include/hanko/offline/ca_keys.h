#pragma once
// The CA's keys for one command run: one logged-in session on the CA token and a signer per key
// generation, made when first needed. Compromised keys are refused unless explicitly allowed
// (only the compromise procedure signs its final lists with one).
#include <map>
#include <memory>
#include <vector>

#include "hanko/hsm/pki_signer.h"
#include "hanko/offline/ca.h"
#include "hanko/offline/command.h"

namespace hanko::offline {

class CaKeys {
 public:
  CaKeys(const CaConfig& config, hsm::Secret pin, bool read_write);
  pki::Signer& signer(const KeyGeneration& generation);
  // A signer on a further session of the same token, for signing on another thread.
  pki::Signer& extra_signer(const KeyGeneration& generation);
  SignerFor signer_for() {
    return [this](const KeyGeneration& g) -> pki::Signer& { return signer(g); };
  }
  void allow_compromised(bool allow) { m_allow_compromised = allow; }
  hsm::Session& session() { return *m_token.session; }

 private:
  TokenAccess m_token;
  std::map<std::string, std::unique_ptr<hsm::PkiSigner>> m_signers;
  std::vector<std::unique_ptr<hsm::Session>> m_extra_sessions;
  std::vector<std::unique_ptr<hsm::PkiSigner>> m_extra_signers;
  bool m_allow_compromised = false;
};

}  // namespace hanko::offline
