#include "hanko/offline/ca.h"

#include <cryptopp/cryptlib.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "hanko/offline/people.h"

namespace hanko::offline {

using namespace hanko::pki;

namespace {

void check_partition_name(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 32 && name != "arl" && name != "full" &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                  });
  if (!ok) throw PolicyError("partition name '" + name + "' must be 1-32 letters, digits or '_' (and not arl or full)");
}

std::vector<GeneralName> uris(const std::vector<std::string>& urls) {
  std::vector<GeneralName> out;
  for (const std::string& u : urls) out.push_back(GeneralName::uri(u));
  return out;
}

Extension distribution_points(const std::vector<std::string>& urls) {
  DistributionPoint dp;
  dp.full_name = uris(urls);
  return make_crl_distribution_points({dp});
}

CertificateRecord record_for(const CertificateTemplate& t, int generation, CertificateKind kind,
                             const std::string& profile) {
  CertificateRecord r;
  r.serial = t.serial;
  r.generation = generation;
  r.kind = kind;
  r.profile = profile;
  r.subject = t.subject.to_string();
  r.subject_der = t.subject.der();
  r.not_before = t.not_before;
  r.not_after = t.not_after;
  return r;
}

// A partition or ARL is told apart from the other lists of the CA's name only by the address in
// its issuingDistributionPoint; without "{scope}" in every URL there is none of its own.
bool lists_have_own_address(const CaConfig& config) {
  return !config.crl_urls.empty() && std::all_of(config.crl_urls.begin(), config.crl_urls.end(), [](const std::string& u) {
    return u.find("{scope}") != std::string::npos;
  });
}

// What a list must hold so that it claims no scope it does not cover (RFC 5280 5.2.5, 6.3.3):
// a fullCRL (no IDP) covers every generation of the name; so do partitions and ARLs without an
// address of their own.
CaStore::ListCoverage coverage_of(const Ca::ScopeParts& parts, const CaConfig& config) {
  CaStore::ListCoverage c;
  c.kind = parts.kind;
  if (parts.kind == CaStore::ListKind::kFull || !lists_have_own_address(config)) return c;
  c.generation = parts.generation;
  if (parts.kind == CaStore::ListKind::kPartition) c.partition = parts.partition;
  return c;
}

// Does a list of this coverage carry `record`'s revocation? The same rule as the store's query.
bool covers(const CaStore::ListCoverage& c, const CertificateRecord& record) {
  if (c.generation && *c.generation != record.generation) return false;
  switch (c.kind) {
    case CaStore::ListKind::kFull: return true;
    case CaStore::ListKind::kArl: return is_ca_kind(record.kind);
    case CaStore::ListKind::kPartition: return !is_ca_kind(record.kind) && (!c.partition || *c.partition == record.partition);
  }
  return false;
}

// The CRL number sequence of a list. A list of every generation continues above the
// per-generation sequences ("g*") of states made before such lists shared one: numbers may skip,
// never fall.
std::pair<std::string, std::string> number_sequence(const std::string& scope, const CaStore::ListCoverage& coverage) {
  if (coverage.generation) return {scope, {}};
  switch (coverage.kind) {
    case CaStore::ListKind::kFull: return {"name-full", "g*"};
    case CaStore::ListKind::kArl: return {"name-arl", "g*"};
    case CaStore::ListKind::kPartition: break;
  }
  return {"name-subscribers", "g*"};
}

Serial fresh_serial(CaStore& store, CryptoPP::RandomNumberGenerator& rng, const std::set<Serial>& taken = {}) {
  Serial s;
  do {
    s = random_serial(rng);
  } while (store.serial_exists(s) || taken.count(s));
  return s;
}

// A CA certificate from `issuer` for `subject_key` (link and cross certificates).
CertificateTemplate ca_certificate_template(const Certificate& issuer, const Name& subject,
                                            const PublicKey& subject_key, Time not_before, Time not_after,
                                            std::optional<int> path_length, const std::vector<std::string>& arl_urls,
                                            Serial serial) {
  CertificateTemplate t;
  t.serial = serial;
  t.issuer = issuer.subject;
  t.subject = subject;
  t.not_before = not_before;
  t.not_after = not_after;
  t.subject_public_key_info = subject_key.spki;
  t.extensions = {make_basic_constraints({true, path_length}),
                  make_key_usage(key_usage::kKeyCertSign | key_usage::kCrlSign),
                  make_subject_key_identifier(key_identifier(subject_key)),
                  make_authority_key_identifier(key_identifier(issuer.public_key))};
  if (!arl_urls.empty()) t.extensions.push_back(distribution_points(arl_urls));
  return t;
}

}  // namespace

