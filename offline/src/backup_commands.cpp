// Backup, restore and destruction of the CA's keys (R7, R8, R42, R44).
//
//   backup-setup  the security officer installs the trusted wrapping key (the backup key, split
//                 among custodians like the PIN) in the primary token; the user quorum adds the
//                 MAC key derived from it
//   backup        PIN quorum: a backup set (database snapshot, configuration, every key wrapped)
//   backup-copy   the monthly copy to external media, checked file by file while copying
//   restore       at the backup center: backup-key quorum + a fresh token's quorum
//   destroy-key   R8: destroys a key generation in the token and voids every backup of it
#include <cryptopp/osrng.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <set>

#include "hanko/hsm/error.h"
#include "hanko/hsm/pki_signer.h"
#include "hanko/offline/backup.h"
#include "hanko/offline/ca.h"
#include "hanko/offline/ca_keys.h"
#include "hanko/offline/command.h"
#include "hanko/offline/custody.h"
#include "hanko/offline/database_key.h"
#include "hanko/offline/people.h"
#include "hanko/offline/profiles.h"
#include "hanko/offline/reconcile.h"

namespace hanko::offline {

namespace {

namespace fs = std::filesystem;
using backup::BackupError;

// The backup key rebuilt from custodians' shares (--backup-share, --backup-passphrase-fd).
hsm::Secret backup_key_from_quorum(const po::variables_map& vm, std::string* set_id = nullptr) {
  if (!vm.count("backup-share")) throw UsageError("the backup key's custodians must present their shares (--backup-share)");
  Quorum quorum;
  const auto files = vm["backup-share"].as<std::vector<std::string>>();
  present_shares(quorum, files, vm.count("backup-passphrase-fd") ? std::optional<int>(vm["backup-passphrase-fd"].as<int>()) : std::nullopt,
                 "backup-key ");
  if (set_id && !files.empty()) *set_id = to_hex(read_share_header(read_share_file(files.back())).set_id);
  if (quorum.still_needed() > 0) {
    throw CustodyError("the backup key needs " + std::to_string(quorum.still_needed()) + " more custodian share(s) (" +
                       std::to_string(quorum.present_count()) + " of " + std::to_string(quorum.threshold()) + " present)");
  }
  hsm::Secret key = quorum.recover();
  if (key.size() != 32) throw CustodyError("these shares hold a secret of " + std::to_string(key.size()) + " bytes, not a backup key");
  return key;
}

void add_backup_quorum_options(po::options_description& o) {
  o.add_options()("backup-share", po::value<std::vector<std::string>>(), "a backup-key custodian's sealed share; repeat until the quorum is present")(
      "backup-passphrase-fd", po::value<int>(),
      "read the backup-key custodians' passphrases from this descriptor, one a line: those of the presented shares in their order, "
      "or at backup-setup --custodian the new ones in the order of the custodians (default: the terminal)");
}

void add_state_option(po::options_description& o) {
  o.add_options()("state", po::value<std::string>()->required(), "CA state folder")(
      "operator", po::value<std::string>(), "who runs this command (recorded in the audit log)");
}

std::string file_name_for(const std::string& custodian) {
  std::string file = custodian;
  for (char& ch : file) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
  }
  return file;
}

// Signs the audit head with the audit key (R41), as every command that used the token does.
void checkpoint(CaStore& store, hsm::Session& session, pki::Time time) {
  const hsm::KeyPair key = session.key_pair(store.config().audit_key);
  const pki::PublicKey public_key = pki::parse_public_key(session.public_key_info(key));
  hsm::PkiSigner signer(session, key, pki::default_signature_algorithm(public_key));
  sql::Transaction txn(store.db());
  store.audit().checkpoint(signer, time);
  txn.commit();
}

Bytes ca_fingerprint(CaStore& store) {
  return pki::digest(pki::HashAlgorithm::kSha256, store.generation(1).certificate);
}

struct CaKey {
  std::string role;
  int generation;
  std::string label;
};

// Every key of the CA that still exists: each generation's CA key (not destroyed), audit key,
// transport key.
std::vector<CaKey> keys_of(CaStore& store) {
  std::vector<CaKey> out;
  for (const KeyGeneration& g : store.generations()) {
    if (g.status != GenerationStatus::kDestroyed) out.push_back({"ca", g.number, g.key_label});
  }
  if (!store.config().audit_key.empty()) out.push_back({"audit", 0, store.config().audit_key});
  if (!store.config().transport_key.empty()) out.push_back({"transport", 0, store.config().transport_key});
  return out;
}

// ----- backup-setup ----------------------------------------------------------------------------

void cmd_backup_setup(const po::variables_map& vm) {
  CaStore store(vm["state"].as<std::string>());
  const pki::Time time = now();
  store.check_clock(time);
  const std::string actor = authorize(store, vm, Role::kSecurityOfficer, "installing the backup key");
  if (fs::exists(store.dir() / backup::kBackupKeyFile) && vm.count("custodian")) {
    throw PolicyError("this CA already has a backup key (" + std::string(backup::kBackupKeyFile) +
                      "); a new token gets the same key: present its shares with --backup-share");
  }
  // The backup key: new and split among custodians, or rebuilt from their shares (a replacement
  // primary token, or the restored token at the backup center becoming the primary).
  std::string set_id;
  std::string check;
  hsm::Secret backup_key;
  std::vector<Bytes> shares;
  std::vector<std::string> custodians;
  if (vm.count("custodian")) {
    custodians = vm["custodian"].as<std::vector<std::string>>();
    std::vector<hsm::Secret> passphrases;
    for (const std::string& c : custodians) {
      passphrases.push_back(vm.count("backup-passphrase-fd") ? hsm::read_secret_from_fd(vm["backup-passphrase-fd"].as<int>())
                                                             : hsm::prompt_new_secret("New backup-key passphrase of custodian " + c + ": "));
      check_passphrase_rule(passphrases.back().view(), "custodian '" + c + "'");
    }
    CryptoPP::AutoSeededRandomPool rng;
    CryptoPP::SecByteBlock random(32);
    rng.GenerateBlock(random, random.size());
    backup_key = hsm::Secret(BytesView(random.data(), random.size()));
    shares = split_secret(backup_key, vm["quorum"].as<int>(), custodians, passphrases, rng);
    set_id = to_hex(read_share_header(shares.front()).set_id);
  } else {
    backup_key = backup_key_from_quorum(vm, &set_id);
    if (fs::exists(store.dir() / backup::kBackupKeyFile)) {
      const std::string recorded = read_text_file(store.dir() / backup::kBackupKeyFile, 4096);
      if (recorded.find("set " + set_id + "\n") == std::string::npos) {
        throw PolicyError("these shares belong to another backup key than the one recorded in " + std::string(backup::kBackupKeyFile));
      }
    }
  }
  hsm::Secret so_pin = obtain_secret(vm, "so-pin-fd", "Security officer PIN of the token: ");
  hsm::Secret pin = obtain_user_pin(vm);

  const CaConfig& config = store.config();
  hsm::Module module(config.module);
  const CK_SLOT_ID slot = module.find_token(config.token);
  {
    // Every key must have been made for backup, or the setup would promise what cannot happen.
    hsm::Session user(module, slot, false);
    user.login_user(pin);
    for (const CaKey& k : keys_of(store)) {
      if (!user.backup_allowed(user.key_pair(k.label))) {
        throw PolicyError("key '" + k.label + "' was generated without backup (init --backup); it can never leave the token. "
                          "Back up a CA created with --backup, or roll over to a new key generation after re-creating the CA");
      }
    }
    if (user.find_secret_key(backup::kWrapKeyLabel) || user.find_secret_key(backup::kMacKeyLabel)) {
      throw PolicyError("token '" + config.token + "' already holds backup keys; backup-setup is done once per token");
    }
  }
  {
    // PKCS#11 lets only the security officer create a trusted key, and only a public one.
    hsm::Session so(module, slot, true);
    so.login_so(so_pin);
    so.create_wrapping_key(backup::kWrapKeyLabel, backup_key);
  }
  hsm::Session user(module, slot, true);
  user.login_user(pin);
  try {
    user.create_mac_key(backup::kMacKeyLabel, backup::derive_mac_key(backup_key));
  } catch (...) {
    if (auto wrap = user.find_secret_key(backup::kWrapKeyLabel)) user.destroy_object(*wrap);
    throw;
  }
  if (!shares.empty()) {
    const fs::path dir = vm["shares-dir"].as<std::string>();
    fs::create_directories(dir);
    for (std::size_t i = 0; i < shares.size(); ++i) write_new_file(dir / (file_name_for(custodians[i]) + ".share"), shares[i], 0600);
    write_new_file(store.dir() / backup::kBackupKeyFile,
                   view("# the backup key's share set (hanko backup-setup); never a secret\nset " + set_id + "\n"));
  } else if (!fs::exists(store.dir() / backup::kBackupKeyFile)) {
    write_new_file(store.dir() / backup::kBackupKeyFile,
                   view("# the backup key's share set (hanko backup-setup); never a secret\nset " + set_id + "\n"));
  }
  {
    sql::Transaction txn(store.db());
    store.clear_follow_up("backup-key");
    store.audit().append({"backup.setup", "success", actor, "security officer",
                          "trusted wrapping key '" + std::string(backup::kWrapKeyLabel) + "' and MAC key in token '" + config.token +
                              "', backup key share set " + set_id +
                              (shares.empty() ? " (rebuilt by quorum)" : ", split " + std::to_string(vm["quorum"].as<int>()) + " of " +
                                                                             std::to_string(shares.size()))},
                         time);
    store.record_time(time);
    txn.commit();
  }
  checkpoint(store, user, time);
  std::cout << "backup key installed in token '" << config.token << "' (share set " << set_id << ")";
  if (!shares.empty()) {
    std::cout << "; split " << vm["quorum"].as<int>() << " of " << shares.size() << " into "
              << vm["shares-dir"].as<std::string>() << "/<custodian>.share";
  }
  std::cout << "\n";
}

// ----- backup ----------------------------------------------------------------------------------

std::string dated_name(pki::Time t) {
  std::string s = pki::format_time(t);  // "2026-11-22 00:41:00 UTC"
  std::string out = "hanko-backup-";
  for (char c : s.substr(0, 19)) {
    if (std::isdigit(static_cast<unsigned char>(c))) out += c;
    if (c == ' ') out += 'T';
  }
  return out + "Z";
}

void cmd_backup(const po::variables_map& vm) {
  if (vm.count("out") == vm.count("to")) throw UsageError("give either --out SET (the set's folder) or --to DIR (a dated set inside DIR)");
  CaStore store(vm["state"].as<std::string>());
  const pki::Time time = now();
  store.check_clock(time);
  const std::string actor = authorize(store, vm, Role::kCaAdministrator, "a backup");
  if (!fs::exists(store.dir() / backup::kBackupKeyFile)) {
    throw PolicyError("no backup key in this CA yet; run 'hanko-offline backup-setup' first");
  }
  fs::path set = vm.count("out") ? fs::path(vm["out"].as<std::string>()) : fs::path(vm["to"].as<std::string>()) / dated_name(time);
  // Two daily sets within one second get the same dated name: the second one takes a suffix.
  for (int n = 2; vm.count("to") && fs::exists(set) && n < 100; ++n) set = fs::path(vm["to"].as<std::string>()) / (dated_name(time) + "-" + std::to_string(n));
  if (fs::exists(set)) throw UsageError("'" + set.string() + "' already exists; backup sets are never overwritten");
  if (!set.parent_path().empty()) fs::create_directories(set.parent_path());
  const fs::path partial = set.parent_path() / ("." + set.filename().string() + ".partial");

  CaKeys keys(store.config(), obtain_user_pin(vm), false);
  hsm::Session& session = keys.session();
  const auto wrap = session.find_secret_key(backup::kWrapKeyLabel);
  const auto mac = session.find_secret_key(backup::kMacKeyLabel);
  if (!wrap || !mac) throw PolicyError("token '" + store.config().token + "' has no backup keys; run 'hanko-offline backup-setup'");

  // Wrap first: a key that cannot be wrapped stops the backup before anything is recorded.
  backup::Manifest manifest;
  std::vector<Bytes> wrapped;
  for (const CaKey& k : keys_of(store)) {
    const hsm::KeyPair pair = session.key_pair(k.label);
    backup::KeyRecord r;
    r.role = k.role;
    r.generation = k.generation;
    r.label = k.label;
    r.id = pair.id;
    r.public_key = session.public_components(pair);
    r.spki_sha256 = pki::digest(pki::HashAlgorithm::kSha256, session.public_key_info(pair));
    r.file = "keys/" + std::to_string(manifest.keys.size() + 1) + ".wrapped";
    try {
      wrapped.push_back(session.wrap_private_key(*wrap, pair));
    } catch (const hsm::Error& e) {
      if (e.rv() == CKR_KEY_UNEXTRACTABLE) {
        throw PolicyError("key '" + k.label + "' was generated without backup (init --backup); it cannot leave the token");
      }
      throw;
    }
    manifest.keys.push_back(std::move(r));
  }

  // The backup is an audited key operation; its own record and checkpoint go into the copy.
  {
    sql::Transaction txn(store.db());
    store.audit().append({"backup.create", "success", actor, "CA administrator",
                          "backup set '" + set.filename().string() + "' with " + std::to_string(manifest.keys.size()) + " wrapped keys"},
                         time);
    store.record_time(time);
    txn.commit();
  }
  checkpoint(store, session, time);

  fs::remove_all(partial);
  fs::create_directories(partial / "keys");
  try {
    // A consistent snapshot while the lock keeps every other command out.
    // R42: an encrypted database stays encrypted in the set, under the key the backup center
    // derives from the backup key (see backup.h).
    const hsm::Secret copy_key =
        store.config().database_key.empty() ? hsm::Secret() : token_derived_key(session, *mac, backup::kDatabaseKeyLabel);
    store.db().export_to((partial / "ca.db").string(), copy_key.view());
    std::vector<std::string> names{"ca.db"};
    for (const char* f : {"ca.conf", "profiles.conf", "audit.spki", "transport.spki", backup::kBackupKeyFile}) {
      if (!fs::exists(store.dir() / f)) continue;
      fs::copy_file(store.dir() / f, partial / f);
      names.push_back(f);
    }
    for (std::size_t i = 0; i < wrapped.size(); ++i) {
      write_new_file(partial / manifest.keys[i].file, wrapped[i], 0600);
      names.push_back(manifest.keys[i].file);
    }
    for (const std::string& n : names) manifest.files.push_back(backup::describe_file(partial, n));
    const std::optional<AuditEntry> head = store.audit().head();
    manifest.created = time;
    manifest.ca_subject = pki::parse_certificate(store.generation(1).certificate)->subject.to_string();
    manifest.ca_fingerprint = ca_fingerprint(store);
    const std::string key_file = read_text_file(store.dir() / backup::kBackupKeyFile, 4096);
    // The record line "set <id>", not the words "share set" of the comment above it.
    const std::size_t at = key_file.find("\nset ");
    manifest.backup_key_set = at == std::string::npos ? "-" : key_file.substr(at + 5, key_file.find('\n', at + 1) - at - 5);
    manifest.audit_sequence = head ? head->sequence : 0;
    manifest.audit_head = head ? head->hash : Bytes(32);
    const std::string text = manifest.serialize();
    write_new_file(partial / "manifest.txt", view(text));
    write_new_file(partial / "manifest.mac", view(to_hex(session.hmac_sha256(*mac, view(text))) + "\n"));
    backup::publish_folder(partial, set);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(partial, ignored);
    throw;
  }
  std::cout << "backup set " << set.string() << ": " << manifest.keys.size() << " wrapped keys, "
            << store.count_certificates(store.current_generation().number) << " certificates of the current generation, audit log to entry "
            << manifest.audit_sequence << "\n";
}

void cmd_backup_copy(const po::variables_map& vm) {
  const fs::path from = vm["from"].as<std::string>();
  // The set keeps its dated name on the medium, so the copies of many months sit side by side.
  const fs::path to = fs::path(vm["to"].as<std::string>()) / fs::absolute(from).lexically_normal().filename();
  fs::create_directories(to.parent_path());
  backup::copy_set(from, to);
  std::cout << "backup set copied to " << to.string() << " and read back: every file matches the manifest\n";
}

void cmd_backup_verify(const po::variables_map& vm) {
  const fs::path set = vm["backup"].as<std::string>();
  if (!vm.count("backup-share")) {
    const backup::Manifest m = backup::read_checked_without_mac(set);
    std::cout << "backup set " << set.string() << ": " << m.files.size() << " files match the manifest (MAC not checked: "
              << "present --backup-share to check it)\n";
    return;
  }
  const backup::Manifest m = backup::read_verified(set, backup::derive_mac_key(backup_key_from_quorum(vm)));
  std::cout << "backup set " << set.string() << " verifies: MAC, " << m.files.size() << " files, " << m.keys.size()
            << " wrapped keys of CA '" << m.ca_subject << "'\n";
}

// ----- restore ---------------------------------------------------------------------------------

std::vector<backup::DestructionNotice> destruction_notices(const po::variables_map& vm, const fs::path& set,
                                                           const pki::PublicKey& audit_key, BytesView fingerprint) {
  std::vector<fs::path> files;
  if (vm.count("destroyed")) {
    for (const std::string& f : vm["destroyed"].as<std::vector<std::string>>()) files.emplace_back(f);
  }
  // Notices kept beside the sets on the backup medium count without being named.
  const fs::path parent = fs::absolute(set).parent_path();
  for (const fs::directory_entry& e : fs::directory_iterator(parent)) {
    if (e.is_regular_file() && e.path().extension() == ".destroyed") files.push_back(e.path());
  }
  std::vector<backup::DestructionNotice> out;
  for (const fs::path& f : files) {
    const backup::DestructionNotice n = backup::DestructionNotice::parse(read_text_file(f, 1 << 16));
    if (n.ca_fingerprint != Bytes(fingerprint.begin(), fingerprint.end())) continue;  // another CA's notice
    const auto algorithm = pki::parse_signature_algorithm_name(n.signature_algorithm);
    if (!algorithm || !pki::verify_signature(audit_key, *algorithm, view(n.signed_text), n.signature)) {
      throw PolicyError("destruction notice '" + f.string() + "' is not signed by this CA's audit key; check where it came from");
    }
    out.push_back(n);
  }
  return out;
}

// "3 days 4 hours" for what the custodians read before they bring a set back.
std::string age_text(pki::Time then, pki::Time at) {
  const std::int64_t s = std::chrono::duration_cast<std::chrono::seconds>(at - then).count();
  if (s < 0) return "in the future of this clock";
  const std::int64_t days = s / 86400, hours = (s % 86400) / 3600, minutes = (s % 3600) / 60;
  if (days > 0) return std::to_string(days) + " day(s) " + std::to_string(hours) + " hour(s) old";
  if (hours > 0) return std::to_string(hours) + " hour(s) " + std::to_string(minutes) + " minute(s) old";
  return std::to_string(minutes) + " minute(s) old";
}

// A set's manifest as it stands, not yet authenticated (the backup key's quorum comes later).
backup::Manifest unauthenticated_manifest(const fs::path& set) {
  return backup::Manifest::parse(read_text_file(set / "manifest.txt", 4u << 20));
}

// Sets of the same CA beside this one (the medium's other dated sets), newer than it. Their
// manifests are not authenticated yet: they can only make the restore more careful.
std::vector<std::pair<fs::path, pki::Time>> newer_sets_beside(const fs::path& set, const backup::Manifest& manifest) {
  std::vector<std::pair<fs::path, pki::Time>> out;
  const fs::path self = fs::absolute(set).lexically_normal();
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(self.parent_path(), ec)) {
    if (!e.is_directory() || e.path() == self || !fs::exists(e.path() / "manifest.txt")) continue;
    try {
      const backup::Manifest other = unauthenticated_manifest(e.path());
      if (other.ca_fingerprint == manifest.ca_fingerprint && other.created > manifest.created) out.emplace_back(e.path(), other.created);
    } catch (const std::exception&) {
      // Not a set, or a damaged one: nothing it says counts.
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

void cmd_restore(const po::variables_map& vm) {
  const fs::path set = vm["backup"].as<std::string>();
  const fs::path state = vm["state"].as<std::string>();
  const std::int64_t skip = vm["crl-number-skip"].as<std::int64_t>();
  if (skip < 1 || skip > 1'000'000'000'000) {
    throw UsageError("--crl-number-skip must be at least 1 (the lost signer may have signed lists after the backup, and a number "
                     "is never used twice nor goes back, RFC 5280 5.2.3) and at most 10^12 (numbers must stay far below the "
                     "signer's limit of 2^63 for the CA's whole life)");
  }
  if (vm.count("evidence") && vm.count("no-evidence")) throw UsageError("give --evidence DIR or --no-evidence, not both");
  if (!vm.count("evidence") && !vm.count("no-evidence")) {
    throw UsageError("a backup is older than the CA it saves: give the lost signer's evidence with --evidence DIR (the relay's "
                     "result bundles, state/archive/*.hkb, and its published lists, *.crl), or confirm that there is none with "
                     "--no-evidence (revocations made after the backup are then lost)");
  }
  std::vector<fs::path> evidence;
  if (vm.count("evidence")) {
    for (const std::string& d : vm["evidence"].as<std::vector<std::string>>()) evidence.emplace_back(d);
  }
  CaStore::check_can_create(state);
  const pki::Time time = now();
  // 0. What the set is, before anyone presents a share: its date, its age, how far its log goes.
  // Only the manifest is read here (not yet authenticated); step 1 checks it and every file.
  {
    backup::Manifest claimed;
    try {
      claimed = unauthenticated_manifest(set);
    } catch (const std::exception& e) {
      throw BackupError(std::string("backup set refused, nothing was restored: ") + e.what());
    }
    std::cerr << "backup set " << fs::absolute(set).lexically_normal().filename().string() << " of CA '" << claimed.ca_subject
              << "'\n  taken " << pki::format_time(claimed.created) << " (" << age_text(claimed.created, time)
              << "); its audit log ends at entry " << claimed.audit_sequence << "\n";
    const auto newer = newer_sets_beside(set, claimed);
    if (!newer.empty()) {
      std::cerr << "  a NEWER set of this CA lies beside it: " << newer.front().first.filename().string() << ", taken "
                << pki::format_time(newer.front().second) << "\n";
      if (!vm.count("older-set")) {
        throw PolicyError("a newer backup set of this CA lies beside this one (" + newer.front().first.string() +
                          "); restore the newest set, or confirm this older one with --older-set");
      }
    }
  }
  // 1. The set, checked completely before anything is written.
  const hsm::Secret backup_key = backup_key_from_quorum(vm);
  backup::Manifest manifest;
  try {
    manifest = backup::read_verified(set, backup::derive_mac_key(backup_key));
  } catch (const BackupError& e) {
    throw BackupError(std::string("backup set refused, nothing was restored: ") + e.what());
  }
  const pki::PublicKey audit_public = pki::parse_public_key(read_file(set / "audit.spki", 1 << 16));
  const std::vector<backup::DestructionNotice> notices = destruction_notices(vm, set, audit_public, manifest.ca_fingerprint);
  const auto destroyed = [&](const backup::KeyRecord& k) {
    return std::any_of(notices.begin(), notices.end(),
                       [&](const backup::DestructionNotice& n) { return n.label == k.label && n.spki_sha256 == k.spki_sha256; });
  };

  // 2. The new state, beside its final place until everything is done.
  const fs::path partial = fs::absolute(state).parent_path() / ("." + fs::absolute(state).filename().string() + ".partial");
  fs::remove_all(partial);
  fs::create_directories(partial);
  std::unique_ptr<TokenAccess> token;
  std::vector<hsm::KeyPair> created;
  std::string created_database_key;
  try {
    for (const backup::FileRecord& f : manifest.files) {
      if (f.name.rfind("keys/", 0) == 0 || f.name == "ca.conf") continue;
      fs::copy_file(set / f.name, partial / f.name);
    }
    CaConfig config = CaConfig::parse(read_text_file(set / "ca.conf", 1 << 20));
    config.module = vm["module"].as<std::string>();
    config.token = vm["token"].as<std::string>();
    write_new_file(partial / "ca.conf", view(config.serialize()));
    // R42: an encrypted set opens with the key derived from the backup key; the restored state is
    // encrypted again, at the end, under a key of the new token.
    if (!config.database_key.empty()) DatabaseKeys::remember(config, backup::database_key(backup::derive_mac_key(backup_key)));
    auto store = std::make_unique<CaStore>(partial);
    store->check_clock(time);
    if (ca_fingerprint(*store) != manifest.ca_fingerprint) throw BackupError("the set's database belongs to another CA than its manifest");
    const KeyGeneration current = store->current_generation();
    for (const backup::KeyRecord& k : manifest.keys) {
      if (destroyed(k) && k.role == "ca" && k.generation == current.number && !store->terminated()) {
        throw PolicyError("the key of the current generation " + std::to_string(k.generation) + " ('" + k.label +
                          "') was destroyed (R8); this set cannot bring the CA back");
      }
      if (destroyed(k) && k.role == "audit") throw PolicyError("the audit key '" + k.label + "' was destroyed (R8)");
    }

    // 3. What the lost signer did after the backup, from its evidence: shown, then approved.
    const Reconciliation reconciliation = Reconciliation::examine(*store, evidence, [](const std::string& line) { std::cerr << line << "\n"; });
    if (!evidence.empty() && !reconciliation.found_anything()) {
      throw PolicyError("no result bundle (*.hkb) or list (*.crl) of this CA was found in the evidence folder(s); give the folder the "
                        "relay operator copied (its state/archive/ and repository), or confirm with --no-evidence");
    }
    const auto skip_u = static_cast<std::uint64_t>(skip);
    std::cerr << reconciliation.summary(skip_u);
    approve(vm, "Restore this set and take in the evidence as shown?", "restore");

    // 4. The token: fresh. Keys of this CA already in it mean a second signer of one CA (the
    // primary's own token, or an earlier restore), which would sign lists the other also signs.
    token = std::make_unique<TokenAccess>(config.module, config.token, obtain_user_pin(vm), true);
    hsm::Session& session = *token->session;
    for (const std::string& label : session.key_labels()) {
      const auto k = std::find_if(manifest.keys.begin(), manifest.keys.end(), [&](const backup::KeyRecord& r) { return r.label == label; });
      const std::optional<hsm::KeyPair> pair = session.find_key_pair(label);
      if (k == manifest.keys.end() || !pair ||
          pki::digest(pki::HashAlgorithm::kSha256, session.public_key_info(*pair)) != k->spki_sha256) {
        throw PolicyError("token '" + config.token + "' already holds key '" + label +
                          "', which is not a key of this CA: it belongs to another CA. Restore onto a fresh token (token-init)");
      }
      throw PolicyError("token '" + config.token + "' already holds key '" + label +
                        "' of this very CA: two signers of one CA would sign different lists with the same numbers. Restore onto a "
                        "fresh token (token-init); if an earlier restore into it was interrupted, initialise it again first");
    }
    const CK_OBJECT_HANDLE unwrap = session.create_unwrapping_key(backup::kUnwrapKeyLabel, backup_key, false);
    std::vector<std::string> restored, skipped;
    for (const backup::KeyRecord& k : manifest.keys) {
      if (destroyed(k)) {
        skipped.push_back(k.label);
        continue;
      }
      const Bytes wrapped = read_file(set / k.file, 1 << 20);
      hsm::KeyPair pair;
      try {
        pair = session.unwrap_key_pair(unwrap, wrapped, k.public_key, k.label, k.id);
      } catch (const hsm::Error& e) {
        throw BackupError("key '" + k.label + "' cannot be unwrapped (" + e.what() + "); the backup key or the set is wrong");
      }
      created.push_back(pair);
      // The private key must belong to the public key the manifest names: sign and verify.
      const pki::PublicKey public_key = pki::parse_public_key(session.public_key_info(pair));
      if (pki::digest(pki::HashAlgorithm::kSha256, public_key.spki) != k.spki_sha256) {
        throw BackupError("key '" + k.label + "' restored with another public key than the manifest names");
      }
      hsm::PkiSigner signer(session, pair, pki::default_signature_algorithm(public_key));
      const Bytes probe = to_bytes("hanko restore probe " + k.label);
      if (!pki::verify_signature(public_key, signer.algorithm(), probe, signer.sign(probe))) {
        throw BackupError("key '" + k.label + "' does not match its public key after unwrapping");
      }
      restored.push_back(k.label);
    }
    session.destroy_object(unwrap);

    // 5. The CA continues: what the evidence proves is taken in, every list continues above every
    // number seen (plus the margin for what no evidence shows); destroyed keys stay destroyed.
    {
      sql::Transaction txn(store->db());
      for (const backup::KeyRecord& k : manifest.keys) {
        if (destroyed(k) && k.role == "ca") store->set_generation_status(k.generation, GenerationStatus::kDestroyed);
      }
      reconciliation.apply(*store, skip_u);
      // What is still to do here: status shows it until the command that does it clears it.
      const std::string when = pki::format_time(time), taken = pki::format_time(manifest.created);
      store->set_follow_up("backup-key", "restored on " + when + " into token '" + config.token +
                                             "', which holds no backup key yet: the next 'backup' fails until the security officer and "
                                             "the backup key's custodians run 'hanko-offline backup-setup --backup-share ...' (the same "
                                             "backup key, so every earlier set stays usable)");
      if (!reconciliation.examined_evidence()) {
        store->set_follow_up("restore-evidence", "restored on " + when + " from a set taken " + taken +
                                                     " without the lost signer's evidence (--no-evidence): certificates it issued, "
                                                     "revocations it made and batches it processed after that are unknown to this CA");
      } else if (const std::string missing = reconciliation.missing_sequences(); !missing.empty()) {
        store->set_follow_up("restore-evidence", "restored on " + when + " with result bundles " + missing +
                                                     " of the lost signer missing from the evidence: what they carried (certificates, "
                                                     "revocations, batches) is unknown to this CA");
      }
      std::string details = "from set '" + fs::absolute(set).filename().string() + "' (audit entry " +
                            std::to_string(manifest.audit_sequence) + ") into token '" + config.token + "': keys ";
      for (const std::string& l : restored) details += "'" + l + "' ";
      if (!skipped.empty()) {
        details += "; destroyed, not restored: ";
        for (const std::string& l : skipped) details += "'" + l + "' ";
      }
      details += "; " + reconciliation.audit_details(skip_u);
      store->audit().append({"backup.restore", "success", operator_of(vm), "CA administrator", details}, time);
      store->record_time(time);
      txn.commit();
    }
    // 6. Every list at once, numbered above everything seen: the set's own lists are older than
    // what relying parties hold, and publishing them again would take revocations back.
    std::vector<StoredCrl> lists;
    {
      Ca ca(*store, parse_profiles(read_text_file(partial / "profiles.conf", 1 << 20)));
      ca.set_actor(operator_of(vm), "CA administrator");
      std::map<std::string, std::unique_ptr<hsm::PkiSigner>> signers;
      const SignerFor signer_for = [&](const KeyGeneration& g) -> pki::Signer& {
        auto& s = signers[g.key_label];
        if (!s) {
          const hsm::KeyPair key = session.key_pair(g.key_label);
          s = std::make_unique<hsm::PkiSigner>(session, key, pki::default_signature_algorithm(pki::parse_public_key(session.public_key_info(key))));
        }
        return *s;
      };
      lists = ca.make_lists(ca.all_scopes(), time, time, signer_for);  // a terminated CA too (R26)
    }
    checkpoint(*store, session, time);
    const AuditLog::Verification v = store->audit().verify(audit_public);
    if (!v.ok) throw BackupError("the restored audit log does not verify: " + v.problem);
    CaConfig final_config = config;
    if (final_config.database_key.empty() && vm.count("encrypt-database")) final_config.database_key = store->generation(1).key_label + "-database";
    if (!final_config.database_key.empty()) {
      if (!session.find_secret_key(final_config.database_key)) {
        create_database_token_key(session, final_config.database_key);
        created_database_key = final_config.database_key;
      }
      const hsm::Secret key = database_key(session, final_config.database_key);
      store->db().export_to((partial / "ca.db.encrypted").string(), key.view());
      store.reset();
      for (const char* f : {"ca.db", "ca.db-wal", "ca.db-shm", "ca.conf"}) fs::remove(partial / f);
      fs::rename(partial / "ca.db.encrypted", partial / "ca.db");
      write_new_file(partial / "ca.conf", view(final_config.serialize()));
      DatabaseKeys::remember(final_config, key);
      store = std::make_unique<CaStore>(partial);  // proves the new key opens it
    }
    store->write_identity_file();
    std::vector<std::string> to_do = store->follow_ups();
    for (std::string& w : unheld_roles(*store)) to_do.push_back(std::move(w));
    store.reset();
    backup::publish_folder(partial, state);
    std::cout << "restored CA '" << manifest.ca_subject << "' into " << state.string() << " with token '" << config.token << "': "
              << restored.size() << " keys unwrapped";
    if (!skipped.empty()) std::cout << ", " << skipped.size() << " destroyed key(s) refused";
    std::cout << "; audit log verifies (" << v.entries << " entries); " << reconciliation.audit_details(skip_u) << "\n";
    std::cout << "signed " << lists.size() << " lists at once";
    if (!lists.empty()) std::cout << " (numbers from " << lists.front().number << "); 'publish' or a result bundle takes them out";
    std::cout << "\n";
    if (!to_do.empty()) {
      std::cout << "still to do at this site ('status' shows it until done):\n";
      for (const std::string& t : to_do) std::cout << "  - " << t << "\n";
    }
  } catch (...) {
    for (const hsm::KeyPair& k : created) {
      try {
        token->session->destroy_key_pair(k);
      } catch (const std::exception&) {
      }
    }
    if (!created_database_key.empty()) {
      try {
        if (const auto k = token->session->find_secret_key(created_database_key)) token->session->destroy_object(*k);
      } catch (const std::exception&) {
      }
    }
    std::error_code ignored;
    fs::remove_all(partial, ignored);
    throw;
  }
}

// ----- destroy-key -----------------------------------------------------------------------------

void cmd_destroy_key(const po::variables_map& vm) {
  if (vm["confirm"].as<std::string>() != "destroy") throw UsageError("destroying a key cannot be undone; confirm with --confirm destroy");
  CaStore store(vm["state"].as<std::string>());
  const pki::Time time = now();
  store.check_clock(time);
  const std::string actor = authorize(store, vm, Role::kCaAdministrator, "destroying a key");
  const int number = vm["generation"].as<int>();
  const KeyGeneration g = store.generation(number);
  if (g.status == GenerationStatus::kDestroyed) throw PolicyError("the key of generation " + std::to_string(number) + " is already destroyed");
  if (g.status == GenerationStatus::kActive && store.current_generation().number == number && !store.terminated()) {
    throw PolicyError("generation " + std::to_string(number) + " is the CA's current key; roll over (or terminate) before destroying it");
  }
  CaKeys keys(store.config(), obtain_user_pin(vm), true);
  hsm::Session& session = keys.session();
  const hsm::KeyPair key = session.key_pair(g.key_label);
  const Bytes spki_sha256 = pki::digest(pki::HashAlgorithm::kSha256, session.public_key_info(key));
  // The notice is signed before the key goes, so a failure leaves the key in place.
  const std::string body = backup::destruction_notice_body(ca_fingerprint(store), number, g.key_label, spki_sha256, time);
  const hsm::KeyPair audit_key = session.key_pair(store.config().audit_key);
  const pki::PublicKey audit_public = pki::parse_public_key(session.public_key_info(audit_key));
  hsm::PkiSigner audit_signer(session, audit_key, pki::default_signature_algorithm(audit_public));
  const std::string notice = body + "signature " + std::string(pki::signature_algorithm_name(audit_signer.algorithm())) + " " +
                             to_hex(audit_signer.sign(view(body))) + "\n";
  session.destroy_key_pair(key);
  {
    sql::Transaction txn(store.db());
    store.set_generation_status(number, GenerationStatus::kDestroyed);
    store.audit().append({"key.destroy", "success", actor, "CA administrator",
                          "key of generation " + std::to_string(number) + " '" + g.key_label + "' (SPKI SHA-256 " + to_hex(spki_sha256) +
                              ") destroyed in token '" + store.config().token + "'; every backup of it is void"},
                         time);
    store.record_time(time);
    txn.commit();
  }
  checkpoint(store, session, time);
  const std::string name = "g" + std::to_string(number) + "-" + g.key_label + ".destroyed";
  std::vector<fs::path> written;
  if (vm.count("notice-to")) {
    for (const std::string& dir : vm["notice-to"].as<std::vector<std::string>>()) {
      fs::create_directories(dir);
      write_file_atomic(fs::path(dir) / name, view(notice));
      written.push_back(fs::path(dir) / name);
    }
  }
  write_file_atomic(store.dir() / name, view(notice));
  std::cout << "key of generation " << number << " ('" << g.key_label << "') destroyed in token '" << store.config().token << "'\n"
            << "  destruction notice " << name << " (signed by the audit key):";
  for (const fs::path& p : written) std::cout << " " << p.string();
  std::cout << "\n  keep a copy beside every backup set: restore refuses to bring the key back (R8)\n";
}

// A refused or failed command is an event too (R40): recorded when the state can be opened.
std::vector<Command> audited(std::vector<Command> commands) {
  for (Command& c : commands) {
    if (std::string(c.name) == "restore" || std::string(c.name) == "backup-copy" || std::string(c.name) == "backup-verify") continue;
    c.run = [run = c.run, name = std::string(c.name)](const po::variables_map& vm) {
      try {
        run(vm);
      } catch (const std::exception& e) {
        if (!vm.count("state") || !fs::exists(fs::path(vm["state"].as<std::string>()) / "ca.db")) throw;
        try {
          CaStore store(vm["state"].as<std::string>());
          store.audit().append({"command." + name, "refused", operator_of(vm), "CA administrator", e.what()}, now());
        } catch (const std::exception&) {
          // The state itself is the problem (damaged, locked): the error reaches the operator anyway.
        }
        throw;
      }
    };
  }
  return commands;
}

}  // namespace

std::vector<Command> backup_commands() {
  return audited({
      {"backup-setup", "install the backup key (split among custodians) in the token: SO + quorum (R7)",
       [](po::options_description& o) {
         add_state_option(o);
         add_pin_option(o);
         add_approval_options(o);
         add_backup_quorum_options(o);
         o.add_options()("so-pin-fd", po::value<int>(), "read the security officer PIN from this descriptor")(
             "custodian", po::value<std::vector<std::string>>(), "a new backup key: a custodian's name; repeat for each of N")(
             "quorum", po::value<int>()->default_value(3), "M: how many backup-key custodians must be present")(
             "shares-dir", po::value<std::string>()->default_value("backup-shares"), "where the backup key's sealed shares are written");
       },
       cmd_backup_setup},
      {"backup", "write a backup set: database, configuration, every key wrapped (R7, R42)",
       [](po::options_description& o) {
         add_state_option(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("out", po::value<std::string>(), "the new set's folder")(
             "to", po::value<std::string>(), "daily backup: a new dated set inside this folder");
       },
       cmd_backup},
      {"backup-copy", "copy a backup set to external media, checking every file (R42 monthly)",
       [](po::options_description& o) {
         o.add_options()("from", po::value<std::string>()->required(), "the backup set")(
             "to", po::value<std::string>()->required(), "folder on the medium; the set keeps its name inside it");
       },
       cmd_backup_copy},
      {"backup-verify", "check a backup set: every file; with the backup-key quorum also its MAC",
       [](po::options_description& o) {
         o.add_options()("backup", po::value<std::string>()->required(), "the backup set");
         add_backup_quorum_options(o);
       },
       cmd_backup_verify},
      {"restore", "bring a CA back from a backup set onto a fresh token (backup center, R44)",
       [](po::options_description& o) {
         add_module_option(o);
         add_pin_option(o);
         add_backup_quorum_options(o);
         o.add_options()("backup", po::value<std::string>()->required(), "the backup set")(
             "state", po::value<std::string>()->required(), "new CA state folder")(
             "token", po::value<std::string>()->required(), "label of the fresh token (token-init)")(
             "destroyed", po::value<std::vector<std::string>>(), "a key destruction notice (also read: *.destroyed beside the set)")(
             "evidence", po::value<std::vector<std::string>>(),
             "a folder of the lost signer's evidence: result bundles (*.hkb, the relay's state/archive/) and published lists "
             "(*.crl); searched recursively; repeatable")(
             "no-evidence", "confirm that no evidence exists: revocations, certificates and batches after the backup are then lost")(
             "older-set", "confirm restoring this set although a newer set of the CA lies beside it")(
             "yes", "approve the summary without a terminal prompt (scripted ceremonies)")(
             "crl-number-skip", po::value<std::int64_t>()->default_value(1000000),
             "margin (at least 1) above the highest CRL number the set or the evidence knows, for lists no evidence shows")(
             "encrypt-database", "encrypt the restored CA database (R42) when the set's was not; an encrypted set is always restored encrypted")(
             "operator", po::value<std::string>(), "who runs this command (recorded in the audit log)");
       },
       cmd_restore},
      {"destroy-key", "destroy a key generation in the token and void its backups (R8)",
       [](po::options_description& o) {
         add_state_option(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("generation", po::value<int>()->required(), "key generation to destroy")(
             "confirm", po::value<std::string>()->required(), "must be the word 'destroy'")(
             "notice-to", po::value<std::vector<std::string>>(), "also write the signed destruction notice here (the backup media); repeatable");
       },
       cmd_destroy_key},
  });
}

}  // namespace hanko::offline
