#include <chrono>
#include <cstdio>
#include <iostream>

#include "hanko/common/files.h"
#include "hanko/hsm/error.h"
#include "hanko/offline/ca_store.h"
#include "hanko/offline/command.h"
#include "hanko/offline/custody.h"
#include "hanko/offline/people.h"
#include "hanko/offline/profiles.h"
#include "hanko/pki/pem.h"

namespace hanko::offline {

pki::Time now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

void check_activation_data(const hsm::Secret& secret, std::string_view what) {
  if (!meets_activation_rule(secret.view())) throw PolicyError(std::string(what) + " must be " + kActivationRule);
}

hsm::Secret obtain_secret(const po::variables_map& vm, const char* fd_option, const char* prompt) {
  if (vm.count(fd_option)) return hsm::read_secret_from_fd(vm[fd_option].as<int>());
  return hsm::prompt_secret(prompt);
}

hsm::Secret obtain_new_secret(const po::variables_map& vm, const char* fd_option, const char* prompt) {
  if (vm.count(fd_option)) return hsm::read_secret_from_fd(vm[fd_option].as<int>());
  return hsm::prompt_new_secret(prompt);
}

void present_shares(Quorum& quorum, const std::vector<std::string>& files, std::optional<int> passphrase_fd, const std::string& kind) {
  for (const std::string& file : files) {
    try {
      const Bytes share = read_share_file(file);
      const ShareHeader header = read_share_header(share);
      // On a terminal a mistyped passphrase may be typed again; a descriptor is read once.
      for (int attempt = 1;; ++attempt) {
        hsm::Secret passphrase = passphrase_fd ? hsm::read_secret_from_fd(*passphrase_fd)
                                               : hsm::prompt_secret(kind.empty() ? "Passphrase of custodian " + header.custodian + ": "
                                                                                 : "Backup-key passphrase of custodian " + header.custodian + ": ");
        try {
          quorum.present(share, passphrase);
          break;
        } catch (const WrongPassphrase& e) {
          if (passphrase_fd || attempt == 3) throw;
          std::cerr << e.what() << "; type it again (" << 3 - attempt << " more tries)\n";
        }
      }
      std::cerr << kind << "share of custodian '" << header.custodian << "' accepted (" << quorum.present_count() << " of "
                << quorum.threshold() << ")";
      if (quorum.still_needed() > 0) std::cerr << "; " << quorum.still_needed() << " more needed";
      std::cerr << "\n";
    } catch (const CustodyError& e) {
      throw CustodyError("share file '" + file + "': " + e.what());
    }
  }
}

namespace {

hsm::Secret read_user_pin(const po::variables_map& vm) {
  if (!vm.count("share")) return obtain_secret(vm, "pin-fd", "User PIN of the token: ");
  if (vm.count("pin-fd")) throw UsageError("give either --pin-fd or custodians' --share files, not both");
  Quorum quorum;
  present_shares(quorum, vm["share"].as<std::vector<std::string>>(),
                 vm.count("passphrase-fd") ? std::optional<int>(vm["passphrase-fd"].as<int>()) : std::nullopt, "");
  return pin_from_secret(quorum.recover());
}

}  // namespace

hsm::Secret obtain_user_pin(const po::variables_map& vm) {
  // Read once per process: the database key (R42) and the signing keys both need the login, and
  // a descriptor or the custodians' shares can be read only once.
  static std::optional<hsm::Secret> pin;
  if (!pin) pin = read_user_pin(vm);
  return hsm::Secret(pin->view());
}

void add_module_option(po::options_description& o) {
  o.add_options()("module", po::value<std::string>()->default_value(hsm::kDefaultModulePath),
                  "PKCS#11 module to load");
}

void add_pin_option(po::options_description& o) {
  o.add_options()("pin-fd", po::value<int>(), "read the user PIN from this file descriptor (default: ask on the terminal)")(
      "share", po::value<std::vector<std::string>>(), "a custodian's sealed share; repeat until the quorum is present")(
      "passphrase-fd", po::value<int>(), "read the custodians' passphrases from this descriptor, one a line, in share order");
}

TokenAccess::TokenAccess(const std::string& module_path, const std::string& token, hsm::Secret pin, bool read_write) {
  module = std::make_unique<hsm::Module>(module_path);
  session = std::make_unique<hsm::Session>(*module, module->find_token(token), read_write);
  session->login_user(pin);
}

TokenAccess::~TokenAccess() {
  session.reset();
  module.reset();
}

namespace {
// "Sato, Tanaka" from the headers of the shares named by `option` (names are not secret).
std::string share_holders(const po::variables_map& vm, const char* option) {
  if (!vm.count(option)) return {};
  std::string out;
  for (const std::string& file : vm[option].as<std::vector<std::string>>()) {
    try {
      out += (out.empty() ? "" : ", ") + read_share_header(read_share_file(file)).custodian;
    } catch (const std::exception&) {
      // An unreadable share fails the command itself, with its own message.
    }
  }
  return out;
}
}  // namespace

std::string operator_of(const po::variables_map& vm) {
  std::string who = vm.count("operator") ? vm["operator"].as<std::string>() : "";
  const auto add = [&](const std::string& part) { who += (who.empty() ? "" : "; ") + part; };
  if (const std::string c = share_holders(vm, "share"); !c.empty()) add("custodians " + c + " (their shares opened the token)");
  if (const std::string c = share_holders(vm, "backup-share"); !c.empty()) add("backup-key custodians " + c);
  return who.empty() ? "unidentified operator" : who;
}

std::string authenticate(CaStore& store, const po::variables_map& vm, Role role, const std::string& what) {
  PeopleRegistry registry(store.db());
  const std::vector<Person> people = registry.list();
  if (people.empty()) {
    std::cerr << "note: no people are registered on this signer, so roles are not checked (enrol them in a ceremony, R50)\n";
    return operator_of(vm);
  }
  std::string holders;
  for (const Person& p : people) {
    if (p.holds(role)) holders += (holders.empty() ? "" : ", ") + p.name;
  }
  const std::string needs = what + " needs the " + role_title(role) + " role (" + (holders.empty() ? "nobody holds it" : "held by " + holders) + ")";
  if (!vm.count("as")) throw PolicyError(needs + "; name yourself with --as");
  const std::string name = vm["as"].as<std::string>();
  const auto person = registry.find(name);
  if (!person) throw PolicyError(needs + "; '" + name + "' is not registered");
  if (!person->holds(role)) throw PolicyError(needs + "; " + name + " is " + roles_text(person->roles));
  const std::string prompt = "Passphrase of " + name + ": ";
  const hsm::Secret passphrase = obtain_secret(vm, "as-passphrase-fd", prompt.c_str());
  if (!registry.check_passphrase(name, passphrase)) throw PolicyError("wrong passphrase for " + name);
  return name + " (" + role_title(role) + ")";
}

std::string authorize(CaStore& store, const po::variables_map& vm, Role role, const std::string& what) {
  const std::string tag = vm.count("operator") ? " " + vm["operator"].as<std::string>() : "";
  PeopleRegistry registry(store.db());
  if (registry.list().empty()) {
    std::cerr << "note: no people are registered on this signer, so roles and approvals are not checked (enrol them in a ceremony, R50)\n";
    return operator_of(vm);
  }
  const std::string actor = authenticate(store, vm, role, what);
  std::string managers;
  for (const Person& p : registry.list()) {
    if (p.holds(Role::kManager)) managers += (managers.empty() ? "" : ", ") + p.name;
  }
  const std::string needs = what + " needs a supervising operations manager's approval (" + managers + ")";
  if (!vm.count("approved-by")) throw PolicyError(needs + "; name them with --approved-by");
  const std::string name = vm["approved-by"].as<std::string>();
  if (name == vm["as"].as<std::string>()) throw PolicyError(needs + "; nobody approves their own work (R51)");
  const auto person = registry.find(name);
  if (!person || !person->holds(Role::kManager)) {
    throw PolicyError(needs + "; " + name + (person ? " is " + roles_text(person->roles) : std::string(" is not registered")));
  }
  const std::string prompt = "Passphrase of " + name + " (approving): ";
  const hsm::Secret passphrase = obtain_secret(vm, "approver-passphrase-fd", prompt.c_str());
  if (!registry.check_passphrase(name, passphrase)) throw PolicyError("wrong passphrase for " + name);
  return actor + ", approved by " + name + " (operations manager)" + tag;
}

void approve(const po::variables_map& vm, const std::string& question, const std::string& word) {
  if (vm.count("yes")) return;
  std::FILE* tty = std::fopen("/dev/tty", "r+");
  if (!tty) throw UsageError("nobody to approve (no terminal); read the summary and rerun with --yes");
  std::fprintf(tty, "%s Type '%s' to approve: ", question.c_str(), word.c_str());
  std::fflush(tty);
  char answer[32] = {};
  const bool read = std::fgets(answer, sizeof answer, tty) != nullptr;
  std::fclose(tty);
  if (!read || std::string(answer).rfind(word, 0) != 0) throw PolicyError("not approved; nothing was " + word + (word.back() == 'e' ? "d" : "ed"));
}

void add_state(po::options_description& o) {
  o.add_options()("state", po::value<std::string>()->required(), "CA state folder")(
      "operator", po::value<std::string>(), "who runs this command (recorded in the audit log)");
}

void add_state_for_reading(po::options_description& o) {
  add_state(o);
  add_pin_option(o);
}

void add_approval_options(po::options_description& o) {
  add_identity_options(o);
  o.add_options()("approved-by", po::value<std::string>(), "the operations manager who approves this key operation (R51)")(
      "approver-passphrase-fd", po::value<int>(), "read the approver's passphrase from this descriptor (default: the terminal)");
}

void add_identity_options(po::options_description& o) {
  o.add_options()("as", po::value<std::string>(), "who you are (a registered person; R50 roles are checked)")(
      "as-passphrase-fd", po::value<int>(), "read your passphrase from this descriptor (default: the terminal)");
}

Bytes read_der_or_pem(const std::string& path, std::string_view label) {
  const Bytes data = read_file(path, 1 << 20);
  if (pki::looks_like_pem(data)) {
    return pki::pem_decode(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()), label);
  }
  return data;
}

}  // namespace hanko::offline
