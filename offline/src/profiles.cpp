#include "hanko/offline/profiles.h"

#include "hanko/pki/extensions.h"

namespace hanko::offline {

const std::vector<Profile>& builtin_profiles() {
  static const std::vector<Profile> kProfiles = [] {
    using namespace pki;
    Profile subscriber;
    subscriber.name = "subscriber-signature";
    subscriber.description = "subscriber signature certificate, 3 years (JPKI 1-3-2)";
    subscriber.validity_years = 3;
    subscriber.key_usage = key_usage::kDigitalSignature | key_usage::kNonRepudiation;
    subscriber.copy_subject_alt_name = true;
    subscriber.allowed_curves = {oid::kP256, oid::kP384};

    Profile ocsp;
    ocsp.name = "ocsp-responder";
    ocsp.description = "OCSP responder certificate, 1 year (JPKI 1-3-2, RFC 6960)";
    ocsp.validity_years = 1;
    ocsp.key_usage = key_usage::kDigitalSignature;
    ocsp.extended_key_usage = {oid::kKpOcspSigning};
    ocsp.ocsp_no_check = true;
    ocsp.allowed_curves = {oid::kP256, oid::kP384};

    Profile server;
    server.name = "verification-server";
    server.description = "signature-verification server certificate, 1 year (JPKI 1-3-2)";
    server.validity_years = 1;
    server.key_usage = key_usage::kDigitalSignature;
    server.extended_key_usage = {oid::kKpServerAuth};
    server.copy_subject_alt_name = true;
    server.allowed_curves = {oid::kP256, oid::kP384};
    return std::vector<Profile>{subscriber, ocsp, server};
  }();
  return kProfiles;
}

const Profile& find_profile(std::string_view name) {
  std::string known;
  for (const Profile& p : builtin_profiles()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw PolicyError("unknown profile '" + std::string(name) + "'; known profiles: " + known);
}

void check_key_against_profile(const pki::PublicKey& key, const Profile& profile) {
  if (key.algorithm == pki::KeyAlgorithm::kRsa) {
    if (key.bits < profile.min_rsa_bits) {
      throw PolicyError("the request's RSA key has " + std::to_string(key.bits) +
                        " bits; profile '" + profile.name + "' needs at least " +
                        std::to_string(profile.min_rsa_bits) + " (ask the subscriber for a new key)");
    }
    if (key.bits > 8192) throw PolicyError("the request's RSA key is larger than 8192 bits");
    return;
  }
  for (const pki::Oid& c : profile.allowed_curves) {
    if (c == key.curve) return;
  }
  throw PolicyError("the request's " + key.description() + " key is not allowed by profile '" + profile.name + "'");
}

}  // namespace hanko::offline