Ca::ScopeParts Ca::parse_scope(const std::string& scope) {
  const auto dash = scope.find('-');
  if (scope.size() < 4 || scope[0] != 'g' || dash == std::string::npos) {
    throw PolicyError("'" + scope + "' is not a list name (g<generation>-<partition>, -arl or -full)");
  }
  ScopeParts p;
  p.generation = std::stoi(scope.substr(1, dash - 1));
  const std::string rest = scope.substr(dash + 1);
  if (rest == "arl") p.kind = CaStore::ListKind::kArl;
  else if (rest == "full") p.kind = CaStore::ListKind::kFull;
  else {
    p.kind = CaStore::ListKind::kPartition;
    p.partition = rest;
  }
  return p;
}

std::string Ca::scope_name(int generation, const std::string& list) {
  return "g" + std::to_string(generation) + "-" + list;
}

CertificateTemplate self_signed_template(const Name& subject, const PublicKey& key, Time not_before,
                                         Time not_after, CryptoPP::RandomNumberGenerator& rng) {
  if (subject.empty()) throw PolicyError("the CA needs a subject name");
  CertificateTemplate t;
  t.serial = random_serial(rng);
  t.subject = subject;
  t.issuer = subject;
  t.not_before = not_before;
  t.not_after = not_after;
  t.subject_public_key_info = key.spki;
  const Bytes key_id = key_identifier(key);
  t.extensions = {make_basic_constraints({true, std::nullopt}),
                  make_key_usage(key_usage::kKeyCertSign | key_usage::kCrlSign),
                  make_subject_key_identifier(key_id), make_authority_key_identifier(key_id)};
  return t;
}

void check_signer_matches(const KeyGeneration& generation, const Signer& signer) {
  const Certificate cert = parse_certificate(generation.certificate).value();
  if (signer.public_key().spki != cert.public_key.spki) {
    throw PolicyError("the key '" + generation.key_label + "' in the token is not the key of generation " +
                      std::to_string(generation.number) + "'s CA certificate; check the token");
  }
  if (signer.algorithm() != generation.algorithm) throw PolicyError("signer algorithm differs from the generation's");
}

