#include "hanko/offline/ca_keys.h"

namespace hanko::offline {

CaKeys::CaKeys(const CaConfig& config, hsm::Secret pin, bool read_write)
    : m_token(config.module, config.token, std::move(pin), read_write) {}

pki::Signer& CaKeys::signer(const KeyGeneration& generation) {
  if (generation.status == GenerationStatus::kCompromised && !m_allow_compromised) {
    throw PolicyError("the key of generation " + std::to_string(generation.number) +
                      " is marked compromised; it signs nothing more (R25)");
  }
  auto& slot = m_signers[generation.key_label];
  if (!slot) {
    slot = std::make_unique<HsmSigner>(*m_token.session, m_token.session->key_pair(generation.key_label),
                                       generation.algorithm);
    check_signer_matches(generation, *slot);
  }
  return *slot;
}

}  // namespace hanko::offline
