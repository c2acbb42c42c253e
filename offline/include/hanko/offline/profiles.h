#pragma once
// Certificate profiles: what a certificate of each kind may contain. A request only supplies the
// subject, the key and (for JPKI) the subject data; it can never widen what its profile allows.
// Profiles are reviewed configuration in <state>/profiles.conf; defaults come from the statements.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hanko/pki/algorithm.h"
#include "hanko/pki/jpki.h"
#include "hanko/pki/oid.h"
#include "hanko/pki/time.h"

namespace hanko::offline {

enum class SubjectAltNameSource { kNone, kFromRequest, kJpkiBasicFour };

struct Profile {
  std::string name;
  bool cross_certificate = false;   // CA certificate for a bridge CA (R13)
  int validity_years = 0;
  int validity_days = 0;
  std::uint32_t key_usage = 0;
  std::vector<pki::Oid> extended_key_usage;
  bool ocsp_no_check = false;
  SubjectAltNameSource subject_alt_name = SubjectAltNameSource::kNone;
  std::optional<int> path_length;   // cross certificates
  unsigned min_rsa_bits = 2048;     // R2
  std::vector<pki::Oid> allowed_curves;

  std::string validity_text() const;
};

class PolicyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// subscriber-signature (3 years, JPKI basic four, R14), ocsp-responder and verification-server
// (1 year, R15), cross-certificate (5 years at most, R13).
std::string default_profiles_text();
std::vector<Profile> parse_profiles(std::string_view text);  // throws PolicyError naming the line
const Profile& find_profile(const std::vector<Profile>& profiles, std::string_view name);

// Throws PolicyError when the key does not meet the profile.
void check_key_against_profile(const pki::PublicKey& key, const Profile& profile);

// JPKI basic four information (R14) as otherName types 1.2.392.200149.8.5.5.x.
namespace jpki {
// The types are in hanko/pki/jpki.h (the RA client names them too); the rules are the signer's.
using pki::jpki::kAddress;
using pki::jpki::kAddressSubstituted;
using pki::jpki::kDateOfBirth;
using pki::jpki::kGender;
using pki::jpki::kName;
using pki::jpki::kNameSubstituted;

// The option that carries a type (e.g. "--jpki-birth"), for messages; the OID's text otherwise.
std::string option_name(const pki::Oid& type);
// Throws PolicyError unless `value` is well-formed for `type` (see kFormatsHelp); `today` bounds
// the date of birth.
void check_value(const pki::Oid& type, std::string_view value, pki::Time today);
// The formats, as --help and the README give them.
inline constexpr const char* kFormatsHelp =
    "Basic four information (R14, JPKI 3-1-2), each an otherName UTF8String in subjectAltName:\n"
    "  --jpki-name     name (alias too, for foreign residents): UTF-8 text, not empty, no control characters\n"
    "  --jpki-birth    date of birth YYYYMMDD (Gregorian), a real calendar date from 18680101 (Meiji 1) to today\n"
    "  --jpki-gender   gender code: 1 = male (男), 2 = female (女)\n"
    "  --jpki-address  address: UTF-8 text, not empty, no control characters\n"
    "  --jpki-name-substituted, --jpki-address-substituted\n"
    "                  1 when substitute characters (代替文字) replace kanji outside JIS X 0208/0212, else 0\n";
}  // namespace jpki

}  // namespace hanko::offline
