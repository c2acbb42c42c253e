#pragma once
// Certificate profiles: what a certificate of each kind may contain. A request only supplies the
// subject and key; it can never widen what its profile allows.
#include <optional>
#include <string>
#include <vector>

#include "hanko/pki/algorithm.h"
#include "hanko/pki/oid.h"

namespace hanko::offline {

struct Profile {
  std::string name;
  std::string description;
  int validity_years = 0;
  int validity_days = 0;
  std::uint32_t key_usage = 0;
  std::vector<pki::Oid> extended_key_usage;
  bool ocsp_no_check = false;
  bool copy_subject_alt_name = false;  // take subjectAltName from the request's extensionRequest
  bool policy_and_distribution = true; // certificatePolicies, cRLDistributionPoints, AIA
  unsigned min_rsa_bits = 2048;        // R2
  std::vector<pki::Oid> allowed_curves;
};

// The built-in profiles from the practice statements: subscriber-signature (3 years, R14),
// ocsp-responder (1 year, R15), verification-server (1 year, R15).
const std::vector<Profile>& builtin_profiles();
const Profile& find_profile(std::string_view name);  // throws naming the known profiles

// Throws PolicyError when the key does not meet the profile.
void check_key_against_profile(const pki::PublicKey& key, const Profile& profile);

class PolicyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hanko::offline
