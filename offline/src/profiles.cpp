#include "hanko/offline/profiles.h"

#include <sstream>

#include "hanko/pki/extensions.h"
#include "hanko/pki/time.h"

namespace hanko::offline {

namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> list(const std::string& value) {
  std::vector<std::string> out;
  std::stringstream in(value);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!trim(item).empty()) out.push_back(trim(item));
  }
  return out;
}

std::uint32_t key_usage_bit(const std::string& name) {
  static const char* const kNames[] = {"digitalSignature", "nonRepudiation", "keyEncipherment",
                                       "dataEncipherment", "keyAgreement",   "keyCertSign",
                                       "cRLSign",          "encipherOnly",   "decipherOnly"};
  for (unsigned bit = 0; bit < 9; ++bit) {
    if (name == kNames[bit]) return 1u << bit;
  }
  throw PolicyError("unknown key usage '" + name + "'");
}

pki::Oid purpose(const std::string& name) {
  if (name == "serverAuth") return pki::oid::kKpServerAuth;
  if (name == "clientAuth") return pki::oid::kKpClientAuth;
  if (name == "emailProtection") return pki::oid::kKpEmailProtection;
  if (name == "codeSigning") return pki::oid::kKpCodeSigning;
  if (name == "timeStamping") return pki::oid::kKpTimeStamping;
  if (name == "OCSPSigning") return pki::oid::kKpOcspSigning;
  return pki::Oid(name);
}

pki::Oid curve(const std::string& name) {
  if (name == "P-256") return pki::oid::kP256;
  if (name == "P-384") return pki::oid::kP384;
  throw PolicyError("unknown curve '" + name + "' (P-256 or P-384)");
}

}  // namespace

std::string Profile::validity_text() const {
  if (validity_years) return std::to_string(validity_years) + (validity_years == 1 ? " year" : " years");
  return std::to_string(validity_days) + (validity_days == 1 ? " day" : " days");
}

std::string default_profiles_text() {
  return R"(# Certificate profiles: reviewed content. A request can never widen what a profile allows.
# validity: Ny (years) or Nd (days). subject_alt_name: none, from-request or jpki-basic-four.

[subscriber-signature]
# JPKI 1-3-2, 3-1-2: signature certificate, 3 years, basic four information in subjectAltName
validity = 3y
key_usage = digitalSignature, nonRepudiation
subject_alt_name = jpki-basic-four
min_rsa_bits = 2048
curves = P-256, P-384

[ocsp-responder]
# JPKI 1-3-2, RFC 6960 4.2.2.2: 1 year, id-kp-OCSPSigning, OCSP no-check
validity = 1y
key_usage = digitalSignature
extended_key_usage = OCSPSigning
ocsp_no_check = yes
min_rsa_bits = 2048
curves = P-256, P-384

[repository-signer]
# R4, R18: the signer's own equipment (its transport key) signing the published fingerprints page
validity = 1y
key_usage = digitalSignature
min_rsa_bits = 2048
curves = P-256, P-384

[verification-server]
# JPKI 1-3-2: signature-verification server, 1 year
validity = 1y
key_usage = digitalSignature, keyEncipherment
extended_key_usage = serverAuth
subject_alt_name = from-request
min_rsa_bits = 2048
curves = P-256, P-384

[cross-certificate]
# G-ID 7, JPKI 1-3-2: certificate for the Bridge CA, at most 5 years, policyMappings
cross_certificate = yes
validity = 5y
key_usage = keyCertSign, cRLSign
path_length = 1
min_rsa_bits = 2048
curves = P-256, P-384
)";
}

std::vector<Profile> parse_profiles(std::string_view text) {
  std::vector<Profile> profiles;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  try {
    while (std::getline(in, line)) {
      ++number;
      const std::string t = trim(line);
      if (t.empty() || t[0] == '#') continue;
      if (t.front() == '[') {
        if (t.back() != ']' || t.size() < 3) throw PolicyError("malformed section header");
        profiles.emplace_back();
        profiles.back().name = t.substr(1, t.size() - 2);
        continue;
      }
      if (profiles.empty()) throw PolicyError("setting outside a [profile] section");
      Profile& p = profiles.back();
      const auto eq = t.find('=');
      if (eq == std::string::npos) throw PolicyError("expected key = value");
      const std::string key = trim(t.substr(0, eq));
      const std::string value = trim(t.substr(eq + 1));
      const auto yes = [&] {
        if (value != "yes" && value != "no") throw PolicyError("'" + key + "' must be yes or no");
        return value == "yes";
      };
      if (key == "validity") {
        if (value.size() < 2) throw PolicyError("validity must look like 3y or 365d");
        const int n = std::stoi(value.substr(0, value.size() - 1));
        if (n <= 0) throw PolicyError("validity must be positive");
        if (value.back() == 'y') p.validity_years = n;
        else if (value.back() == 'd') p.validity_days = n;
        else throw PolicyError("validity must look like 3y or 365d");
      } else if (key == "key_usage") {
        for (const std::string& u : list(value)) p.key_usage |= key_usage_bit(u);
      } else if (key == "extended_key_usage") {
        for (const std::string& u : list(value)) p.extended_key_usage.push_back(purpose(u));
      } else if (key == "ocsp_no_check") {
        p.ocsp_no_check = yes();
      } else if (key == "cross_certificate") {
        p.cross_certificate = yes();
      } else if (key == "subject_alt_name") {
        if (value == "none") p.subject_alt_name = SubjectAltNameSource::kNone;
        else if (value == "from-request") p.subject_alt_name = SubjectAltNameSource::kFromRequest;
        else if (value == "jpki-basic-four") p.subject_alt_name = SubjectAltNameSource::kJpkiBasicFour;
        else throw PolicyError("subject_alt_name must be none, from-request or jpki-basic-four");
      } else if (key == "path_length") {
        p.path_length = std::stoi(value);
      } else if (key == "min_rsa_bits") {
        p.min_rsa_bits = static_cast<unsigned>(std::stoul(value));
      } else if (key == "curves") {
        for (const std::string& c : list(value)) p.allowed_curves.push_back(curve(c));
      } else {
        throw PolicyError("unknown setting '" + key + "'");
      }
    }
    for (const Profile& p : profiles) {
      if (p.key_usage == 0) throw PolicyError("profile '" + p.name + "' has no key_usage");
      if (!p.validity_years && !p.validity_days) throw PolicyError("profile '" + p.name + "' has no validity");
      if (p.cross_certificate && (p.validity_years > 5 || p.validity_days > 5 * 366)) {
        throw PolicyError("profile '" + p.name + "': cross-certificates are valid at most 5 years (R13)");
      }
      if (p.min_rsa_bits < 2048) throw PolicyError("profile '" + p.name + "': RSA keys below 2048 bits are not accepted (R2)");
    }
  } catch (const PolicyError& e) {
    throw PolicyError("profiles.conf line " + std::to_string(number) + ": " + e.what());
  } catch (const std::logic_error& e) {
    throw PolicyError("profiles.conf line " + std::to_string(number) + ": not a number");
  }
  return profiles;
}

