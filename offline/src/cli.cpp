#include "hanko/offline/cli.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "hanko/offline/ca_store.h"
#include "hanko/offline/command.h"
#include "hanko/offline/database_key.h"
#include "hanko/offline/network_guard.h"
#include "hanko/offline/profiles.h"

namespace hanko::offline {

namespace {

constexpr const char* kProgram = "hanko-offline";

std::vector<Command> commands() {
  std::vector<Command> all = tool_commands();
  for (Command& c : ca_commands()) all.push_back(std::move(c));
  for (Command& c : query_commands()) all.push_back(std::move(c));
  for (Command& c : transfer_commands()) all.push_back(std::move(c));
  for (Command& c : backup_commands()) all.push_back(std::move(c));
  for (Command& c : ceremony_commands()) all.push_back(std::move(c));
  for (Command& c : archive_commands()) all.push_back(std::move(c));
  return all;
}

// Commands that read only the files named on their command line, never a key, a token or the CA
// state; every other command checks for network interfaces when the air gap is required.
bool touches_keys_or_state(std::string_view name) {
  return name != "show" && name != "inspect" && name != "ceremony digest" && name != "ceremony report" && name != "archive verify" &&
         name != "archive copy" && name != "share-print";
}

void print_usage(std::ostream& out) {
  out << "usage: " << kProgram << " COMMAND [options]\n\ncommands:\n";
  for (const Command& c : commands()) out << "  " << c.name << std::string(std::max<std::size_t>(15, std::string(c.name).size() + 2) - std::string(c.name).size(), ' ') << c.summary << "\n";
  out << "\nRun '" << kProgram << " COMMAND --help' for a command's options. PINs are read from a\n"
      << "descriptor (--pin-fd) or the terminal, never from the command line or the environment.\n";
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    print_usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  if (std::string_view(argv[1]) == "--version") {
    std::cout << kProgram << " " << HANKO_VERSION << "\n";
    return 0;
  }
  std::string name = argv[1];
  // Two-word commands: "ceremony run", "archive verify", ...
  if ((name == "ceremony" || name == "archive") && argc > 2 && argv[2][0] != '-') {
    name += std::string(" ") + argv[2];
    --argc;
    ++argv;
  }
  const std::vector<Command> all = commands();
  const Command* command = nullptr;
  for (const Command& c : all) {
    if (name == c.name) command = &c;
  }
  if (!command && (name == "ceremony" || name == "archive")) {
    // "hanko-offline ceremony --help": the group's subcommands.
    const bool asked = argc > 2 && (std::string_view(argv[2]) == "--help" || std::string_view(argv[2]) == "-h");
    std::ostream& out = asked ? std::cout : std::cerr;
    out << "usage: " << kProgram << " " << name << " SUBCOMMAND [options]\n\nsubcommands:\n";
    for (const Command& c : all) {
      const std::string n = c.name;
      if (n.rfind(name + " ", 0) != 0) continue;
      const std::string sub = n.substr(name.size() + 1);
      out << "  " << sub << std::string(std::max<std::size_t>(12, sub.size() + 2) - sub.size(), ' ') << c.summary << "\n";
    }
    out << "\nRun '" << kProgram << " " << name << " SUBCOMMAND --help' for its options.\n";
    return asked ? 0 : 2;
  }
  if (!command) {
    std::cerr << kProgram << ": unknown command '" << name << "'; run '" << kProgram << " --help'\n";
    return 2;
  }
  po::options_description options(std::string(kProgram) + " " + name + ": " + command->summary + "\noptions");
  options.add_options()("help,h", "show this help");
  if (touches_keys_or_state(name)) {
    options.add_options()("require-air-gap",
                          "refuse to run if any network interface other than loopback exists "
                          "(always on when /etc/hanko/air-gap exists, as in the appliance image)")(
        "expect-ca", po::value<std::string>(),
        "refuse a CA state other than this one: the SHA-256 of its first self-signed certificate ('status' prints it)");
  }
  command->options(options);
  po::positional_options_description positional;
  if (command->positional) positional.add(command->positional, 1);
  po::variables_map vm;
  try {
    // No abbreviations: '--pin' must not quietly become '--pin-fd'.
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc - 1, argv + 1).options(options).positional(positional).style(style).run(), vm);
    if (vm.count("help")) {
      std::cout << options;
      if (command->details) std::cout << "\n" << command->details;
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << kProgram << " " << name << ": " << e.what() << "; run '" << kProgram << " " << name << " --help'\n";
    return 2;
  }
  try {
    if (touches_keys_or_state(name) && (vm.count("require-air-gap") || air_gap_required())) {
      check_no_network();
    }
    // R42: an encrypted CA database opens with the key its token computes, after a login with
    // this command's PIN (read once, shared with the signing keys).
    const DatabaseKeys::Scope database_keys([&vm, name](const CaConfig& config) {
      if (!vm.count("pin-fd") && !vm.count("share") && !::isatty(STDIN_FILENO)) {
        throw PolicyError("the CA database is encrypted (R42) and opens only with its token: give '" + std::string(kProgram) + " " + name +
                          "' the PIN with --pin-fd or the custodians' --share files");
      }
      TokenAccess token(config.module, config.token, obtain_user_pin(vm), false);
      return database_key(*token.session, config.database_key);
    });
    if (vm.count("expect-ca")) {
      if (!vm.count("state")) throw UsageError("--expect-ca needs the CA state (--state)");
      CaStore(vm["state"].as<std::string>()).check_identity(vm["expect-ca"].as<std::string>());
    }
    command->run(vm);
    return 0;
  } catch (const UsageError& e) {
    std::cerr << kProgram << " " << name << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << kProgram << " " << name << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace hanko::offline
