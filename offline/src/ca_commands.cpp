#include <cryptopp/osrng.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "hanko/hsm/error.h"
#include "hanko/offline/ca.h"
#include "hanko/offline/ca_keys.h"
#include "hanko/offline/command.h"
#include "hanko/offline/custody.h"
#include "hanko/offline/database_key.h"
#include "hanko/offline/people.h"
#include "hanko/offline/reconcile.h"
#include "hanko/offline/repository.h"
#include "hanko/pki/pem.h"
#include "hanko/transfer/bundle.h"

namespace hanko::offline {

namespace {

namespace fs = std::filesystem;

std::string fingerprint(BytesView digest) { return to_hex(digest, ':'); }

std::vector<Profile> load_profiles(const CaStore& store) {
  return parse_profiles(read_text_file(store.dir() / "profiles.conf", 1 << 20));
}

// A key operation (R51): who runs it and which manager approves, proven before anything is done.
struct KeyOperation {
  const char* what;
};

// Opens the state, checks the clock against it (the signer never signs with a clock set back).
struct Opened {
  CaStore store;
  Ca ca;
  pki::Time time;
  explicit Opened(const po::variables_map& vm, std::optional<KeyOperation> key_operation = std::nullopt)
      : store(vm["state"].as<std::string>()), ca(store, load_profiles(store)), time(now()) {
    store.check_clock(time);
    ca.set_actor(key_operation ? authorize(store, vm, Role::kCaAdministrator, key_operation->what) : operator_of(vm),
                 "CA administrator");
  }
};

// status --json: stable field names, documented in the README.
nlohmann::ordered_json status_object(CaStore& store, Ca& ca, pki::Time time) {
  nlohmann::ordered_json j{{"state", store.dir().string()},
                           {"terminated", store.terminated()},
                           {"token", store.config().token},
                           {"module", store.config().module},
                           {"identity", store.identity()},
                           {"database_encrypted", !store.config().database_key.empty()},
                           {"database_key", store.config().database_key},
                           {"generations", nlohmann::ordered_json::array()},
                           {"lists", nlohmann::ordered_json::array()},
                           {"warnings", ca.warnings(time)}};
  for (const KeyGeneration& g : store.generations()) {
    const pki::Certificate c = pki::parse_certificate(g.certificate).value();
    j["generations"].push_back({{"number", g.number},
                                {"status", std::string(generation_status_name(g.status))},
                                {"key_label", g.key_label},
                                {"key", c.public_key.description()},
                                {"not_after", pki::format_time_rfc3339(c.not_after)},
                                {"certificates", store.count_certificates(g.number)},
                                {"revoked", store.count_certificates(g.number, true)},
                                {"partitions", store.partitions(g.number).size()}});
  }
  for (const StoredCrl& l : store.latest_crls(time, CaStore::ListContent::kWithoutDer)) {
    j["lists"].push_back({{"scope", l.scope},
                          {"number", l.number},
                          {"next_number", ca.next_crl_number(l.scope)},
                          {"this_update", pki::format_time_rfc3339(l.this_update)},
                          {"next_due", pki::format_time_rfc3339(l.this_update + std::chrono::hours(store.config().crl_interval_hours))},
                          {"next_update", pki::format_time_rfc3339(l.next_update)}});
  }
  return j;
}

// The public part of the status, signed by the audit key after every command that used the
// token, so 'status' of an encrypted CA (R42) can show it without the PIN. Nothing secret.
void write_public_status(Opened& o, pki::Signer& audit_signer) {
  nlohmann::ordered_json j = status_object(o.store, o.ca, o.time);
  j["written_at"] = pki::format_time_rfc3339(o.time);
  const std::string text = j.dump(2) + "\n";
  const BytesView bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  const Bytes signature = audit_signer.sign(bytes);
  write_file_atomic(o.store.dir() / "public-status.json", bytes);
  write_file_atomic(o.store.dir() / "public-status.sig", signature);
}

// Signs the audit log's head with the audit key (R41) at the end of every command that used the
// token, so the log cannot be cut or changed behind the last checkpoint unnoticed.
void checkpoint(Opened& o, CaKeys& keys) {
  if (o.store.config().audit_key.empty()) return;
  hsm::Session& session = keys.session();
  const hsm::KeyPair key = session.key_pair(o.store.config().audit_key);
  const pki::PublicKey public_key = pki::parse_public_key(session.public_key_info(key));
  hsm::PkiSigner signer(session, key, pki::default_signature_algorithm(public_key));
  sql::Transaction txn(o.store.db());
  o.store.audit().checkpoint(signer, o.time);
  txn.commit();
  write_public_status(o, signer);
}

CaKeys open_keys(const CaStore& store, const po::variables_map& vm, bool read_write = false) {
  return CaKeys(store.config(), obtain_user_pin(vm), read_write);
}

void print_lists(const std::vector<StoredCrl>& lists) {
  for (const StoredCrl& l : lists) {
    const pki::Crl crl = pki::parse_crl(l.der, {.keep_entries = false}).value();
    std::cout << "  list " << l.scope << " #" << l.number << ": " << crl.entry_count << " entries, valid "
              << pki::format_time(l.this_update) << " to " << pki::format_time(l.next_update) << "\n";
  }
}

void write_lists(const std::vector<StoredCrl>& lists, const fs::path& dir) {
  fs::create_directories(dir);
  for (const StoredCrl& l : lists) write_file_atomic(dir / (l.scope + ".crl"), l.der);
}

std::vector<pki::PolicyMapping> policy_mappings(const po::variables_map& vm) {
  std::vector<pki::PolicyMapping> out;
  if (!vm.count("policy-mapping")) return out;
  for (const std::string& m : vm["policy-mapping"].as<std::vector<std::string>>()) {
    const auto colon = m.find(':');
    if (colon == std::string::npos) throw UsageError("--policy-mapping wants ISSUER_POLICY:SUBJECT_POLICY, not '" + m + "'");
    out.push_back({pki::Oid(m.substr(0, colon)), pki::Oid(m.substr(colon + 1))});
  }
  return out;
}

void cmd_init(const po::variables_map& vm) {
  const fs::path state_dir = vm["state"].as<std::string>();
  const auto key_type = hsm::parse_key_type(vm["key-type"].as<std::string>());
  if (!key_type) throw UsageError("unknown key type '" + vm["key-type"].as<std::string>() + "'; use rsa2048, rsa3072, rsa4096, p256 or p384");
  const pki::Name subject = pki::Name::parse_text(vm["subject"].as<std::string>());
  CaConfig config;
  config.module = vm["module"].as<std::string>();
  config.token = vm["token"].as<std::string>();
  if (vm.count("crl-url")) config.crl_urls = vm["crl-url"].as<std::vector<std::string>>();
  if (vm.count("ocsp-url")) config.ocsp_url = vm["ocsp-url"].as<std::string>();
  if (vm.count("ca-issuers-url")) config.ca_issuers_url = vm["ca-issuers-url"].as<std::string>();
  if (vm.count("policy-oid")) config.policy_oid = pki::Oid(vm["policy-oid"].as<std::string>()).to_string();
  if (vm.count("cps-url")) config.cps_url = vm["cps-url"].as<std::string>();
  config.crl_validity_hours = vm["crl-hours"].as<int>();
  config.partition_size = vm["partition-size"].as<int>();
  CaConfig::parse(config.serialize());  // same checks as when it is read back
  const std::string key_label = vm["key-label"].as<std::string>();
  if (vm.count("transport-key-label")) config.transport_key = vm["transport-key-label"].as<std::string>();
  config.audit_key = vm.count("audit-key-label") ? vm["audit-key-label"].as<std::string>() : key_label + "-audit";
  CaStore::check_can_create(state_dir);
  const pki::Time time = now();

  // --backup: every key of this CA may leave the token, but only wrapped under the trusted backup
  // key (R7); without it the keys can never leave the token.
  const hsm::KeyBackup backup = vm.count("backup") ? hsm::KeyBackup::kWrapWithTrustedOnly : hsm::KeyBackup::kNever;
  TokenAccess token(config.module, config.token, obtain_user_pin(vm), true);
  hsm::KeyPair key = token.session->generate_key_pair(*key_type, key_label, backup);
  try {
    const pki::PublicKey public_key = pki::parse_public_key(token.session->public_key_info(key));
    KeyGeneration first;
    first.number = 1;
    first.key_label = key_label;
    first.algorithm = vm.count("algorithm") ? *pki::parse_signature_algorithm_name(vm["algorithm"].as<std::string>())
                                            : pki::default_signature_algorithm(public_key);
    first.created = time;
    hsm::PkiSigner signer(*token.session, key, first.algorithm);
    CryptoPP::AutoSeededRandomPool rng;
    const pki::CertificateTemplate t =
        self_signed_template(subject, public_key, time, pki::add_years(time, vm["years"].as<int>()), rng);
    first.certificate = pki::sign_certificate(t, signer);
    CertificateRecord record;
    record.serial = t.serial;
    record.generation = 1;
    record.kind = CertificateKind::kSelfSigned;
    record.profile = "self-signed";
    record.subject = subject.to_string();
    record.subject_der = subject.der();
    record.not_before = t.not_before;
    record.not_after = t.not_after;
    record.der = first.certificate;
    record.decision = "CA initialisation";
    // Separate keys sign what leaves the signer and the audit checkpoints (R4: the CA key signs
    // certificates and lists only).
    std::optional<hsm::KeyPair> transport;
    const hsm::KeyPair audit_key = token.session->generate_key_pair(hsm::KeyType::EcP256, config.audit_key, backup);
    bool made_database_key = false;
    try {
      if (!config.transport_key.empty()) transport = token.session->generate_key_pair(hsm::KeyType::EcP256, config.transport_key, backup);
      if (vm.count("encrypt-database")) {
        config.database_key = key_label + "-database";
        create_database_token_key(*token.session, config.database_key);
        made_database_key = true;
        DatabaseKeys::remember(config, database_key(*token.session, config.database_key));
      }
      CaStore::create(state_dir, config, first, record, time);
      write_new_file(state_dir / "profiles.conf", view(default_profiles_text()));
      write_new_file(state_dir / "audit.spki", token.session->public_key_info(audit_key));
      if (transport) write_new_file(state_dir / "transport.spki", token.session->public_key_info(*transport));
      CaStore store(state_dir);
      const pki::PublicKey audit_public = pki::parse_public_key(token.session->public_key_info(audit_key));
      hsm::PkiSigner audit_signer(*token.session, audit_key, pki::default_signature_algorithm(audit_public));
      sql::Transaction txn(store.db());
      store.audit().append({"key.generate", "success", operator_of(vm), "CA administrator",
                            "CA key '" + key_label + "' " + public_key.description() + ", audit key '" + config.audit_key + "'" +
                                (transport ? ", transport key '" + config.transport_key + "'" : "")}, time);
      store.audit().checkpoint(audit_signer, time);
      txn.commit();
    } catch (...) {
      token.session->destroy_key_pair(audit_key);
      if (transport) token.session->destroy_key_pair(*transport);
      if (made_database_key) {
        if (const auto k = token.session->find_secret_key(config.database_key)) token.session->destroy_object(*k);
      }
      throw;
    }
    const pki::Certificate cert = pki::parse_certificate(first.certificate).value();
    std::cout << "CA created in " << state_dir.string() << "\n"
              << "  subject   " << cert.subject.to_string() << "\n"
              << "  key       " << cert.public_key.description() << " '" << key_label << "' in token '" << config.token << "'\n"
              << "  validity  " << pki::format_time(cert.not_before) << " to " << pki::format_time(cert.not_after) << "\n"
              << "  SHA-256   " << fingerprint(cert.fingerprint_sha256()) << "\n"
              << "  SHA-1     " << fingerprint(cert.fingerprint_sha1()) << "\n"
              << "  database  " << (config.database_key.empty() ? "not encrypted (R42: use --encrypt-database)" : "encrypted under token key '" + config.database_key + "' (R42)") << "\n";
  } catch (...) {
    // Nothing usable was recorded, so the new key must not stay behind in the token.
    token.session->destroy_key_pair(key);
    throw;
  }
}

IssueRequest request_from_options(const po::variables_map& vm) {
  IssueRequest r;
  const auto csr = pki::parse_certification_request(read_der_or_pem(vm["csr"].as<std::string>(), "CERTIFICATE REQUEST"));
  if (!csr) {
    throw PolicyError("request '" + vm["csr"].as<std::string>() + "' refused [" +
                      std::string(pki::error_id_name(csr.error())) + "]: " + csr.message());
  }
  r.csr = *csr;
  r.profile = vm["profile"].as<std::string>();
  if (vm.count("partition")) r.partition_group = vm["partition"].as<std::string>();
  const std::pair<const char*, const pki::Oid*> jpki_options[] = {
      {"jpki-name", &jpki::kName}, {"jpki-birth", &jpki::kDateOfBirth}, {"jpki-gender", &jpki::kGender},
      {"jpki-address", &jpki::kAddress}, {"jpki-name-substituted", &jpki::kNameSubstituted},
      {"jpki-address-substituted", &jpki::kAddressSubstituted}};
  for (const auto& [option, type] : jpki_options) {
    if (vm.count(option)) r.subject_data.emplace_back(*type, vm[option].as<std::string>());
  }
  r.policy_mappings = policy_mappings(vm);
  if (vm.count("generation")) r.generation = vm["generation"].as<int>();
  return r;
}

// A certificate as DER, or PEM where a person will paste it (--pem).
void write_certificate(const std::string& path, const Bytes& der, bool pem) {
  if (!pem) return write_new_file(path, der);
  const std::string text = pki::pem_encode(der, "CERTIFICATE");
  write_new_file(path, BytesView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void issue_one(const po::variables_map& vm, IssueRequest request, std::optional<KeyOperation> key_operation = std::nullopt) {
  const std::string out = vm["out"].as<std::string>();
  check_can_create(out);  // check, then sign, then write: a certificate is never signed into nowhere
  Opened o(vm, key_operation);
  CryptoPP::AutoSeededRandomPool rng;
  const PlannedCertificate plan = o.ca.plan(request, o.time, rng);
  if (vm.count("dry-run")) {
    std::cout << "Would be signed:\n" << plan.summary << "nothing was signed or recorded (--dry-run)\n";
    return;
  }
  std::cerr << "To be signed:\n" << plan.summary;
  CaKeys keys = open_keys(o.store, vm);
  const Bytes der = o.ca.issue({plan}, keys.signer(o.store.generation(plan.record.generation)), o.time).front();
  if (plan.replaces) {
    // The old certificate was revoked with the new one's recording: its lists follow at once (R21).
    const auto lists = o.ca.make_lists(o.ca.scopes_covering(*o.store.find(*plan.replaces)), o.time, o.time, keys.signer_for());
    std::cout << "replaced " << plan.replaces->hex() << " (revoked: superseded); new lists:\n";
    print_lists(lists);
  }
  checkpoint(o, keys);
  try {
    write_certificate(out, der, vm.count("pem") > 0);
  } catch (const FileError& e) {
    throw FileError(std::string(e.what()) + "\ncertificate " + plan.certificate.serial.hex() +
                    " is issued and recorded; write it out with: hanko-offline get --state " + vm["state"].as<std::string>() +
                    " --serial " + plan.certificate.serial.hex() + " --out FILE");
  }
  std::cout << "issued " << plan.certificate.serial.hex() << " -> " << out << "\n";
}

void cmd_issue(const po::variables_map& vm) {
  IssueRequest r = request_from_options(vm);
  if (vm.count("replaces")) r.replaces = pki::Serial::from_hex(vm["replaces"].as<std::string>());
  issue_one(vm, std::move(r));
}

void cmd_cross_certify(const po::variables_map& vm) {
  IssueRequest r = request_from_options(vm);
  r.decision = "cross-certification approved at the signer console";
  issue_one(vm, std::move(r), KeyOperation{"cross-certification"});
}

void cmd_cross_import(const po::variables_map& vm) {
  Opened o(vm);
  const CrossPair pair = o.ca.import_cross_certificate(read_der_or_pem(vm["certificate"].as<std::string>(), "CERTIFICATE"), o.time);
  std::cout << "cross-certificate from " << pair.bridge << " imported (serial " << pair.issued_to_us_serial.hex()
            << "); 'publish' writes the crossCertificatePair\n";
}

// Evidence of the lost signer found after the restore (a medium from a branch office, a relay's
// archive recovered later): the same reconciliation as restore's, on the running CA, then every
// list again, so revocations it proves are on the next lists at once.
void cmd_reconcile(const po::variables_map& vm) {
  Opened o(vm, KeyOperation{"taking in the lost signer's evidence"});
  std::vector<fs::path> evidence;
  for (const std::string& d : vm["evidence"].as<std::vector<std::string>>()) evidence.emplace_back(d);
  const Reconciliation r = Reconciliation::examine(o.store, evidence, [](const std::string& line) { std::cerr << line << "\n"; });
  if (!r.found_anything()) throw PolicyError("no result bundle (*.hkb), list (*.crl) or archive volume of this CA in the evidence folder(s)");
  constexpr std::uint64_t kMargin = 1;  // the CA runs here now: its own numbers are known
  std::cerr << r.summary(kMargin);
  approve(vm, "Take in this evidence and sign every list again?", "reconcile");
  CaKeys keys = open_keys(o.store, vm);
  {
    sql::Transaction txn(o.store.db());
    r.apply(o.store, kMargin);
    if (const std::string missing = r.missing_sequences(); !missing.empty()) {
      o.store.set_follow_up("restore-evidence", "evidence taken in on " + pki::format_time(o.time) + " lacks result bundles " + missing +
                                                    " of the lost signer: what they carried is unknown to this CA");
    } else {
      o.store.clear_follow_up("restore-evidence");
    }
    o.ca.audit("evidence.reconcile", r.audit_details(kMargin), o.time);
    o.store.record_time(o.time);
    txn.commit();
  }
  const auto lists = o.ca.make_lists(o.ca.all_scopes(), o.time, o.time, keys.signer_for());
  std::cout << "evidence taken in: " << r.audit_details(kMargin) << "\nsigned " << lists.size() << " lists:\n";
  print_lists(lists);
  if (vm.count("out-dir")) write_lists(lists, vm["out-dir"].as<std::string>());
  checkpoint(o, keys);
}

void cmd_revoke(const po::variables_map& vm) {
  Opened o(vm);
  const pki::Serial serial = pki::Serial::from_hex(vm["serial"].as<std::string>());
  const pki::ReasonCode reason = check_revocation_reason(vm["reason"].as<std::string>());
  std::optional<pki::Time> invalidity;
  if (vm.count("invalidity-date")) invalidity = pki::parse_time_text(vm["invalidity-date"].as<std::string>());
  // Open the token first: a wrong PIN must not leave a revocation without its lists.
  CaKeys keys = open_keys(o.store, vm);
  const std::vector<std::string> scopes = o.ca.revoke(serial, reason, o.time, invalidity);
  std::cout << "revoked " << serial.hex() << " (" << pki::reason_name(reason) << "); new lists at once (R21):\n";
  const auto lists = o.ca.make_lists(scopes, o.time, o.time, keys.signer_for());
  print_lists(lists);
  checkpoint(o, keys);
  if (vm.count("out-dir")) write_lists(lists, vm["out-dir"].as<std::string>());
}

void cmd_crl(const po::variables_map& vm) {
  Opened o(vm);
  CaKeys keys = open_keys(o.store, vm);
  std::vector<std::string> scopes = vm.count("scope") ? vm["scope"].as<std::vector<std::string>>() : o.ca.all_scopes();
  const auto lists = o.ca.make_lists(scopes, o.time, o.time, keys.signer_for());
  std::cout << "signed " << lists.size() << " lists:\n";
  print_lists(lists);
  const fs::path out = vm["out-dir"].as<std::string>();
  write_lists(lists, out);
  const int days = vm["schedule"].as<int>();
  if (days > 0) {
    // Pre-signed lists for the coming days (each its own thisUpdate and number): the relay
    // releases each when due; a later revocation supersedes the rest with higher numbers.
    std::cout << "pre-signing " << days << " days of lists:\n";
    for (int day = 1; day <= days; ++day) {
      const pki::Time at = o.time + std::chrono::hours(o.store.config().crl_interval_hours * day);
      const auto future = o.ca.make_lists(scopes, at, o.time, keys.signer_for());
      fs::create_directories(out / "schedule");
      for (const StoredCrl& l : future) {
        write_file_atomic(out / "schedule" / (l.scope + "-" + std::to_string(l.number) + ".crl"), l.der);
      }
      print_lists(future);
    }
  }
  checkpoint(o, keys);
}

// The token key type of a CA key, so a rollover keeps the algorithm unless told otherwise.
std::string key_type_of(const pki::PublicKey& key) {
  if (key.algorithm == pki::KeyAlgorithm::kRsa) return "rsa" + std::to_string(key.bits);
  return "p" + std::to_string(key.bits);
}

void cmd_rollover(const po::variables_map& vm) {
  const std::string label = vm["new-key-label"].as<std::string>();
  std::optional<std::string> key_type_name;
  if (vm.count("key-type")) key_type_name = vm["key-type"].as<std::string>();
  if (key_type_name && !hsm::parse_key_type(*key_type_name)) throw UsageError("unknown key type '" + *key_type_name + "'");
  Opened o(vm, KeyOperation{"a key rollover"});
  const KeyGeneration old_generation = o.store.current_generation();
  const pki::PublicKey old_key = pki::parse_certificate(old_generation.certificate).value().public_key;
  if (!key_type_name) key_type_name = key_type_of(old_key);
  const auto key_type = hsm::parse_key_type(*key_type_name);
  if (!key_type) throw UsageError("the current key is " + old_key.description() + "; name the new one with --key-type");
  std::cout << "rollover: generation " << old_generation.number << " " << old_key.description() << " '" << old_generation.key_label
            << "' -> generation " << old_generation.number + 1 << " " << *key_type_name << " '" << label << "'"
            << (vm.count("key-type") ? "" : " (the same algorithm; --key-type changes it)") << "\n";
  if (vm.count("dry-run")) {
    std::cout << "would sign: a self-signed certificate for the new key, NewWithOld (new key, signed by the old) and\n"
              << "OldWithNew (old key, signed by the new), then every list of generation " << old_generation.number + 1
              << "; nothing was generated or signed (--dry-run)\n";
    return;
  }
  CaKeys keys = open_keys(o.store, vm, true);
  pki::Signer& old_signer = keys.signer(old_generation);  // refuses when the old key is missing
  // The new key can be backed up exactly when the old one could (init --backup).
  const hsm::KeyBackup backup = keys.session().backup_allowed(keys.session().key_pair(old_generation.key_label))
                                    ? hsm::KeyBackup::kWrapWithTrustedOnly
                                    : hsm::KeyBackup::kNever;
  hsm::KeyPair key = keys.session().generate_key_pair(*key_type, label, backup);
  try {
    const pki::PublicKey public_key = pki::parse_public_key(keys.session().public_key_info(key));
    hsm::PkiSigner new_signer(keys.session(), key, pki::default_signature_algorithm(public_key));
    CryptoPP::AutoSeededRandomPool rng;
    const Ca::Rollover r = o.ca.rollover(label, old_signer, new_signer, o.time, rng);
    const pki::Certificate cert = pki::parse_certificate(r.self_signed).value();
    std::cout << "rolled over to generation " << r.generation << " (key '" << label << "', " << public_key.description() << ")\n"
              << "  new CA certificate SHA-256 " << fingerprint(cert.fingerprint_sha256()) << "\n"
              << "  link certificates NewWithOld and OldWithNew valid until "
              << pki::format_time(pki::parse_certificate(r.new_with_old)->not_after) << "\n"
              << "from now on every certificate is signed with the new key (R11)\n";
    checkpoint(o, keys);
  } catch (...) {
    keys.session().destroy_key_pair(key);
    throw;
  }
}

void cmd_compromise(const po::variables_map& vm) {
  const int generation = vm["generation"].as<int>();
  if (vm.count("dry-run")) {
    CaStore store(vm["state"].as<std::string>());
    const KeyGeneration g = store.generation(generation);
    std::cout << "would revoke " << store.count_certificates(generation, false) << " valid certificates of generation " << generation
              << " (key '" << g.key_label << "') as cACompromise, sign the final lists and refuse the key from then on;\n"
              << "nothing was revoked or signed (--dry-run)\n";
    return;
  }
  if (!vm.count("confirm") || vm["confirm"].as<std::string>() != "compromise") {
    throw UsageError("the compromise procedure revokes every certificate of generation " + std::to_string(generation) +
                     " and retires its key for good; confirm with --confirm compromise (--dry-run shows what it would do)");
  }
  Opened o(vm, KeyOperation{"the compromise procedure"});
  CaKeys keys = open_keys(o.store, vm);
  const std::vector<std::string> scopes = o.ca.compromise(generation, o.time);
  std::cout << "every certificate of generation " << generation << " revoked (cACompromise); final lists:\n";
  const auto lists = o.ca.make_lists(scopes, o.time, o.time, keys.signer_for());
  print_lists(lists);
  write_lists(lists, vm["out-dir"].as<std::string>());
  sql::Transaction txn(o.store.db());
  o.store.set_generation_status(generation, GenerationStatus::kCompromised);
  txn.commit();
  checkpoint(o, keys);
  std::cout << "key of generation " << generation << " marked compromised: it signs nothing more.\n"
            << "Publish the lists now and notify the Bridge CA (R25).\n";
}

void cmd_terminate(const po::variables_map& vm) {
  Opened o(vm, KeyOperation{"terminating the CA"});
  if (vm["confirm"].as<std::string>() != "terminate") {
    throw UsageError("termination revokes every certificate; confirm with --confirm terminate");
  }
  CaKeys keys = open_keys(o.store, vm);
  const auto scopes = o.ca.terminate(o.time);
  const auto lists = o.ca.make_lists(scopes, o.time, o.time, keys.signer_for());
  std::cout << "CA terminated: every certificate revoked (cessationOfOperation). Keep signing lists with\n"
            << "'hanko-offline crl' until the last certificate expires (R26).\n";
  print_lists(lists);
  write_lists(lists, vm["out-dir"].as<std::string>());
  checkpoint(o, keys);
}

// "2026-12-04T20:06:13Z" as the text output shows times: "2026-12-04 20:06:13 UTC".
std::string readable_time(const std::string& rfc3339) {
  if (rfc3339.size() != 20) return rfc3339;
  return rfc3339.substr(0, 10) + " " + rfc3339.substr(11, 8) + " UTC";
}

// The text of 'status', from the same object --json prints; `signed_copy`: the public status read
// without the PIN (public-status.json), whose facts date from when it was written.
void print_status_text(const nlohmann::ordered_json& j, bool signed_copy) {
  const std::string key = j.value("database_key", "");
  std::cout << "CA state " << j.value("state", "?") << (j.value("terminated", false) ? " (TERMINATED)" : "") << "\n";
  if (signed_copy) {
    std::cout << "  public status signed by the audit key at " << readable_time(j.value("written_at", "?"))
              << "\n  (the database is encrypted (R42) and stays closed without the PIN)\n";
  }
  std::cout << "  token " << j.value("token", "?") << " via " << j.value("module", "?") << "\n"
            << "  identity " << j.value("identity", "?") << " (pin it with --expect-ca)\n"
            << "  database "
            << (key.empty() ? "not encrypted (R42 asks for encryption: restore a backup with --encrypt-database)"
                            : "encrypted under token key '" + key + "' (R42)")
            << "\n";
  for (const auto& g : j["generations"]) {
    std::cout << "  generation " << g.value("number", 0) << " [" << g.value("status", "?") << "] key '" << g.value("key_label", "?") << "' "
              << g.value("key", "?") << ", valid to " << readable_time(g.value("not_after", "?")) << "\n    certificates "
              << g.value("certificates", 0) << ", revoked " << g.value("revoked", 0) << ", partitions " << g.value("partitions", 0) << "\n";
  }
  for (const auto& l : j["lists"]) {
    std::cout << "  list " << l.value("scope", "?") << " #" << l.value("number", 0);
    if (l.contains("next_number")) std::cout << " (the next is #" << l.value("next_number", 0) << ")";
    std::cout << " next due " << readable_time(l.value("next_due", "?"))
              << ", expires " << readable_time(l.value("next_update", "?")) << "\n";
  }
  for (const auto& w : j["warnings"]) std::cout << "  WARNING: " << w.get<std::string>() << "\n";
}

// 'status' of an encrypted CA without the PIN: the signed public status, checked with the audit
// key's public half (audit.spki, clear in the state folder).
void print_public_status(const fs::path& dir, bool json) {
  if (!fs::exists(dir / "public-status.json")) {
    throw PolicyError("the CA database is encrypted (R42) and no signed public status was written yet; give the PIN (--pin-fd) or the "
                      "custodians' --share files");
  }
  const std::string text = read_text_file(dir / "public-status.json", 1 << 20);
  const Bytes signature = read_file(dir / "public-status.sig", 1 << 16);
  const pki::PublicKey audit = pki::parse_public_key(read_file(dir / "audit.spki", 1 << 16));
  const BytesView bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  if (!pki::verify_signature(audit, pki::default_signature_algorithm(audit), bytes, signature)) {
    throw PolicyError("public-status.json in '" + dir.string() + "' does not verify with the audit key (audit.spki): changed or "
                      "damaged; open the database with the PIN for the real status");
  }
  if (json) {
    std::cout << text;
    return;
  }
  print_status_text(nlohmann::ordered_json::parse(text), true);
}

void cmd_status(const po::variables_map& vm) {
  {
    const fs::path dir = vm["state"].as<std::string>();
    const CaConfig config = CaConfig::parse(read_text_file(dir / "ca.conf", 1 << 20));
    const bool no_pin = !vm.count("pin-fd") && !vm.count("share") && !::isatty(STDIN_FILENO);
    if (!config.database_key.empty() && (vm.count("public") || no_pin)) return print_public_status(dir, vm.count("json") > 0);
  }
  CaStore store(vm["state"].as<std::string>());
  Ca ca(store, load_profiles(store));
  const pki::Time time = now();
  if (vm.count("json")) {
    std::cout << status_object(store, ca, time).dump(2) << "\n";
    return;
  }
  print_status_text(status_object(store, ca, time), false);
}

// The transport key (R4: not the CA key) as a signer, for result bundles and the fingerprints page.
hsm::PkiSigner transport_signer(CaStore& store, CaKeys& keys) {
  if (store.config().transport_key.empty()) {
    throw UsageError("ca.conf names no transport_key to sign result bundles; create one with 'bundle-key' and add it");
  }
  hsm::Session& session = keys.session();
  const hsm::KeyPair key = session.key_pair(store.config().transport_key);
  const pki::PublicKey public_key = pki::parse_public_key(session.public_key_info(key));
  return hsm::PkiSigner(session, key, pki::default_signature_algorithm(public_key));
}

// The repository files with the fingerprints page signed by the transport key, whose certificate
// is issued first if none is valid long enough (audited).
std::vector<RepositoryFile> signed_repository(Opened& o, CaKeys& keys, hsm::PkiSigner& transport) {
  const pki::Certificate certificate =
      repository_signer_certificate(o.ca, transport.public_key(), keys.signer(o.store.current_generation()), o.time);
  return signed_repository_files(o.store, transport, certificate, o.time);
}

void cmd_publish(const po::variables_map& vm) {
  const fs::path out = vm["out-dir"].as<std::string>();
  std::optional<Opened> opened;
  std::optional<CaStore> plain;
  std::vector<RepositoryFile> files;
  std::optional<CaKeys> keys;
  if (vm.count("sign")) {
    // Signing may certify the transport key first (R4: the CA's own equipment): audited.
    opened.emplace(vm);
    keys.emplace(open_keys(opened->store, vm));
    hsm::PkiSigner transport = transport_signer(opened->store, *keys);
    files = signed_repository(*opened, *keys, transport);
  } else {
    plain.emplace(vm["state"].as<std::string>());
    files = repository_files(*plain);
  }
  CaStore& store = opened ? opened->store : *plain;
  fs::create_directories(out);
  for (const NamedCertificate& c : ca_and_link_certificates(store)) write_file_atomic(out / c.name, c.der);
  write_file_atomic(out / "ca.crt", store.current_generation().certificate);
  for (const CertificateRecord& r : store.certificates_of_kind(CertificateKind::kCross)) {
    write_file_atomic(out / ("cross-" + r.serial.hex() + ".crt"), r.der);
  }
  for (const CrossPair& pair : store.cross_pairs()) {
    write_file_atomic(out / ("crossCertificatePair-" + pair.issued_to_us_serial.hex() + ".der"), encode_certificate_pair(pair));
  }
  write_lists(store.latest_crls(now()), out);  // pre-signed lists wait in schedule/ until their time
  for (const RepositoryFile& f : files) write_file_atomic(out / f.name, f.content);
  if (opened) checkpoint(*opened, *keys);
  std::cout << "repository written to " << out.string()
            << (opened ? " (fingerprints page signed)" : " (fingerprints page not signed: --sign signs it with the transport key)") << "\n";
}

// R50/R41: a role nobody holds (after a restore, or when its holder leaves) is enrolled under the
// custodians' quorum (the token's PIN) and, while both roles are held, by the security officer with
// a manager's approval; when one of them is missing, the quorum alone is what remains, and the
// audit log says so.
void cmd_role_enrol(const po::variables_map& vm) {
  Opened o(vm);
  const std::string name = vm["person"].as<std::string>();
  if (name.empty() || name.size() > 64 || name.find_first_of("\t\n\r") != std::string::npos) {
    throw UsageError("--person must be a name of 1-64 characters without tabs or line breaks");
  }
  std::vector<Role> roles;
  for (const std::string& r : vm["role"].as<std::vector<std::string>>()) {
    const std::optional<Role> role = parse_role(r);
    if (!role || *role == Role::kCustodian) {
      throw UsageError("'" + r + "' is not a role to enrol (ca-admin, ra-operator, auditor, security-officer, manager, witness; "
                       "custodians receive shares: shares-reissue)");
    }
    if (std::find(roles.begin(), roles.end(), *role) == roles.end()) roles.push_back(*role);
  }
  PeopleRegistry registry(o.store.db());
  const std::vector<Person> everyone = registry.list();
  const auto held = [&](Role r) { return std::any_of(everyone.begin(), everyone.end(), [&](const Person& p) { return p.holds(r); }); };
  const std::optional<Person> existing = registry.find(name);
  if (existing && !vm.count("replace")) {
    throw PolicyError(name + " is already registered as " + roles_text(existing->roles) + "; to change their roles or passphrase, add --replace");
  }
  check_separation_of_duties(name, roles);
  std::string actor;
  if (held(Role::kSecurityOfficer) && held(Role::kManager)) {
    actor = authorize(o.store, vm, Role::kSecurityOfficer, "enrolling a role holder");
  } else {
    actor = operator_of(vm) + " with the custodians' quorum alone (nobody held the role of " +
            (held(Role::kSecurityOfficer) ? "operations manager" : "security officer") + ")";
  }
  // The custodians' quorum opens the token: without it nobody is enrolled.
  CaKeys keys = open_keys(o.store, vm);
  const std::string prompt = "New passphrase of " + name + ": ";
  hsm::Secret passphrase = obtain_new_secret(vm, "new-passphrase-fd", prompt.c_str());
  check_passphrase_rule(passphrase.view(), name);
  CryptoPP::AutoSeededRandomPool rng;
  Bytes salt(16);
  rng.GenerateBlock(salt.data(), salt.size());
  const Credential credential = Credential::make(passphrase, salt);
  {
    sql::Transaction txn(o.store.db());
    registry.enrol(name, roles, credential, o.time);
    o.store.audit().append({"role.enrol", "success", actor, "security officer",
                            name + " as " + roles_text(roles) + (existing ? " (replacing " + roles_text(existing->roles) + ")" : "")},
                           o.time);
    o.store.record_time(o.time);
    txn.commit();
  }
  checkpoint(o, keys);
  std::cout << name << " enrolled as " << roles_text(roles) << (existing ? " (was " + roles_text(existing->roles) + ")" : "") << "\n";
}

void cmd_ra_register(const po::variables_map& vm) {
  Opened o(vm);
  const std::string name = vm["name"].as<std::string>();
  // Once people are registered, an RA key belongs to a registered RA operator, and registering
  // it is a role change the security officer makes with a manager's approval (R50, R51).
  {
    PeopleRegistry registry(o.store.db());
    if (!registry.list().empty()) {
      const auto person = registry.find(name);
      if (!person || !person->holds(Role::kRaOperator)) {
        throw PolicyError("'" + name + "' is " + (person ? roles_text(person->roles) : std::string("not registered")) +
                          "; only a registered RA operator's key may sign issuance and revocation requests (R50)");
      }
      o.ca.set_actor(authorize(o.store, vm, Role::kSecurityOfficer, "registering an RA operator's key"), "security officer");
    }
  }
  const Bytes spki = read_der_or_pem(vm["key"].as<std::string>(), "PUBLIC KEY");
  const pki::PublicKey key = pki::parse_public_key(spki);
  if (o.store.ra_key(name)) throw PolicyError("RA operator '" + name + "' is already registered");
  sql::Transaction txn(o.store.db());
  o.store.register_ra_key(name, spki, o.time);
  o.ca.audit("role.register", "RA operator '" + name + "' with key " + to_hex(pki::digest(pki::HashAlgorithm::kSha256, spki)), o.time);
  o.store.record_time(o.time);
  txn.commit();
  std::cout << "RA operator '" << name << "' registered with " << key.description() << " key "
            << to_hex(pki::digest(pki::HashAlgorithm::kSha256, spki), ':').substr(0, 47) << "...\n";
}

// The operator approves what the summary shows: on the terminal, or with --yes in a script.
// The request batch inside a request bundle signed by a trusted relay key, or a bare batch file.
Bytes request_batch_bytes(const po::variables_map& vm) {
  const std::string path = vm["in"].as<std::string>();
  Bytes der = read_file(path, transfer::kMaxBatchBytes);
  const auto bundle = transfer::parse_bundle(der);
  if (!bundle) {
    try {
      transfer::parse_request_batch(der);
    } catch (const pki::ParseError& e) {
      throw PolicyError("'" + path + "' is refused: neither a request bundle [" + std::string(transfer::error_id_name(bundle.error())) +
                        ": " + bundle.message() + "] nor a bare request batch [" + std::string(pki::error_id_name(e.id())) + ": " + e.what() + "]");
    }
    std::cerr << "note: '" << path << "' is a bare batch, not a signed bundle; only the RA signatures on its items are checked\n";
    return der;
  }
  std::vector<pki::PublicKey> trusted;
  if (vm.count("trust")) {
    for (const std::string& t : vm["trust"].as<std::vector<std::string>>()) trusted.push_back(pki::parse_public_key(read_der_or_pem(t, "PUBLIC KEY")));
  }
  if (trusted.empty()) throw UsageError("'" + path + "' is a bundle: name the relay's transport key with --trust");
  const auto opened = transfer::open_bundle(der, trusted);
  if (!opened) {
    throw PolicyError("request bundle '" + path + "' refused [" + std::string(transfer::error_id_name(opened.error())) + "]: " + opened.message());
  }
  if (opened->direction != transfer::Direction::kRequest) throw PolicyError("'" + path + "' is a result bundle, not a request");
  for (std::size_t i = 0; i < opened->manifest.size(); ++i) {
    if (opened->manifest[i].name == "request-batch.der") return opened->parts[i];
  }
  throw PolicyError("request bundle '" + path + "' holds no part named request-batch.der");
}

// The result bundle: the result batch and what the repository needs (CA, link and cross
// certificates, the newest lists), signed with the transport key.
Bytes result_bundle(CaStore& store, pki::Signer& transport, const transfer::ResultBatch& result, const std::vector<RepositoryFile>& published,
                    pki::Time now) {
  std::vector<transfer::Part> parts;
  parts.push_back({"result-batch.der", "application/vnd.hanko.result-batch", transfer::encode_result_batch(result)});
  for (const NamedCertificate& c : ca_and_link_certificates(store)) parts.push_back({c.name, "application/pkix-cert", c.der});
  for (const StoredCrl& l : store.latest_crls(now)) parts.push_back({l.scope + ".crl", "application/pkix-crl", l.der});
  // The signed fingerprints page and the certificate bundle, for the relay to publish (R18).
  for (const RepositoryFile& f : published) parts.push_back({f.name, f.media_type, f.content});
  // The newest audit checkpoint leaves with the results: the relay keeps an outside copy (R41).
  if (const auto checkpoints = store.audit().checkpoints(); !checkpoints.empty()) {
    parts.push_back({"audit-checkpoint.der", "application/vnd.hanko.audit-checkpoint", checkpoints.back().der});
  }
  std::sort(parts.begin(), parts.end(), [](const transfer::Part& a, const transfer::Part& b) { return a.name < b.name; });
  CryptoPP::AutoSeededRandomPool rng;
  return transfer::sign_bundle(transfer::make_bundle(transfer::random_bundle_id(rng), transfer::Direction::kResult,
                                                     store.next_result_sequence(), now, std::move(parts)),
                               transport);
}

void cmd_batch(const po::variables_map& vm) {
  Opened o(vm);
  const Bytes der = request_batch_bytes(vm);
  transfer::RequestBatch batch;
  try {
    batch = transfer::parse_request_batch(der);
  } catch (const pki::ParseError& e) {
    throw PolicyError("request batch '" + vm["in"].as<std::string>() + "' refused whole [" +
                      std::string(pki::error_id_name(e.id())) + "]: " + e.what());
  }
  CryptoPP::AutoSeededRandomPool rng;
  Ca::BatchPlan plan = o.ca.plan_batch(batch, der, o.time, rng);
  std::cerr << plan.summary;
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : "";
  const std::string out_bundle = vm.count("out-bundle") ? vm["out-bundle"].as<std::string>() : "";
  if (out.empty() && out_bundle.empty()) throw UsageError("give --out (result batch) or --out-bundle (signed result bundle)");
  for (const std::string& f : {out, out_bundle}) {
    if (!f.empty() && std::filesystem::exists(f)) throw UsageError("'" + f + "' exists; results are never overwritten");
  }
  approve(vm, "Sign " + std::to_string(plan.certificates.size()) + " certificates and " +
                  std::to_string(plan.revocations.size()) + " revocations?");
  CaKeys keys = open_keys(o.store, vm);
  const KeyGeneration generation = o.store.current_generation();
  // A result bundle carries the signed fingerprints page; its certificate is settled before the
  // batch is signed, so nothing after the batch can fail for want of it.
  std::optional<hsm::PkiSigner> transport;
  std::vector<RepositoryFile> published;  // a batch changes no CA certificate: signed before it
  if (!out_bundle.empty()) {
    transport.emplace(transport_signer(o.store, keys));
    published = signed_repository(o, keys, *transport);
  }
  std::vector<pki::Signer*> signers{&keys.signer(generation)};
  for (int i = 1; i < vm["sessions"].as<int>(); ++i) signers.push_back(&keys.extra_signer(generation));
  const auto started = std::chrono::steady_clock::now();
  const transfer::ResultBatch result = o.ca.execute_batch(plan, signers, o.time, keys.signer_for());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  checkpoint(o, keys);
  try {
    if (!out.empty()) write_new_file(out, transfer::encode_result_batch(result));
    if (!out_bundle.empty()) write_new_file(out_bundle, result_bundle(o.store, *transport, result, published, o.time));
  } catch (const std::exception& e) {
    throw FileError(std::string(e.what()) + ". The batch IS signed and recorded; once the medium is fixed, write its results again: "
                    "hanko-offline batch-results --state " + o.store.dir().string() + " --batch-id " + to_hex(batch.batch_id) +
                    (out_bundle.empty() ? " --out FILE" : " --out-bundle FILE"));
  }
  std::cout << "batch " << to_hex(batch.batch_id) << ": " << plan.certificates.size() << " issued, "
            << plan.revocations.size() << " revoked, " << plan.refused << " refused, " << result.lists.size()
            << " lists, in " << seconds << " s -> " << (out.empty() ? out_bundle : out) << "\n";
}

// Results lost on the way out (the USB disk full or pulled, a crash after the commit): the
// batch is never signed twice, but what it produced is written again from the database.
void cmd_batch_results(const po::variables_map& vm) {
  Opened o(vm);
  std::string id = vm["batch-id"].as<std::string>();
  std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : "";
  const std::string out_bundle = vm.count("out-bundle") ? vm["out-bundle"].as<std::string>() : "";
  if (out.empty() && out_bundle.empty()) throw UsageError("give --out (result batch) or --out-bundle (signed result bundle)");
  for (const std::string& f : {out, out_bundle}) {
    if (!f.empty() && std::filesystem::exists(f)) throw UsageError("'" + f + "' exists; results are never overwritten");
  }
  const std::optional<Bytes> der = o.store.batch_result(id);
  if (!der) {
    throw PolicyError(o.store.batch_seen(id) ? "batch " + id + " was processed, but its results were not kept (processed by an older version, "
                                                                 "or interrupted before its lists were signed); its certificates are in the database"
                                             : "this CA processed no batch " + id + "; check the id (hexadecimal, as 'batch' printed it)");
  }
  const transfer::ResultBatch result = transfer::parse_result_batch(*der);
  std::size_t issued = 0;
  for (const transfer::ItemResult& r : result.results) issued += r.status == transfer::ItemStatus::kIssued;
  if (!out.empty()) write_new_file(out, *der);
  if (!out_bundle.empty()) {
    CaKeys keys = open_keys(o.store, vm);
    hsm::PkiSigner transport = transport_signer(o.store, keys);
    const std::vector<RepositoryFile> published = signed_repository(o, keys, transport);
    {
      sql::Transaction txn(o.store.db());
      o.ca.audit("batch.results", "results of batch " + id + " written again", o.time);
      txn.commit();
    }
    checkpoint(o, keys);
    write_new_file(out_bundle, result_bundle(o.store, transport, result, published, o.time));
  }
  std::cout << "batch " << id << ": " << result.results.size() << " results (" << issued << " issued), " << result.lists.size()
            << " lists, written again -> " << (out_bundle.empty() ? out : out_bundle) << "\n";
}

std::vector<AuditCheckpoint> exported_checkpoints(const po::variables_map& vm) {
  std::vector<AuditCheckpoint> out;
  if (!vm.count("checkpoint")) return out;
  for (const std::string& f : vm["checkpoint"].as<std::vector<std::string>>()) {
    try {
      out.push_back(AuditLog::parse_checkpoint(read_file(f, 1 << 16)));
    } catch (const pki::ParseError& e) {
      throw PolicyError("checkpoint '" + f + "' is damaged: " + e.what());
    }
  }
  return out;
}

void cmd_audit_verify(const po::variables_map& vm) {
  CaStore store(vm["state"].as<std::string>());
  const std::string inspector = authenticate(store, vm, Role::kAuditor, "verifying the audit log");
  const pki::Time time = now();
  const pki::PublicKey key = pki::parse_public_key(read_der_or_pem(vm.count("audit-key") ? vm["audit-key"].as<std::string>()
                                                                                         : (store.dir() / "audit.spki").string(),
                                                                   "PUBLIC KEY"));
  const AuditLog::Verification v = store.audit().verify(key, exported_checkpoints(vm));
  // Verifying the log is itself an audited event (R40).
  store.audit().append({"audit.verify", v.ok ? "success" : "failure", inspector, "log inspector",
                        v.ok ? std::to_string(v.entries) + " entries, " + std::to_string(v.checkpoints) + " checkpoints" : v.problem},
                       time);
  if (!v.ok) throw PolicyError("the audit log does NOT verify: " + v.problem);
  std::cout << "audit log verifies: " << v.entries << " entries, " << v.checkpoints << " signed checkpoints\n";
}

void cmd_audit_export(const po::variables_map& vm) {
  CaStore store(vm["state"].as<std::string>());
  const std::string inspector = authenticate(store, vm, Role::kAuditor, "reading the audit log");
  const fs::path out = vm["out-dir"].as<std::string>();
  fs::create_directories(out / "checkpoints");
  std::string text = "# sequence\ttime\ttype\tresult\tactor\trole\tsystem\tdetails\tprevious_hash\thash\n";
  const auto clean = [](std::string v) {
    for (char& c : v) {
      if (c == '\t' || c == '\n') c = ' ';
    }
    return v;
  };
  for (const AuditEntry& e : store.audit().entries()) {
    text += std::to_string(e.sequence) + "\t" + pki::format_time(e.time) + "\t" + clean(e.event.type) + "\t" + clean(e.event.result) + "\t" +
            clean(e.event.actor) + "\t" + clean(e.event.role) + "\t" + clean(e.system) + "\t" + clean(e.event.details) + "\t" +
            to_hex(e.previous_hash) + "\t" + to_hex(e.hash) + "\n";
  }
  write_file_atomic(out / "audit.tsv", view(text), 0600);
  for (const AuditCheckpoint& c : store.audit().checkpoints()) {
    write_file_atomic(out / "checkpoints" / ("checkpoint-" + std::to_string(c.sequence) + ".der"), c.der);
  }
  write_file_atomic(out / "audit.spki", read_file(store.dir() / "audit.spki"));
  store.audit().append({"audit.export", "success", inspector, "log inspector", "exported to " + out.string()}, now());
  std::cout << "audit log exported to " << out.string() << "\n";
}

// Reads profiles.conf and ca.conf, both reviewed clear text, so neither the token nor the
// database is opened: anyone reviewing the CA can see what each certificate will contain.
void cmd_profiles(const po::variables_map& vm) {
  const fs::path dir = vm["state"].as<std::string>();
  const CaConfig config = CaConfig::parse(read_text_file(dir / "ca.conf", 1 << 20));
  const std::vector<Profile> profiles = parse_profiles(read_text_file(dir / "profiles.conf", 1 << 20));
  const std::string crl = config.crl_urls.empty() ? "(no --crl-url: none)" : config.crl_urls.front();
  for (const Profile& p : profiles) {
    std::cout << p.name << ": " << p.validity_text() << (p.cross_certificate ? ", cross-certificate (R13)" : "") << "\n";
    std::cout << "  keys           RSA of " << p.min_rsa_bits << " bits or more";
    if (!p.allowed_curves.empty()) {
      std::cout << "; EC on";
      for (const pki::Oid& c : p.allowed_curves) std::cout << " " << pki::display_name(c);
    }
    std::cout << "\n";
    if (p.cross_certificate) {
      std::cout << "  basicConstraints  critical, CA" << (p.path_length ? ", pathLen " + std::to_string(*p.path_length) : "") << "\n"
                << "  keyUsage       critical, keyCertSign, cRLSign\n"
                << "  policyMappings from --policy-mapping, critical\n"
                << "  cRLDistributionPoints  the ARL: " << crl << "\n";
    } else {
      std::cout << "  keyUsage       critical, " << pki::key_usage::describe(p.key_usage) << "\n";
      if (!p.extended_key_usage.empty()) {
        std::cout << "  extKeyUsage   ";
        for (const pki::Oid& o : p.extended_key_usage) std::cout << " " << pki::display_name(o);
        std::cout << "\n";
      }
      std::cout << "  subjectAltName "
                << (p.subject_alt_name == SubjectAltNameSource::kJpkiBasicFour ? "the basic four as otherNames (R14; see 'issue --help')"
                    : p.subject_alt_name == SubjectAltNameSource::kFromRequest ? "as requested in the CSR"
                                                                              : "none")
                << "\n"
                << "  cRLDistributionPoints  the certificate's partition: " << crl << "\n";
      if (!config.ocsp_url.empty()) std::cout << "  authorityInfoAccess  OCSP " << config.ocsp_url << "\n";
      if (!config.ca_issuers_url.empty()) std::cout << "  authorityInfoAccess  caIssuers " << config.ca_issuers_url << "\n";
      if (p.ocsp_no_check) std::cout << "  ocspNoCheck    (the responder's own certificate is not checked by OCSP)\n";
    }
    std::cout << "  subjectKeyIdentifier, authorityKeyIdentifier  SHA-1 of the key (RFC 5280 4.2.1.2 method 1)\n";
    if (!config.policy_oid.empty()) {
      std::cout << "  certificatePolicies  " << config.policy_oid << (config.cps_url.empty() ? "" : ", CPS " + config.cps_url) << "\n";
    }
  }
}


void add_request_options(po::options_description& o) {
  o.add_options()("csr", po::value<std::string>()->required(), "PKCS#10 request (DER or PEM)")(
      "out", po::value<std::string>()->required(), "where to write the certificate (DER; never overwritten)")(
      "pem", "write the certificate as PEM instead of DER")(
      "partition", po::value<std::string>(), "named CRL partition (e.g. a municipality code); default by size")(
      "jpki-name", po::value<std::string>(), "basic four: name (UTF-8)")(
      "jpki-birth", po::value<std::string>(), "basic four: date of birth, YYYYMMDD")(
      "jpki-gender", po::value<std::string>(), "basic four: gender code, 1 (male) or 2 (female)")(
      "jpki-address", po::value<std::string>(), "basic four: address (UTF-8)")(
      "jpki-name-substituted", po::value<std::string>(), "1 when substitute characters are used in the name, else 0")(
      "jpki-address-substituted", po::value<std::string>(), "1 when substitute characters are used in the address, else 0")(
      "policy-mapping", po::value<std::vector<std::string>>(), "cross-certificates: ISSUER_POLICY:SUBJECT_POLICY; repeatable");
}

// A refused or failed command is an event too (R40): recorded when the state can be opened.
void record_refusal(const po::variables_map& vm, const std::string& command, const std::string& what) {
  if (!vm.count("state") || !fs::exists(fs::path(vm["state"].as<std::string>()) / "ca.db")) return;
  try {
    CaStore store(vm["state"].as<std::string>());
    store.audit().append({"command." + command, "refused", operator_of(vm), "CA administrator", what}, now());
  } catch (const std::exception&) {
    // The state itself is the problem (damaged, locked): the error reaches the operator anyway.
  }
}

std::vector<Command> audited(std::vector<Command> commands) {
  for (Command& c : commands) {
    if (std::string(c.name) == "init") continue;
    c.run = [run = c.run, name = std::string(c.name)](const po::variables_map& vm) {
      try {
        run(vm);
      } catch (const std::exception& e) {
        record_refusal(vm, name, e.what());
        throw;
      }
    };
  }
  return commands;
}

}  // namespace

std::vector<Command> ca_commands() {
  return audited({
      {"init", "create a CA: key pair in the token and a self-signed certificate",
       [](po::options_description& o) {
         add_module_option(o);
         add_pin_option(o);
         o.add_options()("state", po::value<std::string>()->required(), "new CA state folder")(
             "token", po::value<std::string>()->required(), "token label")(
             "key-label", po::value<std::string>()->required(), "label of the new CA key")(
             "key-type", po::value<std::string>()->default_value("rsa2048"), "rsa2048, rsa3072, rsa4096, p256 or p384")(
             "subject", po::value<std::string>()->required(), "CA name, e.g. /C=JP/O=Example/CN=Example Root CA")(
             "years", po::value<int>()->default_value(10), "validity of the self-signed certificate (R10)")(
             "algorithm", po::value<std::string>(), "signature algorithm (default: by key type)")(
             "crl-url", po::value<std::vector<std::string>>(), "CRL URL template, '{scope}' = list name (e.g. g1-CRL1); repeatable")(
             "ocsp-url", po::value<std::string>(), "OCSP responder URL for authorityInfoAccess")(
             "ca-issuers-url", po::value<std::string>(),
             "URL of the issuing CA certificate for authorityInfoAccess caIssuers; '{generation}' = the issuing key generation, "
             "e.g. http://repo.example.jp/ca-g{generation}.crt")(
             "policy-oid", po::value<std::string>(), "certificate policy OID")(
             "cps-url", po::value<std::string>(), "CPS URL qualifier")(
             "crl-hours", po::value<int>()->default_value(72), "list validity in hours (R21)")(
             "partition-size", po::value<int>()->default_value(100000), "certificates per CRL partition (R23)")(
             "transport-key-label", po::value<std::string>(), "also make a P-256 key that signs result bundles (not the CA key, R4)")(
             "audit-key-label", po::value<std::string>(), "label of the key that signs audit checkpoints (default: KEY-LABEL-audit)")(
             "backup", "make every key of the CA backup-able: it may leave the token only wrapped under the trusted backup key (R7)")(
             "encrypt-database", "encrypt the CA database at rest (R42) under a key only this token computes; every later "
                                 "command that reads the database then needs the PIN or the custodians' shares")(
             "operator", po::value<std::string>(), "who runs this command (recorded in the audit log)");
       },
       cmd_init},
      {"issue", "issue a certificate from a PKCS#10 request",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         o.add_options()("profile", po::value<std::string>()->required(), "profile name (see 'profiles')")(
             "generation", po::value<int>(), "OCSP responder profiles only: certify with this older key generation, whose "
                                             "certificates the responder answers for (RFC 6960 4.2.2.2)")(
             "replaces", po::value<std::string>(), "renewal: the subject's valid certificate (serial) this one replaces; it is "
                                                   "revoked as superseded in the same transaction, its lists signed at once")(
             "dry-run", "print exactly what would be signed, and stop");
         add_request_options(o);
       },
       cmd_issue, nullptr, jpki::kFormatsHelp},
      {"cross-certify", "sign a Bridge CA's request with the cross-certificate profile (R13)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("profile", po::value<std::string>()->default_value("cross-certificate"), "profile name");
         add_request_options(o);
       },
       cmd_cross_certify},
      {"cross-import", "take in the certificate the Bridge CA issued to this CA (R13)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         o.add_options()("certificate", po::value<std::string>()->required(), "the Bridge CA's certificate for us (DER or PEM)");
       },
       cmd_cross_import},
      {"reconcile", "take in the lost signer's evidence found after a restore, then sign every list (issue 27)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("evidence", po::value<std::vector<std::string>>()->required(),
                         "a folder of result bundles (*.hkb), lists (*.crl) or archive volumes; searched recursively; repeatable")(
             "yes", "approve the summary without a terminal prompt (scripted ceremonies)")(
             "out-dir", po::value<std::string>(), "also write the new lists here");
       },
       cmd_reconcile},
      {"revoke", "revoke a certificate and sign the affected lists at once (R21)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         o.add_options()("serial", po::value<std::string>()->required(), "serial number in hexadecimal")(
             "reason", po::value<std::string>()->required(), "keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation")(
             "invalidity-date", po::value<std::string>(), "when the key is known or suspected to have been compromised")(
             "out-dir", po::value<std::string>(), "also write the new lists here");
       },
       cmd_revoke},
      {"crl", "sign the CRL partitions, ARL and fullCRL of every generation",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         o.add_options()("out-dir", po::value<std::string>()->required(), "folder for the lists (<scope>.crl)")(
             "scope", po::value<std::vector<std::string>>(), "only this list (e.g. g1-CRL1, g1-arl, g1-full); repeatable")(
             "schedule", po::value<int>()->default_value(0), "also pre-sign the lists of the next DAYS days");
       },
       cmd_crl},
      {"rollover", "new CA key, new self-signed certificate and link certificates (R11, R12)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("new-key-label", po::value<std::string>()->required(), "label of the new key")(
             "key-type", po::value<std::string>(), "rsa2048, rsa3072, rsa4096, p256 or p384 (default: the current key's)")(
             "dry-run", "print what would be generated and signed, and stop");
       },
       cmd_rollover},
      {"compromise", "CA key compromise: revoke all it signed, final lists, refuse the key (R25)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("generation", po::value<int>()->required(), "key generation")(
             "confirm", po::value<std::string>(), "must be the word 'compromise'")(
             "dry-run", "print what would be revoked and signed, and stop (signs nothing)")(
             "out-dir", po::value<std::string>()->required(), "folder for the final lists");
       },
       cmd_compromise},
      {"terminate", "terminate the CA: revoke everything, keep signing lists (R26)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("confirm", po::value<std::string>()->required(), "must be the word 'terminate'")(
             "out-dir", po::value<std::string>()->required(), "folder for the lists");
       },
       cmd_terminate},
      {"status", "keys, generations, counts and the next lists due",
       [](po::options_description& o) {
         add_state_for_reading(o);
         o.add_options()("json", "print the status as JSON (fields in the README)")(
             "public", "an encrypted CA: show the public status signed by the audit key, without the PIN (the default "
                       "when no PIN is given and there is no terminal)");
       },
       cmd_status},
      {"publish", "write the repository: CA, link and cross certificates, latest lists, fingerprints",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         o.add_options()("out-dir", po::value<std::string>()->required(), "repository folder")(
             "sign", "sign the fingerprints page (CMS) with the transport key, certified by the CA (R18); needs the token");
       },
       cmd_publish},
      {"profiles", "the certificate profiles and every extension each writes (reads clear configuration: no token)",
       [](po::options_description& o) {
         o.add_options()("state", po::value<std::string>()->required(), "CA state folder");
       },
       cmd_profiles},
      {"role-enrol", "enrol a person in a role, or replace a holder (log inspector after a restore; R41, R50)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("person", po::value<std::string>()->required(), "the person's name")(
             "role", po::value<std::vector<std::string>>()->required(), "ca-admin, ra-operator, auditor (log inspector), "
             "security-officer, manager or witness; repeatable")(
             "replace", "replace the roles and passphrase of a person already registered")(
             "new-passphrase-fd", po::value<int>(), "read the person's new passphrase from this descriptor (default: the terminal, twice)");
       },
       cmd_role_enrol},
      {"ra-register", "register an RA operator's public key (items must be signed with it)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("name", po::value<std::string>()->required(), "RA operator name as it appears in items")(
             "key", po::value<std::string>()->required(), "SubjectPublicKeyInfo (DER or PEM)");
       },
       cmd_ra_register},
      {"audit-verify", "check the audit log's hash chain and signed checkpoints (R41)",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         add_identity_options(o);
         o.add_options()("checkpoint", po::value<std::vector<std::string>>(), "a checkpoint exported earlier (detects a cut log); repeatable")(
             "audit-key", po::value<std::string>(), "the audit public key (default: the state's audit.spki)");
       },
       cmd_audit_verify},
      {"audit-export", "export the audit log and its checkpoints for the log inspector",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         add_identity_options(o);
         o.add_options()("out-dir", po::value<std::string>()->required(), "export folder");
       },
       cmd_audit_export},
      {"batch-results", "write the results of a processed batch again (lost on the way out); nothing is signed twice",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         o.add_options()("batch-id", po::value<std::string>()->required(), "the batch id (hex), as 'batch' printed it")(
             "out", po::value<std::string>(), "result batch to write (DER)")(
             "out-bundle", po::value<std::string>(), "result bundle to write, signed with the transport key");
       },
       cmd_batch_results},
      {"batch", "check, summarise and sign a request batch; write the result batch",
       [](po::options_description& o) {
         add_state(o);
         add_pin_option(o);
         o.add_options()("in", po::value<std::string>()->required(), "request bundle from the relay (or a bare request batch)")(
             "trust", po::value<std::vector<std::string>>(), "the relay's transport public key; repeatable")(
             "out", po::value<std::string>(), "result batch to write (never overwritten)")(
             "out-bundle", po::value<std::string>(), "result bundle to write, signed with the transport key")(
             "sessions", po::value<int>()->default_value(1), "token sessions signing in parallel")(
             "yes", "approve without a terminal prompt (scripted ceremonies)");
       },
       cmd_batch},
  });
}

}  // namespace hanko::offline
