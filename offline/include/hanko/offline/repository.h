#pragma once
// What the repository publishes besides the lists (R18, R30): the fingerprints page of the
// self-signed and link certificates as text and HTML, each with a detached CMS signature, and
// every CA, link and cross certificate as one .p7c bundle.
//
// The page is signed by the signer's transport key (R4: never the CA key), certified by the CA
// itself with the repository-signer profile (a certificate for the CA's own equipment). A relying
// party holding any generation's CA certificate checks the page with `openssl cms -verify`: the
// signature carries the link certificates a path from an older generation needs.
#include <string>
#include <vector>

#include "hanko/offline/ca.h"
#include "hanko/pki/certificate.h"

namespace hanko::offline {

struct RepositoryFile {
  std::string name;        // "fingerprints.txt", "fingerprints.txt.p7s", "ca-certs.p7c"
  std::string media_type;  // text/plain, text/html, application/pkcs7-signature, application/pkcs7-mime (no parameters: bundles refuse them)
  Bytes content;
};

inline constexpr const char* kRepositorySignerProfile = "repository-signer";

// The self-signed certificate of every generation ("ca-g<N>.crt") and the link certificates
// ("g<N>-NewWithOld.crt", "g<N>-OldWithNew.crt", N the newer generation), as published.
struct NamedCertificate {
  std::string name;
  Bytes der;
};
std::vector<NamedCertificate> ca_and_link_certificates(CaStore& store);

// fingerprints.txt, fingerprints.html and ca-certs.p7c, unsigned.
std::vector<RepositoryFile> repository_files(CaStore& store);

// The repository-signer certificate for `key`: the newest one still valid for 30 days, else a new
// one signed now by the current generation (recorded and audited like any issuance). Throws
// PolicyError when the CA's profiles.conf lacks the profile.
pki::Certificate repository_signer_certificate(Ca& ca, const pki::PublicKey& key, pki::Signer& ca_signer, pki::Time now);

// The files above plus a detached signature (".p7s") of each page by `signer`.
std::vector<RepositoryFile> signed_repository_files(CaStore& store, pki::Signer& signer, const pki::Certificate& signer_certificate,
                                                    pki::Time now);

}  // namespace hanko::offline
