#pragma once
// The relay's own PKCS#11 token (never the CA's): the transport key that signs request bundles
// and the OCSP responder key. Shared by relay.cpp and relay_worker.cpp.
#include <memory>
#include <mutex>

#include "hanko/hsm/module.h"
#include "hanko/hsm/pki_signer.h"
#include "hanko/hsm/session.h"
#include "ocsp_responder.h"
#include "relay.h"

namespace hanko::relay {

struct Relay::Token {
  std::unique_ptr<hsm::Module> module;
  std::unique_ptr<hsm::Session> transport_session;
  std::unique_ptr<hsm::PkiSigner> transport;
  std::mutex transport_mutex;
  std::unique_ptr<hsm::Session> ocsp_session;
  std::unique_ptr<hsm::PkiSigner> ocsp_signer;
  std::unique_ptr<OcspResponder> ocsp;
  std::mutex ocsp_mutex;

  ~Token() {
    ocsp.reset();
    ocsp_signer.reset();
    transport.reset();
    ocsp_session.reset();
    transport_session.reset();
    module.reset();
  }
};

}  // namespace hanko::relay
