#include "hanko/offline/ca_keys.h"

namespace hanko::offline {

CaKeys::CaKeys(const CaConfig& config, hsm::Secret pin, bool read_write)
    : m_token(config.module, config.token, std::move(pin), read_write) {}

pki::Signer& CaKeys::signer(const KeyGeneration& generation) {
  if (generation.status == GenerationStatus::kDestroyed) {
    throw PolicyError("the key of generation " + std::to_string(generation.number) + " was destroyed (R8); it signs nothing more");
  }
  if (generation.status == GenerationStatus::kCompromised && !m_allow_compromised) {
    throw PolicyError("the key of generation " + std::to_string(generation.number) +
                      " is marked compromised; it signs nothing more (R25)");
  }
  auto& slot = m_signers[generation.key_label];
  if (!slot) {
    slot = std::make_unique<hsm::PkiSigner>(*m_token.session, m_token.session->key_pair(generation.key_label),
                                       generation.algorithm);
    check_signer_matches(generation, *slot);
  }
  return *slot;
}

pki::Signer& CaKeys::extra_signer(const KeyGeneration& generation) {
  signer(generation);  // the same checks as the first one
  // Login state is per token: a new session of this process is already logged in.
  auto session = std::make_unique<hsm::Session>(*m_token.module, m_token.session->slot(), false);
  auto s = std::make_unique<hsm::PkiSigner>(*session, session->key_pair(generation.key_label), generation.algorithm);
  m_extra_sessions.push_back(std::move(session));
  m_extra_signers.push_back(std::move(s));
  return *m_extra_signers.back();
}

}  // namespace hanko::offline
