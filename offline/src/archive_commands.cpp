// hanko-offline archive create | verify | copy (R43).
#include <iostream>

#include "hanko/common/files.h"
#include "hanko/hsm/pki_signer.h"
#include "hanko/offline/archive.h"
#include "hanko/offline/ca_store.h"
#include "hanko/offline/command.h"
#include "hanko/offline/people.h"

namespace hanko::offline {

namespace fs = std::filesystem;

namespace {

void print(const ArchiveSummary& s, const std::string& what) {
  std::cout << what << ": " << s.subject << " (identity " << s.identity.substr(0, 16) << "...), created " << s.created << "\n  "
            << s.certificates << " certificates, " << s.lists << " lists, " << s.audit_entries << " audit entries, " << s.files
            << " files, " << s.bytes << " bytes\n";
}

void cmd_archive_create(const po::variables_map& vm) {
  CaStore store(vm["state"].as<std::string>());
  const pki::Time time = now();
  store.check_clock(time);
  const std::string actor = authenticate(store, vm, Role::kCaAdministrator, "writing an archive volume");
  const fs::path volume = vm["out"].as<std::string>();
  TokenAccess token(store.config().module, store.config().token, obtain_user_pin(vm), false);
  const hsm::KeyPair key = token.session->key_pair(store.config().audit_key);
  const pki::PublicKey public_key = pki::parse_public_key(token.session->public_key_info(key));
  hsm::PkiSigner signer(*token.session, key, pki::default_signature_algorithm(public_key));
  const ArchiveSummary s = write_archive(store, volume, signer, time);
  const Bytes manifest = read_file(volume / "MANIFEST", 16u << 20);
  sql::Transaction txn(store.db());
  store.audit().append({"archive.create", "success", actor, "CA administrator",
                        "volume " + volume.string() + ": " + std::to_string(s.certificates) + " certificates, " + std::to_string(s.lists) +
                            " lists, " + std::to_string(s.audit_entries) + " audit entries; MANIFEST SHA-256 " +
                            to_hex(pki::digest(pki::HashAlgorithm::kSha256, manifest))}, time);
  store.audit().checkpoint(signer, time);
  txn.commit();
  print(s, "archive volume written to " + volume.string());
}

void cmd_archive_verify(const po::variables_map& vm) {
  std::optional<Bytes> spki;
  if (vm.count("audit-key")) spki = read_der_or_pem(vm["audit-key"].as<std::string>(), "PUBLIC KEY");
  const ArchiveSummary s = verify_archive(vm["volume"].as<std::string>(), spki);
  print(s, "archive volume OK" + std::string(spki ? " (signed by the given audit key)" : " (signed by the audit key it carries; pin it with --audit-key)"));
}

void cmd_archive_copy(const po::variables_map& vm) {
  const ArchiveSummary s = copy_archive(vm["volume"].as<std::string>(), vm["to"].as<std::string>());
  print(s, "archive volume copied to " + vm["to"].as<std::string>() + " and verified there");
}

}  // namespace

std::vector<Command> archive_commands() {
  return {
      {"archive create", "write a signed archive volume: certificates, lists, decisions, keys' records, audit log (R43)",
       [](po::options_description& o) {
         o.add_options()("state", po::value<std::string>()->required(), "CA state folder")(
             "out", po::value<std::string>()->required(), "the new volume's folder (external media)")(
             "operator", po::value<std::string>(), "who runs this command (recorded in the audit log)");
         add_pin_option(o);
         add_identity_options(o);
       },
       cmd_archive_create},
      {"archive verify", "check an archive volume years later: signature, every file, every object, the audit chain",
       [](po::options_description& o) {
         o.add_options()("volume", po::value<std::string>()->required(), "the volume's folder")(
             "audit-key", po::value<std::string>(), "the CA's audit public key (pins the signer)");
       },
       cmd_archive_verify, "volume"},
      {"archive copy", "copy an archive volume to new media, reading every file back, and verify the copy",
       [](po::options_description& o) {
         o.add_options()("volume", po::value<std::string>()->required(), "the volume's folder")(
             "to", po::value<std::string>()->required(), "the new copy's folder");
       },
       cmd_archive_copy, "volume"},
  };
}

}  // namespace hanko::offline
