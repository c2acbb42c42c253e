// hanko-offline ceremony run | verify | digest | report, shares-reissue and people.
#include <cryptopp/osrng.h>

#include <cctype>
#include <iostream>

#include "hanko/common/files.h"
#include "hanko/offline/ca_store.h"
#include "hanko/offline/ceremony.h"
#include "hanko/offline/command.h"
#include "hanko/offline/custody.h"
#include "hanko/offline/people.h"
#include "hanko/offline/profiles.h"
#include "hanko/transfer/bundle.h"

namespace hanko::offline {

namespace fs = std::filesystem;

namespace {

void cmd_ceremony_run(const po::variables_map& vm) {
  RunOptions o;
  o.script = vm["script"].as<std::string>();
  o.plan = vm["plan"].as<std::string>();
  o.site = vm["site"].as<std::string>();
  o.self = fs::read_symlink("/proc/self/exe");
  o.rehearsal = vm.count("rehearsal") > 0;
  if (vm.count("golden")) o.golden = fs::path(vm["golden"].as<std::string>());
  o.clock = [] { return now(); };
  std::unique_ptr<Console> console = vm.count("answers-fd") ? scripted_console(vm["answers-fd"].as<int>()) : terminal_console();
  run_ceremony(o, *console);
}

void cmd_ceremony_verify(const po::variables_map& vm) {
  VerifyOptions o;
  if (vm.count("state")) {
    o.state = fs::path(vm["state"].as<std::string>());
    o.audit_spki = read_file(*o.state / "audit.spki", 1 << 16);
  }
  if (vm.count("audit-key")) o.audit_spki = read_der_or_pem(vm["audit-key"].as<std::string>(), "PUBLIC KEY");
  if (vm.count("previous")) o.previous = fs::path(vm["previous"].as<std::string>());
  if (vm.count("script")) o.script = fs::path(vm["script"].as<std::string>());
  const fs::path path = vm["transcript"].as<std::string>();
  const TranscriptCheck c = verify_transcript(path, o);
  if (!c.ok) throw PolicyError("transcript '" + path.string() + "' does not verify: " + c.problem);
  std::size_t steps = 0, outputs = 0, deviations = 0;
  for (const auto& r : c.records) {
    steps += r["type"] == "step.done";
    outputs += r["type"] == "output";
    deviations += r["type"] == "deviation";
  }
  std::cout << "transcript OK: " << c.kind << ", " << c.records.size() << " records, " << steps << " steps, " << outputs
            << " outputs, " << deviations << " deviations; signed by the audit key" << (o.audit_spki ? " of this CA" : " named in it (pin it with --state or --audit-key)")
            << (o.previous ? "; chains to the previous ceremony" : "") << (o.state ? "; recorded in the CA's audit log" : "") << "\n";
}

void cmd_ceremony_digest(const po::variables_map& vm) {
  const Script script = Script::parse(read_text_file(vm["script"].as<std::string>(), 1 << 20));
  const Settings plan = Settings::parse(read_text_file(vm["plan"].as<std::string>(), 1 << 20), "plan");
  const auto people = plan_people(plan);
  for (const std::string& key : script.needs) plan.get(key);
  const auto digest = plan_digest(script, plan);
  std::cout << script.title << "\n  steps   ";
  for (const ScriptStep& s : script.steps) std::cout << s.id << " ";
  std::cout << "\n  people  ";
  for (const auto& [name, roles] : people) std::cout << name << " (" << roles_text(roles) << ")  ";
  std::cout << "\n  digest  " << to_hex(digest) << "\n  words   " << transfer::digest_words(digest) << "\n";
}

void cmd_ceremony_report(const po::variables_map& vm) {
  write_report(vm["transcript"].as<std::string>(), vm["out"].as<std::string>());
  std::cout << "report written to " << vm["out"].as<std::string>() << "\n";
}

// A custodian leaves or a share is lost: a new PIN, split into a new set of shares, so every old
// share (which rebuilds only the old PIN) is dead. The new shares are written before the PIN
// changes: a crash in between leaves the old shares working, never a token nobody can open.
void cmd_shares_reissue(const po::variables_map& vm) {
  const auto custodians = vm["custodian"].as<std::vector<std::string>>();
  const int quorum = vm["quorum"].as<int>();
  const fs::path dir = vm["shares-dir"].as<std::string>();
  if (fs::exists(dir) && !fs::is_empty(dir)) throw FileError("'" + dir.string() + "' is not empty; new shares go to a new folder");
  std::unique_ptr<CaStore> store;
  CaConfig config;
  std::string actor = operator_of(vm);
  if (vm.count("state")) {
    store = std::make_unique<CaStore>(vm["state"].as<std::string>());
    config = store->config();
    actor = authorize(*store, vm, Role::kSecurityOfficer, "re-issuing the custodians' shares");
  }
  const std::string module = vm.count("module") ? vm["module"].as<std::string>() : config.module;
  const std::string token = vm.count("token") ? vm["token"].as<std::string>() : config.token;
  if (token.empty()) throw UsageError("name the token with --token or --state");
  hsm::Secret old_pin = obtain_user_pin(vm);
  std::vector<hsm::Secret> passphrases;
  for (const std::string& c : custodians) {
    passphrases.push_back(vm.count("new-passphrase-fd") ? hsm::read_secret_from_fd(vm["new-passphrase-fd"].as<int>())
                                                        : hsm::prompt_new_secret("New passphrase of custodian " + c + ": "));
    check_passphrase_rule(passphrases.back().view(), "custodian '" + c + "'");
  }
  TokenAccess access(module, token, hsm::Secret(old_pin.view()), true);
  CryptoPP::AutoSeededRandomPool rng;
  CryptoPP::SecByteBlock random(32);
  rng.GenerateBlock(random, random.size());
  const hsm::Secret secret(BytesView(random.data(), random.size()));
  const std::vector<Bytes> shares = split_secret(secret, quorum, custodians, passphrases, rng);
  fs::create_directories(dir);
  for (std::size_t i = 0; i < shares.size(); ++i) write_new_file(dir / share_file_name(custodians[i]), shares[i], 0600);
  access.session->set_pin(old_pin, pin_from_secret(secret));
  if (store) {
    std::string names;
    for (const std::string& c : custodians) names += (names.empty() ? "" : ", ") + c;
    store->audit().append({"custody.reshare", "success", actor,
                           "security officer", "token '" + token + "': new PIN split " + std::to_string(quorum) + " of " +
                           std::to_string(custodians.size()) + " (" + names + "); every earlier share is void"}, now());
  }
  std::cout << "token '" << token << "': new PIN split " << quorum << " of " << custodians.size() << " into " << dir.string()
            << "/<custodian>.share; the old shares no longer open the token\n";
}

void cmd_share_print(const po::variables_map& vm) {
  const fs::path share = vm["share"].as<std::string>();
  const fs::path out = vm["out"].as<std::string>();
  const Bytes sealed = read_share_file(share);
  write_share_page(sealed, out);
  // Read the printed code straight back, as the custodian will years later.
  fs::path png = out;
  png.replace_extension(".png");
  if (read_share_file(png) != sealed) throw CustodyError("the printed QR code does not read back as the share; do not rely on this page");
  const ShareHeader h = read_share_header(sealed);
  std::cout << "share page of custodian '" << h.custodian << "' written to " << out.string() << " (QR code " << png.string()
            << ", read back and checked)\n";
}

void cmd_people(const po::variables_map& vm) {
  CaStore store(vm["state"].as<std::string>());
  PeopleRegistry registry(store.db());
  for (const Person& p : registry.list()) {
    std::cout << p.name << "  " << roles_text(p.roles) << "  enrolled " << pki::format_time(p.enrolled) << "  credential "
              << (p.has_passphrase ? "passphrase" : "sealed share") << "\n";
  }
}

}  // namespace

std::vector<Command> ceremony_commands() {
  return {
      {"ceremony run", "walk a ceremony script with its people: confirmations, signer commands, checks, transcript",
       [](po::options_description& o) {
         o.add_options()("script", po::value<std::string>()->required(), "the ceremony script (ceremony/scripts/KIND.ceremony)")(
             "plan", po::value<std::string>()->required(), "the reviewed plan (names, validity, people and roles)")(
             "site", po::value<std::string>()->required(), "the site binding (module, state folder, media, output folder)")(
             "rehearsal", "mark the transcript as a rehearsal with stand-in custodians (the golden transcript)")(
             "golden", po::value<std::string>(), "a rehearsal's transcript: every difference becomes a deviation in the report")(
             "answers-fd", po::value<int>(), "read names, passphrases and PINs from this descriptor, one a line (scripted stand-ins)");
       },
       cmd_ceremony_run, "script"},
      {"ceremony verify", "check a transcript: its chain, its signature, its steps, its link to the audit log and the previous ceremony",
       [](po::options_description& o) {
         o.add_options()("transcript", po::value<std::string>()->required(), "the transcript")(
             "state", po::value<std::string>(), "the CA state: pin the audit key and find the transcript in the audit log")(
             "audit-key", po::value<std::string>(), "the audit public key (SPKI, DER or PEM)")(
             "previous", po::value<std::string>(), "the previous ceremony's transcript")(
             "script", po::value<std::string>(), "the script: every one of its steps must be done");
         add_pin_option(o);  // --state of an encrypted database (R42)
       },
       cmd_ceremony_verify, "transcript"},
      {"ceremony digest", "print a script's steps, the plan's people and the digest to read aloud at review",
       [](po::options_description& o) {
         o.add_options()("script", po::value<std::string>()->required(), "the ceremony script")(
             "plan", po::value<std::string>()->required(), "the plan");
       },
       cmd_ceremony_digest, "script"},
      {"ceremony report", "write the witnesses' printable report (HTML) from a transcript",
       [](po::options_description& o) {
         o.add_options()("transcript", po::value<std::string>()->required(), "the transcript")(
             "out", po::value<std::string>()->required(), "the HTML file to write");
       },
       cmd_ceremony_report, "transcript"},
      {"shares-reissue", "new custodian shares for a new PIN; every old share dies (R5: a custodian leaves, a share is lost)",
       [](po::options_description& o) {
         add_module_option(o);
         add_pin_option(o);
         add_approval_options(o);
         o.add_options()("state", po::value<std::string>(), "CA state folder (token and audit log)")(
             "token", po::value<std::string>(), "token label (default: the state's)")(
             "custodian", po::value<std::vector<std::string>>()->required(), "a custodian of the new set; repeat for each of N")(
             "quorum", po::value<int>()->default_value(3), "M: how many custodians must be present")(
             "shares-dir", po::value<std::string>()->required(), "a new folder for the new sealed shares")(
             "new-passphrase-fd", po::value<int>(), "read the custodians' new passphrases from this descriptor, one a line")(
             "operator", po::value<std::string>(), "who runs this command (recorded in the audit log)");
       },
       cmd_shares_reissue},
      {"share-print", "print a custodian's sealed share as a page with its QR code (paper backup), read back and checked",
       [](po::options_description& o) {
         o.add_options()("share", po::value<std::string>()->required(), "the sealed share (file, or an image of its page)")(
             "out", po::value<std::string>()->required(), "the page to write (HTML; the QR code also as PNG beside it)");
       },
       cmd_share_print, "share"},
      {"people", "list the people registered on the signer and their roles (R50)",
       [](po::options_description& o) {
         o.add_options()("state", po::value<std::string>()->required(), "CA state folder");
         add_pin_option(o);  // an encrypted database (R42) opens with the token
       },
       cmd_people},
  };
}

}  // namespace hanko::offline