PlannedCertificate Ca::plan(const IssueRequest& request, Time now, CryptoPP::RandomNumberGenerator& rng,
                            const std::vector<Bytes>& pending_subjects,
                            const std::map<std::string, int>& pending_partitions) {
  if (m_store.terminated()) throw PolicyError("this CA has been terminated (R26); it issues nothing more");
  const Profile& p = profile(request.profile);
  KeyGeneration generation = m_store.current_generation();
  if (request.generation && *request.generation != generation.number) {
    if (!p.ocsp_no_check) {
      throw PolicyError("only an OCSP responder certificate may be signed by an older generation's key (R11: everything else "
                        "uses the newest key); profile '" + p.name + "' is not one");
    }
    const auto all = m_store.generations();
    const auto older = std::find_if(all.begin(), all.end(), [&](const KeyGeneration& g) { return g.number == *request.generation; });
    if (older == all.end()) throw PolicyError("there is no key generation " + std::to_string(*request.generation));
    if (older->status == GenerationStatus::kCompromised || older->status == GenerationStatus::kDestroyed) {
      throw PolicyError("the key of generation " + std::to_string(older->number) + " is " +
                        std::string(generation_status_name(older->status)) + "; it certifies nothing more");
    }
    generation = *older;
  }
  const Certificate ca = parse_certificate(generation.certificate).value();
  const CertificationRequest& csr = request.csr;
  const CaConfig& config = m_store.config();
  check_key_against_profile(csr.public_key, p);
  if (csr.subject.empty()) throw PolicyError("the request has an empty subject; a subject name is required (JPKI 3-1-4)");
  const std::string subject_text = csr.subject.to_string();
  if (request.replaces) {
    const auto old = m_store.find(*request.replaces);
    if (!old) throw PolicyError("--replaces " + request.replaces->hex() + ": no such certificate in this CA");
    if (old->revoked) throw PolicyError("--replaces " + request.replaces->hex() + ": it is already revoked; issue without --replaces");
    if (old->subject_der != csr.subject.der()) {
      throw PolicyError("--replaces " + request.replaces->hex() + ": it belongs to '" + old->subject + "', not to '" + subject_text +
                        "'; a renewal keeps the subject");
    }
    if (old->kind != CertificateKind::kSubscriber) throw PolicyError("--replaces renews subscriber certificates only");
  }
  if (!p.cross_certificate) {
    // R16: one valid certificate per subject, also within one batch.
    const auto existing = m_store.valid_for_subject(csr.subject.der(), now);
    if (existing && !(request.replaces && *existing == *request.replaces)) {
      throw PolicyError("subject '" + subject_text + "' already holds valid certificate " + existing->hex() +
                        "; revoke it first, or renew it with --replaces " + existing->hex() + " (R16: no duplicate issuance)");
    }
    if (std::find(pending_subjects.begin(), pending_subjects.end(), csr.subject.der()) != pending_subjects.end()) {
      throw PolicyError("subject '" + subject_text + "' appears twice in this batch (R16)");
    }
  }
  if (!request.policy_mappings.empty() && !p.cross_certificate) {
    throw PolicyError("policy mappings belong in cross-certificates only");
  }

  PlannedCertificate plan;
  plan.replaces = request.replaces;
  CertificateTemplate& t = plan.certificate;
  t.serial = fresh_serial(m_store, rng);
  t.issuer = ca.subject;
  t.subject = csr.subject;
  t.not_before = now;
  t.not_after = p.validity_years ? add_years(now, p.validity_years) : add_days(now, p.validity_days);
  if (now < ca.not_before) throw PolicyError("the clock is before the CA certificate's notBefore; check the clock");
  if (t.not_after > ca.not_after) {
    throw PolicyError("the CA certificate expires on " + format_time(ca.not_after) + ", before this certificate would (" +
                      format_time(t.not_after) + "); roll the CA key over first (R11)");
  }
  t.subject_public_key_info = csr.public_key.spki;
  const CertificateKind kind = p.cross_certificate ? CertificateKind::kCross : CertificateKind::kSubscriber;
  std::string partition;
  std::vector<std::string> crl_urls;
  if (kind == CertificateKind::kSubscriber) {
    if (!request.partition_group.empty()) check_partition_name(request.partition_group);
    partition = m_store.assign_partition(generation.number, request.partition_group, pending_partitions);
    crl_urls = config.urls_for(scope_name(generation.number, partition));
  } else {
    crl_urls = config.urls_for(scope_name(generation.number, "arl"));
  }

  if (p.cross_certificate) {
    t = ca_certificate_template(ca, csr.subject, csr.public_key, t.not_before, t.not_after, p.path_length,
                                crl_urls, t.serial);
    if (!request.policy_mappings.empty()) t.extensions.push_back(make_policy_mappings(request.policy_mappings));
  } else {
    t.extensions.push_back(make_key_usage(p.key_usage));
    if (!p.extended_key_usage.empty()) t.extensions.push_back(make_extended_key_usage(p.extended_key_usage));
    t.extensions.push_back(make_subject_key_identifier(key_identifier(csr.public_key)));
    t.extensions.push_back(make_authority_key_identifier(key_identifier(ca.public_key)));
    if (!crl_urls.empty()) t.extensions.push_back(distribution_points(crl_urls));
    std::vector<AccessDescription> access;
    if (!config.ocsp_url.empty()) access.push_back({oid::kAdOcsp, GeneralName::uri(config.ocsp_url)});
    if (!config.ca_issuers_url.empty()) {
      std::string url = config.ca_issuers_url;
      if (const auto at = url.find("{generation}"); at != std::string::npos) url.replace(at, 12, std::to_string(generation.number));
      access.push_back({oid::kAdCaIssuers, GeneralName::uri(url)});
    }
    if (!access.empty()) t.extensions.push_back(make_authority_info_access(access));
  }
  if (!config.policy_oid.empty()) {
    PolicyInformation policy{Oid(config.policy_oid), {}};
    if (!config.cps_url.empty()) policy.cps_uris.push_back(config.cps_url);
    t.extensions.push_back(make_certificate_policies({policy}));
  }
  if (p.ocsp_no_check) t.extensions.push_back(make_ocsp_no_check());

  GeneralNames alt_names;
  if (p.subject_alt_name == SubjectAltNameSource::kJpkiBasicFour) {
    std::set<Oid> given;
    for (const auto& [type, value] : request.subject_data) {
      jpki::check_value(type, value, now);
      if (!given.insert(type).second) throw PolicyError(jpki::option_name(type) + " is given twice");
      alt_names.push_back(GeneralName::other_name_utf8(type, value));
    }
    for (const Oid& required : {jpki::kName, jpki::kDateOfBirth, jpki::kGender, jpki::kAddress}) {
      if (!given.count(required)) {
        throw PolicyError("profile '" + p.name + "' needs the basic four information (name, date of birth, gender, address; R14); " +
                          jpki::option_name(required) + " is missing");
      }
    }
  } else if (!request.subject_data.empty()) {
    throw PolicyError("profile '" + p.name + "' takes no subject data");
  } else if (p.subject_alt_name == SubjectAltNameSource::kFromRequest) {
    if (const Extension* san = find_extension(csr.requested_extensions, oid::kSubjectAltName)) {
      alt_names = decode_general_names(san->value);
    }
  }
  if (!alt_names.empty()) t.extensions.push_back(make_subject_alt_name(alt_names));

  plan.record = record_for(t, generation.number, kind, p.name);
  plan.record.partition = partition;
  plan.record.requested_by = request.requested_by;
  plan.record.batch_id = request.batch_id;
  plan.record.decision = request.decision;

  std::ostringstream s;
  s << "  " << t.serial.hex() << "  " << p.name << "  " << subject_text << "\n"
    << "      key " << csr.public_key.description() << ", valid " << format_time(t.not_before) << " to "
    << format_time(t.not_after) << (partition.empty() ? "" : ", list " + partition) << "\n";
  for (const GeneralName& g : alt_names) s << "      " << g.to_string() << "\n";
  if (plan.replaces) s << "      replaces " << plan.replaces->hex() << ": revoked (superseded) when this one is recorded\n";
  plan.summary = s.str();
  return plan;
}

