#include <chrono>
#include <iostream>

#include "hanko/hsm/error.h"
#include "hanko/offline/command.h"
#include "hanko/offline/custody.h"
#include "hanko/offline/files.h"
#include "hanko/offline/profiles.h"
#include "hanko/pki/pem.h"

namespace hanko::offline {

pki::Time now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

void check_activation_data(const hsm::Secret& secret, std::string_view what) {
  bool upper = false, lower = false, digit = false;
  for (std::uint8_t c : secret.view()) {
    upper |= c >= 'A' && c <= 'Z';
    lower |= c >= 'a' && c <= 'z';
    digit |= c >= '0' && c <= '9';
  }
  if (secret.size() < 8 || !upper || !lower || !digit) {
    throw PolicyError(std::string(what) + " must be at least 8 characters with upper case, lower case and digits (R6)");
  }
}

hsm::Secret obtain_secret(const po::variables_map& vm, const char* fd_option, const char* prompt) {
  if (vm.count(fd_option)) return hsm::read_secret_from_fd(vm[fd_option].as<int>());
  return hsm::prompt_secret(prompt);
}

hsm::Secret obtain_user_pin(const po::variables_map& vm) {
  if (!vm.count("share")) return obtain_secret(vm, "pin-fd", "User PIN of the token: ");
  if (vm.count("pin-fd")) throw UsageError("give either --pin-fd or custodians' --share files, not both");
  const auto files = vm["share"].as<std::vector<std::string>>();
  Quorum quorum;
  for (const std::string& file : files) {
    const Bytes share = read_file(file, 1 << 16);
    const ShareHeader header = read_share_header(share);
    hsm::Secret passphrase = vm.count("passphrase-fd")
                                 ? hsm::read_secret_from_fd(vm["passphrase-fd"].as<int>())
                                 : hsm::prompt_secret("Passphrase of custodian " + header.custodian + ": ");
    quorum.present(share, passphrase);
    std::cerr << "share of custodian '" << header.custodian << "' accepted (" << quorum.present_count() << " of "
              << quorum.threshold() << ")";
    if (quorum.still_needed() > 0) std::cerr << "; " << quorum.still_needed() << " more needed";
    std::cerr << "\n";
  }
  return pin_from_secret(quorum.recover());
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

Bytes read_der_or_pem(const std::string& path, std::string_view label) {
  const Bytes data = read_file(path, 1 << 20);
  if (pki::looks_like_pem(data)) {
    return pki::pem_decode(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()), label);
  }
  return data;
}

}  // namespace hanko::offline
