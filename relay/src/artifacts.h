#pragma once
// What the relay checks on everything the signer sends back before it is published: lists and
// certificates must verify against a known CA key generation, and a list's scope (which
// partition, ARL or fullCRL of which generation) must follow from its issuer and its
// issuingDistributionPoint exactly as the signer names them ("g<N>-CRL<k>", "g<N>-arl", "g<N>-full").
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "hanko/pki/certificate.h"
#include "hanko/pki/crl.h"

namespace hanko::relay {

class ArtifactError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Anchor {
  int generation = 0;
  pki::Certificate certificate;
  Bytes key_id;  // SKI method 1 of its key: what lists and certificates carry as AKI
};

// Self-signed CA certificates; the generation comes from a file name "ca-g<N>.crt", else order.
std::vector<Anchor> load_anchors(const std::vector<std::filesystem::path>& files);

// A rollover seen from the relay: generation `generation` becomes known when its NewWithOld link
// certificate verifies under a generation already known and the self-signed certificate carries
// the same name and key. Returns the new anchor; throws ArtifactError saying what does not fit.
Anchor learn_generation(int generation, BytesView new_with_old, BytesView self_signed, const std::vector<Anchor>& anchors);

struct ListInfo {
  std::string scope;
  int generation = 0;
  std::uint64_t number = 0;
  pki::Time this_update{};
  pki::Time next_update{};
  std::size_t entries = 0;
  bool arl = false;
};

// Strict parse, then signature, issuer, AKI, CRL number, nextUpdate and scope. Entries are kept
// in `crl` when given (the fullCRL feeds the OCSP responder). Throws ArtifactError.
ListInfo check_list(BytesView der, const std::vector<Anchor>& anchors, pki::Crl* crl = nullptr);

// The anchor that signed `cert` (issuer name, AKI and signature); throws ArtifactError if none.
const Anchor& issuing_anchor(const pki::Certificate& cert, const std::vector<Anchor>& anchors);

// The scope named by a distribution point URI: ".../g1-CRL1.crl" or "ldap://.../cn=g1-CRL1,...".
std::string scope_from_uri(const std::string& uri);

}  // namespace hanko::relay