const Profile& find_profile(const std::vector<Profile>& profiles, std::string_view name) {
  std::string known;
  for (const Profile& p : profiles) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw PolicyError("unknown profile '" + std::string(name) + "'; known profiles: " + known);
}

void check_key_against_profile(const pki::PublicKey& key, const Profile& profile) {
  if (key.algorithm == pki::KeyAlgorithm::kRsa) {
    if (key.bits < profile.min_rsa_bits) {
      throw PolicyError("the request's RSA key has " + std::to_string(key.bits) + " bits; profile '" +
                        profile.name + "' needs at least " + std::to_string(profile.min_rsa_bits) +
                        " (ask the subscriber for a new key)");
    }
    if (key.bits > 8192) throw PolicyError("the request's RSA key is larger than 8192 bits");
    return;
  }
  for (const pki::Oid& c : profile.allowed_curves) {
    if (c == key.curve) return;
  }
  throw PolicyError("the request's " + key.description() + " key is not allowed by profile '" + profile.name + "'");
}

namespace jpki {

std::string option_name(const pki::Oid& type) {
  static const std::pair<const pki::Oid*, const char*> names[] = {
      {&kName, "--jpki-name"}, {&kDateOfBirth, "--jpki-birth"}, {&kGender, "--jpki-gender"}, {&kAddress, "--jpki-address"},
      {&kNameSubstituted, "--jpki-name-substituted"}, {&kAddressSubstituted, "--jpki-address-substituted"}};
  for (const auto& [oid, name] : names) {
    if (*oid == type) return name;
  }
  return type.to_string();
}

namespace {

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

void check_date_of_birth(std::string_view v, pki::Time today) {
  const auto refuse = [&](const std::string& why) {
    throw PolicyError("--jpki-birth '" + std::string(v) + "' " + why + "; the format is YYYYMMDD, e.g. 19800401");
  };
  if (v.size() != 8 || v.find_first_not_of("0123456789") != std::string_view::npos) refuse("is not eight digits");
  const int year = std::stoi(std::string(v.substr(0, 4)));
  const int month = std::stoi(std::string(v.substr(4, 2)));
  const int day = std::stoi(std::string(v.substr(6, 2)));
  static const int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) refuse("has no month " + std::to_string(month));
  const int last = days_in[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
  if (day < 1 || day > last) refuse("is not a calendar date (month " + std::to_string(month) + " has " + std::to_string(last) + " days)");
  if (year < 1868) refuse("is before 1868 (Meiji 1)");
  const std::string now_text = pki::format_time(today);  // "YYYY-MM-DD ..."
  const std::string today_digits = now_text.substr(0, 4) + now_text.substr(5, 2) + now_text.substr(8, 2);
  if (std::string(v) > today_digits) refuse("is in the future");
}

void check_text(const pki::Oid& type, std::string_view v) {
  std::string visible(v);  // without blanks, including the ideographic space U+3000
  for (const std::string blank : {"\u3000", " ", "\t"}) {
    for (std::size_t at; (at = visible.find(blank)) != std::string::npos;) visible.erase(at, blank.size());
  }
  if (visible.empty()) throw PolicyError(option_name(type) + " is empty");
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) throw PolicyError(option_name(type) + " holds a control character");
  }
}

}  // namespace

void check_value(const pki::Oid& type, std::string_view value, pki::Time today) {
  if (type == kDateOfBirth) return check_date_of_birth(value, today);
  if (type == kGender) {
    if (value != "1" && value != "2") {
      throw PolicyError("--jpki-gender '" + std::string(value) + "' is not a JPKI gender code: 1 (male) or 2 (female)");
    }
    return;
  }
  if (type == kNameSubstituted || type == kAddressSubstituted) {
    if (value != "0" && value != "1") {
      throw PolicyError(option_name(type) + " '" + std::string(value) + "' must be 1 (substitute characters used) or 0");
    }
    return;
  }
  if (type == kName || type == kAddress) return check_text(type, value);
  throw PolicyError("subject data of type " + type.to_string() + " is not part of the basic four information (R14)");
}

}  // namespace jpki

}  // namespace hanko::offline