std::vector<Bytes> Ca::sign_and_check(const std::vector<PlannedCertificate>& plans, const std::vector<Signer*>& signers) {
  if (signers.empty()) throw std::logic_error("no signer");
  // The token signs on one thread per session while another thread re-parses each certificate,
  // verifies its signature and compares its TBS with the plan: the check costs no signing time.
  std::vector<Bytes> out(plans.size());
  std::vector<std::atomic<bool>> ready(plans.size());
  std::atomic<bool> abort{false};
  std::vector<std::exception_ptr> errors(signers.size() + 1);
  const auto sign = [&](std::size_t worker) {
    try {
      for (std::size_t i = worker; i < plans.size() && !abort; i += signers.size()) {
        out[i] = sign_certificate_unchecked(plans[i].certificate, *signers[worker]);
        ready[i].store(true, std::memory_order_release);
      }
    } catch (...) {
      errors[worker] = std::current_exception();
      abort = true;
    }
  };
  const auto check = [&] {
    try {
      const PublicKey& key = signers.front()->public_key();
      const SignatureAlgorithm algorithm = signers.front()->algorithm();
      for (std::size_t i = 0; i < plans.size(); ++i) {
        // Sleep, not spin: with one session per core the signers need every cycle.
        while (!ready[i].load(std::memory_order_acquire)) {
          if (abort) return;
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        // What was signed must be exactly what the operator approved.
        check_signed_certificate(out[i], key, encode_tbs_certificate(plans[i].certificate, algorithm));
      }
    } catch (...) {
      errors.back() = std::current_exception();
      abort = true;
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t w = 1; w < signers.size(); ++w) threads.emplace_back(sign, w);
  threads.emplace_back(check);
  sign(0);
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return out;
}

void Ca::record_certificates(const std::vector<PlannedCertificate>& plans, const std::vector<Bytes>& ders, Time now) {
  for (std::size_t i = 0; i < plans.size(); ++i) {
    CertificateRecord r = plans[i].record;
    r.der = ders[i];
    m_store.insert(r);
    audit("certificate.issue", "serial " + r.serial.hex() + ", " + r.profile + ", subject " + r.subject +
                                   (r.batch_id.empty() ? "" : ", batch " + r.batch_id) + ", requested by " + r.requested_by,
          now);
  }
}

void Ca::audit(const std::string& type, const std::string& details, Time now, const std::string& result) {
  m_store.audit().append({type, result, m_actor, m_role, details}, now);
}

std::vector<Bytes> Ca::issue(const std::vector<PlannedCertificate>& plans, Signer& signer, Time now) {
  return issue(plans, std::vector<Signer*>{&signer}, now);
}

std::vector<Bytes> Ca::issue(const std::vector<PlannedCertificate>& plans, const std::vector<Signer*>& signers, Time now) {
  // The current generation's plans, or an OCSP responder's for an older one (Ca::plan decides).
  const KeyGeneration generation = plans.empty() ? m_store.current_generation() : m_store.generation(plans.front().record.generation);
  for (const PlannedCertificate& p : plans) {
    if (p.record.generation != generation.number) throw PolicyError("plans of different key generations cannot be signed together");
  }
  for (const Signer* s : signers) check_signer_matches(generation, *s);
  std::vector<Bytes> ders = sign_and_check(plans, signers);
  sql::Transaction txn(m_store.db());
  record_certificates(plans, ders, now);
  for (const PlannedCertificate& p : plans) {
    if (!p.replaces) continue;
    m_store.mark_revoked(*p.replaces, now, ReasonCode::kSuperseded, std::nullopt);
    audit("certificate.revoke", "serial " + p.replaces->hex() + ", reason superseded, replaced by " + p.certificate.serial.hex(), now);
  }
  m_store.record_time(now);
  txn.commit();
  return ders;
}

Ca::BatchPlan Ca::plan_batch(const transfer::RequestBatch& batch, BytesView batch_der, Time now, CryptoPP::RandomNumberGenerator& rng) {
  BatchPlan batch_plan;
  batch_plan.batch_id = batch.batch_id;
  batch_plan.request_digest = digest(HashAlgorithm::kSha256, batch_der);
  const std::string id = to_hex(batch.batch_id);
  if (m_store.batch_seen(id)) {
    throw PolicyError("batch " + id + " was processed before; a replayed batch is refused whole and nothing was done");
  }
  std::vector<Bytes> pending_subjects;
  std::set<Serial> pending_revocations;
  std::map<std::string, int> per_profile;
  std::map<std::string, int> per_partition;
  std::ostringstream issued_text, revoked_text, refused_text;
  for (std::size_t index = 0; index < batch.items.size(); ++index) {
    const transfer::SignedRequestItem& si = batch.items[index];
    transfer::ItemResult result;
    result.item_id = si.item.item_id;
    try {
      // The relay is not trusted: every item must carry a valid signature of a registered RA key.
      const auto spki = m_store.ra_key(si.item.ra_operator);
      if (!spki) throw PolicyError("RA operator '" + si.item.ra_operator + "' is not registered on the signer (or was revoked)");
      if (!verify_signature(parse_public_key(*spki), si.algorithm, si.item_der, si.signature)) {
        throw PolicyError("the signature of RA operator '" + si.item.ra_operator + "' on this item does not verify");
      }
      if (si.item.issue) {
        const transfer::IssueAction& a = *si.item.issue;
        auto csr = parse_certification_request(a.request);
        if (!csr) throw PolicyError("request refused [" + std::string(error_id_name(csr.error())) + "]: " + csr.message());
        IssueRequest request;
        request.csr = std::move(csr).value();
        request.profile = a.profile;
        request.partition_group = a.partition;
        request.subject_data = a.subject_data;
        request.requested_by = si.item.ra_operator;
        request.batch_id = id;
        request.decision = "RA operator " + si.item.ra_operator + " (item " + si.item.item_id + "), approved at the signer console";
        PlannedCertificate planned = this->plan(request, now, rng, pending_subjects, per_partition);
        pending_subjects.push_back(planned.certificate.subject.der());
        if (!planned.record.partition.empty()) ++per_partition[planned.record.partition];
        ++per_profile[a.profile];
        issued_text << planned.summary;
        batch_plan.certificates.push_back(std::move(planned));
        batch_plan.certificate_items.push_back(index);
      } else {
        const transfer::RevokeAction& a = *si.item.revoke;
        check_revocation_reason(reason_name(a.reason));
        const auto record = m_store.find(a.serial);
        if (!record) throw PolicyError("no certificate with serial " + a.serial.hex() + " was issued by this CA");
        if (record->revoked) throw PolicyError("certificate " + a.serial.hex() + " was already revoked on " + format_time(*record->revoked_at));
        if (!pending_revocations.insert(a.serial).second) throw PolicyError("certificate " + a.serial.hex() + " is revoked twice in this batch");
        if (a.invalidity_date && *a.invalidity_date > now) throw PolicyError("the invalidity date lies in the future");
        revoked_text << "  " << a.serial.hex() << "  " << reason_name(a.reason) << "  " << record->subject << "\n";
        batch_plan.revocations.emplace_back(index, a);
        result.serial = a.serial;
      }
    } catch (const std::exception& e) {
      result.status = transfer::ItemStatus::kRefused;
      result.reason = e.what();
      refused_text << "  item " << si.item.item_id << ": " << e.what() << "\n";
      ++batch_plan.refused;
    }
    batch_plan.results.push_back(std::move(result));
  }
  std::ostringstream s;
  s << "Batch " << id << " created " << format_time(batch.created) << ": " << batch.items.size() << " items\n"
    << "  to issue:  " << batch_plan.certificates.size();
  for (const auto& [name, count] : per_profile) s << "  (" << name << " " << count << ")";
  s << "\n  to revoke: " << batch_plan.revocations.size() << "\n  refused:   " << batch_plan.refused << "\n";
  if (!batch_plan.certificates.empty()) s << "Certificates to sign:\n" << issued_text.str();
  if (!batch_plan.revocations.empty()) s << "Revocations:\n" << revoked_text.str();
  if (batch_plan.refused) s << "Refused items (not signed; returned to the RA with the reason):\n" << refused_text.str();
  batch_plan.summary = s.str();
  return batch_plan;
}

transfer::ResultBatch Ca::execute_batch(BatchPlan& plan, const std::vector<Signer*>& signers, Time now, const SignerFor& signer_for) {
  const KeyGeneration generation = m_store.current_generation();
  for (const Signer* signer : signers) check_signer_matches(generation, *signer);
  const std::vector<Bytes> ders = sign_and_check(plan.certificates, signers);
  std::set<std::string> scopes;
  // One transaction: the batch is applied whole or not at all.
  sql::Transaction txn(m_store.db());
  record_certificates(plan.certificates, ders, now);
  for (const auto& [index, action] : plan.revocations) {
    const CertificateRecord record = *m_store.find(action.serial);
    m_store.mark_revoked(action.serial, now, action.reason, action.invalidity_date);
    for (const std::string& scope : scopes_covering(record)) scopes.insert(scope);
    plan.results[index].status = transfer::ItemStatus::kRevoked;
    audit("certificate.revoke", "serial " + action.serial.hex() + ", reason " + std::string(reason_name(action.reason)) +
                                    ", batch " + to_hex(plan.batch_id), now);
  }
  for (const transfer::ItemResult& r : plan.results) {
    if (r.status == transfer::ItemStatus::kRefused) audit("batch.item", "item " + r.item_id + " refused: " + r.reason, now, "refused");
  }
  const int issued = static_cast<int>(plan.certificates.size());
  m_store.record_batch(to_hex(plan.batch_id), now, static_cast<int>(plan.results.size()), issued, static_cast<int>(plan.refused));
  audit("batch.process", "batch " + to_hex(plan.batch_id) + ": " + std::to_string(plan.results.size()) + " items, " +
                             std::to_string(issued) + " issued, " + std::to_string(plan.revocations.size()) + " revoked, " +
                             std::to_string(plan.refused) + " refused", now);
  m_store.record_time(now);
  txn.commit();

  transfer::ResultBatch result;
  result.batch_id = plan.batch_id;
  result.request_digest = plan.request_digest;
  result.processed = now;
  for (std::size_t i = 0; i < plan.certificates.size(); ++i) {
    transfer::ItemResult& r = plan.results[plan.certificate_items[i]];
    r.status = transfer::ItemStatus::kIssued;
    r.serial = plan.certificates[i].certificate.serial;
    r.certificate = ders[i];
  }
  result.results = plan.results;
  // R21: revocations are followed at once by their partition (or ARL) and the fullCRL.
  for (const StoredCrl& l : make_lists({scopes.begin(), scopes.end()}, now, now, signer_for)) result.lists.push_back(l.der);
  m_store.record_batch_result(to_hex(plan.batch_id), transfer::encode_result_batch(result));
  return result;
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

std::vector<std::string> Ca::revoke(const Serial& serial, ReasonCode reason, Time now, std::optional<Time> invalidity_date) {
  const auto record = m_store.find(serial);
  if (!record) throw PolicyError("no certificate with serial " + serial.hex() + " was issued by this CA");
  if (record->revoked) {
    throw PolicyError("certificate " + serial.hex() + " was already revoked on " + format_time(*record->revoked_at));
  }
  if (invalidity_date && *invalidity_date > now) throw PolicyError("the invalidity date lies in the future");
  sql::Transaction txn(m_store.db());
  m_store.mark_revoked(serial, now, reason, invalidity_date);
  audit("certificate.revoke", "serial " + serial.hex() + ", reason " + std::string(reason_name(reason)) + ", subject " + record->subject, now);
  m_store.record_time(now);
  txn.commit();
  return scopes_covering(*record);
}

std::vector<std::string> Ca::scopes_covering(const CertificateRecord& record) {
  std::vector<std::string> out;
  for (const std::string& scope : all_scopes()) {
    if (covers(coverage_of(parse_scope(scope), m_store.config()), record)) out.push_back(scope);
  }
  return out;
}

std::vector<std::string> Ca::all_scopes() {
  std::vector<std::string> out;
  for (const KeyGeneration& g : m_store.generations()) {
    if (g.status == GenerationStatus::kCompromised || g.status == GenerationStatus::kDestroyed) continue;
    for (const std::string& p : m_store.partitions(g.number)) out.push_back(scope_name(g.number, p));
    out.push_back(scope_name(g.number, "arl"));
    out.push_back(scope_name(g.number, "full"));
  }
  return out;
}

std::vector<StoredCrl> Ca::make_lists(const std::vector<std::string>& scopes, Time this_update, Time now,
                                      const SignerFor& signer_for) {
  std::vector<StoredCrl> out;
  for (const std::string& scope : scopes) {
    const ScopeParts parts = parse_scope(scope);
    const KeyGeneration generation = m_store.generation(parts.generation);
    const Certificate ca = parse_certificate(generation.certificate).value();
    CrlTemplate t;
    t.issuer = ca.subject;
    t.this_update = this_update;
    t.next_update = this_update + std::chrono::hours(m_store.config().crl_validity_hours);
    t.authority_key_id = key_identifier(ca.public_key);
    const CaStore::ListCoverage coverage = coverage_of(parts, m_store.config());
    t.revoked.reserve(m_store.count_revoked(coverage, this_update));
    m_store.for_each_revoked(coverage, this_update, [&](RevokedCertificate&& r) { t.revoked.push_back(std::move(r)); });
    if (parts.kind != CaStore::ListKind::kFull) {
      IssuingDistributionPoint idp;
      idp.full_name = uris(m_store.config().urls_for(scope));
      idp.only_user_certs = parts.kind == CaStore::ListKind::kPartition;
      idp.only_ca_certs = parts.kind == CaStore::ListKind::kArl;
      t.issuing_distribution_point = idp;
    }
    Signer& signer = signer_for(generation);
    check_signer_matches(generation, signer);
    // Lists of one scope share one number sequence, so a relying party holding any of them can
    // tell which is newest: every generation's fullCRL covers the same certificates.
    const auto [sequence, earlier] = number_sequence(scope, coverage);
    t.crl_number = m_store.reserve_crl_number(sequence, earlier);  // committed before signing: never reused
    StoredCrl stored{scope, t.crl_number, t.this_update, t.next_update, sign_crl(t, signer)};
    std::vector<RevokedCertificate>().swap(t.revoked);  // a million entries are 56 MB: free them now
    sql::Transaction txn(m_store.db());
    m_store.store_crl(stored);
    audit("list.sign", scope + " number " + std::to_string(stored.number) + ", thisUpdate " + format_time(stored.this_update), now);
    m_store.record_time(now);
    txn.commit();
    out.push_back(std::move(stored));
  }
  return out;
}

Ca::Rollover Ca::rollover(const std::string& new_key_label, Signer& old_signer, Signer& new_signer, Time now,
                          CryptoPP::RandomNumberGenerator& rng) {
  if (m_store.terminated()) throw PolicyError("this CA has been terminated; no rollover");
  const KeyGeneration old_generation = m_store.current_generation();
  check_signer_matches(old_generation, old_signer);
  const Certificate old_cert = parse_certificate(old_generation.certificate).value();
  if (new_signer.public_key().spki == old_cert.public_key.spki) throw PolicyError("the new key is the old key");
  if (now >= old_cert.not_after) throw PolicyError("the old CA certificate has expired; link certificates cannot be made");
  const int years = static_cast<int>(std::chrono::duration_cast<std::chrono::years>(
                                         old_cert.not_after - old_cert.not_before + std::chrono::days(2)).count());
  const int number = old_generation.number + 1;
  Rollover result;
  result.generation = number;

  const CertificateTemplate self = self_signed_template(old_cert.subject, new_signer.public_key(), now,
                                                        add_years(now, std::max(years, 1)), rng);
  result.self_signed = sign_certificate(self, new_signer);
  const Certificate new_cert = parse_certificate(result.self_signed).value();
  std::set<Serial> taken{self.serial};
  // R12: both link certificates are valid until the old self-signed certificate expires.
  const CertificateTemplate new_with_old = ca_certificate_template(
      old_cert, old_cert.subject, new_signer.public_key(), now, old_cert.not_after, std::nullopt,
      m_store.config().urls_for(scope_name(old_generation.number, "arl")), fresh_serial(m_store, rng, taken));
  taken.insert(new_with_old.serial);
  const CertificateTemplate old_with_new = ca_certificate_template(
      new_cert, old_cert.subject, old_cert.public_key, now, old_cert.not_after, std::nullopt,
      m_store.config().urls_for(scope_name(number, "arl")), fresh_serial(m_store, rng, taken));
  result.new_with_old = sign_certificate(new_with_old, old_signer);
  result.old_with_new = sign_certificate(old_with_new, new_signer);

  KeyGeneration g;
  g.number = number;
  g.key_label = new_key_label;
  g.algorithm = new_signer.algorithm();
  g.certificate = result.self_signed;
  g.created = now;
  sql::Transaction txn(m_store.db());
  m_store.add_generation(g);
  m_store.set_generation_status(old_generation.number, GenerationStatus::kRetired);
  CertificateRecord r = record_for(self, number, CertificateKind::kSelfSigned, "self-signed");
  r.der = result.self_signed;
  m_store.insert(r);
  r = record_for(new_with_old, old_generation.number, CertificateKind::kLink, "NewWithOld");
  r.der = result.new_with_old;
  m_store.insert(r);
  r = record_for(old_with_new, number, CertificateKind::kLink, "OldWithNew");
  r.der = result.old_with_new;
  m_store.insert(r);
  audit("key.rollover", "generation " + std::to_string(old_generation.number) + " -> " + std::to_string(number) +
                            ", new key '" + new_key_label + "', link certificates " + new_with_old.serial.hex() + " and " +
                            old_with_new.serial.hex(), now);
  m_store.record_time(now);
  txn.commit();
  return result;
}

std::vector<std::string> Ca::compromise(int generation, Time now) {
  const KeyGeneration g = m_store.generation(generation);
  if (g.status == GenerationStatus::kCompromised) throw PolicyError("generation " + std::to_string(generation) + " is already marked compromised");
  sql::Transaction txn(m_store.db());
  const std::vector<Serial> serials = m_store.valid_serials(generation);
  for (const Serial& s : serials) m_store.mark_revoked(s, now, ReasonCode::kCaCompromise, std::nullopt);
  audit("key.compromise", "generation " + std::to_string(generation) + ": " + std::to_string(serials.size()) +
                              " certificates revoked (cACompromise)", now);
  m_store.record_time(now);
  txn.commit();
  // The generation's own lists, and every list of the name that covers its certificates too.
  std::set<std::string> scopes;
  for (const std::string& p : m_store.partitions(generation)) scopes.insert(scope_name(generation, p));
  scopes.insert(scope_name(generation, "arl"));
  for (const std::string& scope : all_scopes()) {
    const CaStore::ListCoverage coverage = coverage_of(parse_scope(scope), m_store.config());
    if (!coverage.generation || *coverage.generation == generation) scopes.insert(scope);
  }
  scopes.insert(scope_name(generation, "full"));
  return {scopes.begin(), scopes.end()};
}

std::vector<std::string> Ca::terminate(Time now) {
  sql::Transaction txn(m_store.db());
  std::size_t count = 0;
  for (const KeyGeneration& g : m_store.generations()) {
    for (const Serial& s : m_store.valid_serials(g.number)) {
      m_store.mark_revoked(s, now, ReasonCode::kCessationOfOperation, std::nullopt);
      ++count;
    }
  }
  m_store.set_terminated(now);
  audit("ca.terminate", std::to_string(count) + " certificates revoked (cessationOfOperation)", now);
  txn.commit();
  return all_scopes();
}

CrossPair Ca::import_cross_certificate(BytesView der, Time now) {
  const auto parsed = parse_certificate(der);
  if (!parsed) throw PolicyError("the Bridge CA's certificate is refused [" + std::string(error_id_name(parsed.error())) + "]: " + parsed.message());
  const Certificate& cert = *parsed;
  if (!cert.is_ca()) throw PolicyError("the certificate from the Bridge CA is not a CA certificate");
  bool ours = false;
  for (const KeyGeneration& g : m_store.generations()) {
    const Certificate own = parse_certificate(g.certificate).value();
    ours |= own.subject == cert.subject && own.public_key.spki == cert.public_key.spki;
  }
  if (!ours) throw PolicyError("the certificate does not certify this CA's name and one of its keys; it is not for us");
  if (now > cert.not_after || now < cert.not_before) throw PolicyError("the certificate from the Bridge CA is not valid now");
  for (const CertificateRecord& r : m_store.certificates_of_kind(CertificateKind::kCross)) {
    const Certificate bridge = parse_certificate(r.der).value();
    if (bridge.subject == cert.issuer && verify_certificate_signature(cert, bridge.public_key)) {
      CrossPair pair{cert.serial, cert.issuer.to_string(), Bytes(der.begin(), der.end()), r.der};
      sql::Transaction txn(m_store.db());
      m_store.record_cross_pair(pair, now);
      audit("cross.import", "certificate " + cert.serial.hex() + " from " + pair.bridge, now);
      m_store.record_time(now);
      txn.commit();
      return pair;
    }
  }
  throw PolicyError("no Bridge CA we cross-certified issued this certificate (issuer " + cert.issuer.to_string() +
                    "); cross-certify the Bridge CA first (R13)");
}

Bytes encode_certificate_pair(const CrossPair& pair) {
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.explicit_tag(0, [&](der::Writer& c) { c.raw(pair.issued_to_us); });
    s.explicit_tag(1, [&](der::Writer& c) { c.raw(pair.issued_by_us); });
  });
  return std::move(w).take();
}

std::uint64_t Ca::next_crl_number(const std::string& scope) {
  const auto [sequence, earlier] = number_sequence(scope, coverage_of(parse_scope(scope), m_store.config()));
  return m_store.peek_crl_number(sequence, earlier);
}

std::vector<std::string> unheld_roles(CaStore& store) {
  std::vector<std::string> out;
  // R50: a role nobody holds is work nobody can do (once people are registered at all).
  PeopleRegistry people(store.db());
  const std::vector<Person> everyone = people.list();
  if (!everyone.empty()) {
    for (const NeededRole& n : roles_the_ca_needs()) {
      if (std::none_of(everyone.begin(), everyone.end(), [&](const Person& p) { return p.holds(n.role); })) {
        out.push_back(std::string("nobody holds the role of ") + role_title(n.role) + " (" + role_name(n.role) + "), so " + n.work +
                      " cannot be done; enrol one with 'hanko-offline role-enrol' (the custodians' quorum)");
      }
    }
  }
  return out;
}

std::vector<std::string> Ca::warnings(Time now) {
  std::vector<std::string> out = m_store.follow_ups();
  for (std::string& w : unheld_roles(m_store)) out.push_back(std::move(w));
  try {
    const KeyGeneration g = m_store.current_generation();
    const Certificate cert = parse_certificate(g.certificate).value();
    for (const Profile& p : m_profiles) {
      const Time end = p.validity_years ? add_years(now, p.validity_years) : add_days(now, p.validity_days);
      if (end > cert.not_after) {
        out.push_back("the CA certificate of generation " + std::to_string(g.number) + " expires " + format_time(cert.not_after) +
                      ", sooner than a new '" + p.name + "' certificate would; roll the key over (R11)");
      }
    }
  } catch (const std::runtime_error& e) {
    out.push_back(e.what());
  }
  for (const StoredCrl& crl : m_store.latest_crls(now, CaStore::ListContent::kWithoutDer)) {
    if (crl.this_update + std::chrono::hours(m_store.config().crl_interval_hours) <= now) {
      out.push_back("list " + crl.scope + " is due (issued " + format_time(crl.this_update) + ")");
    }
  }
  return out;
}

}  // namespace hanko::offline
