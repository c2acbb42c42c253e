#include "hanko/offline/ca.h"

#include <cryptopp/cryptlib.h>

#include <sstream>

namespace hanko::offline {

using namespace hanko::pki;

Bytes make_self_signed_certificate(const CaCertificateRequest& request, Signer& signer,
                                   CryptoPP::RandomNumberGenerator& rng) {
  if (request.subject.empty()) throw PolicyError("the CA needs a subject name");
  CertificateTemplate t;
  t.serial = random_serial(rng);
  t.subject = request.subject;
  t.issuer = request.subject;
  t.not_before = request.not_before;
  t.not_after = add_years(request.not_before, request.validity_years);
  t.subject_public_key_info = signer.public_key().spki;
  const Bytes key_id = key_identifier(signer.public_key());
  t.extensions = {make_basic_constraints({true, std::nullopt}),
                  make_key_usage(key_usage::kKeyCertSign | key_usage::kCrlSign),
                  make_subject_key_identifier(key_id), make_authority_key_identifier(key_id)};
  return sign_certificate(t, signer);
}

void check_signer_matches_ca(const CaState& state, const Signer& signer) {
  if (signer.public_key().spki != state.ca_certificate().public_key.spki) {
    throw PolicyError("the key '" + state.config().key_label + "' in token '" + state.config().token +
                      "' is not the key of ca.crt; check the token and key label in ca.conf");
  }
}

IssuancePlan plan_issuance(const CaState& state, const CertificationRequest& request,
                           const Profile& profile, Time now, CryptoPP::RandomNumberGenerator& rng) {
  const Certificate& ca = state.ca_certificate();
  const CaConfig& config = state.config();
  check_key_against_profile(request.public_key, profile);
  if (request.subject.empty()) throw PolicyError("the request has an empty subject; hanko needs a subject name");
  const std::string subject_text = request.subject.to_string();
  // R16: one valid certificate per subject.
  if (const IndexEntry* existing = state.valid_for_subject(subject_text, now)) {
    throw PolicyError("subject '" + subject_text + "' already holds valid certificate " +
                      existing->serial.hex() + "; revoke it first (R16: no duplicate issuance)");
  }
  IssuancePlan plan;
  plan.profile = &profile;
  CertificateTemplate& t = plan.certificate;
  do {
    t.serial = random_serial(rng);
  } while (state.find(t.serial) != nullptr);
  t.issuer = ca.subject;
  t.subject = request.subject;
  t.not_before = now;
  t.not_after = profile.validity_years ? add_years(now, profile.validity_years) : add_days(now, profile.validity_days);
  if (t.not_after > ca.not_after) {
    throw PolicyError("the CA certificate expires on " + format_time(ca.not_after) +
                      ", before this certificate would (" + format_time(t.not_after) +
                      "); roll the CA key over first (R11)");
  }
  if (now < ca.not_before) throw PolicyError("the clock is before the CA certificate's notBefore; check the clock");
  t.subject_public_key_info = request.public_key.spki;

  t.extensions.push_back(make_key_usage(profile.key_usage));
  if (!profile.extended_key_usage.empty()) t.extensions.push_back(make_extended_key_usage(profile.extended_key_usage));
  t.extensions.push_back(make_subject_key_identifier(key_identifier(request.public_key)));
  t.extensions.push_back(make_authority_key_identifier(key_identifier(ca.public_key)));
  if (profile.copy_subject_alt_name) {
    if (const Extension* san = find_extension(request.requested_extensions, oid::kSubjectAltName)) {
      t.extensions.push_back(make_subject_alt_name(decode_general_names(san->value)));
    }
  }
  if (profile.policy_and_distribution) {
    if (!config.policy_oid.empty()) {
      PolicyInformation policy{Oid(config.policy_oid), {}};
      if (!config.cps_url.empty()) policy.cps_uris.push_back(config.cps_url);
      t.extensions.push_back(make_certificate_policies({policy}));
    }
    if (!config.crl_urls.empty()) {
      DistributionPoint dp;
      for (const std::string& url : config.crl_urls) dp.full_name.push_back(GeneralName::uri(url));
      t.extensions.push_back(make_crl_distribution_points({dp}));
    }
    if (!config.ocsp_url.empty()) {
      t.extensions.push_back(make_authority_info_access({{oid::kAdOcsp, GeneralName::uri(config.ocsp_url)}}));
    }
  }
  if (profile.ocsp_no_check) t.extensions.push_back(make_ocsp_no_check());

  std::ostringstream s;
  s << "Certificate to be signed\n"
    << "  profile     " << profile.name << " (" << profile.description << ")\n"
    << "  subject     " << subject_text << "\n"
    << "  issuer      " << ca.subject.to_string() << "\n"
    << "  serial      " << t.serial.hex() << "\n"
    << "  validity    " << format_time(t.not_before) << " to " << format_time(t.not_after) << "\n"
    << "  key         " << request.public_key.description() << "\n"
    << "  key usage   " << key_usage::describe(profile.key_usage) << "\n";
  for (const Extension& e : t.extensions) {
    if (e.oid == oid::kSubjectAltName) {
      for (const GeneralName& g : decode_general_names(e.value)) s << "  alt name    " << g.to_string() << "\n";
    }
  }
  for (const std::string& url : config.crl_urls) s << "  CRL at      " << url << "\n";
  plan.summary = s.str();
  return plan;
}

Bytes issue(CaState& state, const IssuancePlan& plan, Signer& signer) {
  check_signer_matches_ca(state, signer);
  const Bytes der = sign_certificate(plan.certificate, signer);
  IndexEntry entry;
  entry.serial = plan.certificate.serial;
  entry.not_before = plan.certificate.not_before;
  entry.not_after = plan.certificate.not_after;
  entry.profile = plan.profile->name;
  entry.subject = plan.certificate.subject.to_string();
  state.record_issued(entry, der);
  return der;
}

ReasonCode check_revocation_reason(std::string_view name) {
  const auto reason = parse_reason_name(name);
  const bool allowed = reason && (*reason == ReasonCode::kUnspecified || *reason == ReasonCode::kKeyCompromise ||
                                  *reason == ReasonCode::kCaCompromise || *reason == ReasonCode::kAffiliationChanged ||
                                  *reason == ReasonCode::kSuperseded || *reason == ReasonCode::kCessationOfOperation);
  if (!allowed) {
    throw PolicyError("revocation reason '" + std::string(name) +
                      "' is not used by this CA (no suspension, R22); use keyCompromise, cACompromise, "
                      "affiliationChanged, superseded, cessationOfOperation or unspecified");
  }
  return *reason;
}

void revoke(CaState& state, const Serial& serial, ReasonCode reason, Time now,
            std::optional<Time> invalidity_date) {
  const IndexEntry* entry = state.find(serial);
  if (!entry) throw PolicyError("no certificate with serial " + serial.hex() + " was issued by this CA");
  if (entry->revoked) {
    throw PolicyError("certificate " + serial.hex() + " was already revoked on " + format_time(*entry->revocation_date));
  }
  if (invalidity_date && *invalidity_date > now) throw PolicyError("the invalidity date lies in the future");
  state.record_revocation(serial, now, reason, invalidity_date);
}

Bytes make_crl(CaState& state, Time now, Signer& signer) {
  check_signer_matches_ca(state, signer);
  const Certificate& ca = state.ca_certificate();
  CrlTemplate t;
  t.issuer = ca.subject;
  t.this_update = now;
  t.next_update = now + std::chrono::hours(state.config().crl_validity_hours);
  t.authority_key_id = key_identifier(ca.public_key);
  for (const IndexEntry& e : state.entries()) {
    // An expired certificate may leave the list (RFC 5280 3.3).
    if (!e.revoked || e.not_after < now) continue;
    t.revoked.push_back({e.serial, *e.revocation_date, e.reason, e.invalidity_date});
  }
  t.crl_number = state.reserve_crl_number();
  const Bytes der = sign_crl(t, signer);
  state.record_crl(t.crl_number, der);
  return der;
}

}  // namespace hanko::offline
