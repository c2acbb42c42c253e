#pragma once
// The seam between pki and whatever holds the private key. The HSM implements it (offline/);
// pki/testing has a software signer for tests only.
#include "hanko/pki/algorithm.h"

namespace hanko::pki {

class Signer {
 public:
  virtual ~Signer() = default;
  virtual SignatureAlgorithm algorithm() const = 0;
  virtual const PublicKey& public_key() const = 0;
  // Returns the signature as it goes into the BIT STRING (DER ECDSA-Sig-Value for ECDSA).
  virtual Bytes sign(BytesView data) = 0;
};

}  // namespace hanko::pki
