#pragma once
// What every hanko-offline command shares: the command table entry and small helpers. Each
// group of commands lives in its own file and returns its entries; cli.cpp only dispatches.
#include <boost/program_options.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hanko/hsm/module.h"
#include "hanko/hsm/secret.h"
#include "hanko/hsm/session.h"
#include "hanko/pki/time.h"

namespace hanko::offline {

namespace po = boost::program_options;

struct Command {
  const char* name;
  const char* summary;
  std::function<void(po::options_description&)> options;
  std::function<void(const po::variables_map&)> run;
  const char* positional = nullptr;  // name of a single positional option, if any
  const char* details = nullptr;     // printed after the options by --help (formats, examples)
};

std::vector<Command> ca_commands();
std::vector<Command> tool_commands();
std::vector<Command> transfer_commands();  // export, import, inspect (transfer_commands.cpp)
std::vector<Command> backup_commands();    // backup-setup, backup, backup-copy, restore, destroy-key
std::vector<Command> ceremony_commands();
std::vector<Command> query_commands();     // list, find, get (query_commands.cpp)
std::vector<Command> archive_commands();   // archive create/verify/copy (R43)  // ceremony run/verify/digest/report, shares-reissue, people

// A mistake on the command line: exit status 2 instead of 1.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The wall clock, read only by commands; libraries take time as an argument.
pki::Time now();

// R6: activation data of at least 8 characters with upper case, lower case and digits.
void check_activation_data(const hsm::Secret& secret, std::string_view what);

// A secret from the descriptor named by `fd_option` if given, else from the terminal.
hsm::Secret obtain_secret(const po::variables_map& vm, const char* fd_option, const char* prompt);
// The same for a secret being set: on the terminal it is asked twice.
hsm::Secret obtain_new_secret(const po::variables_map& vm, const char* fd_option, const char* prompt);

// The token's user PIN: rebuilt from custodians' shares (--share, --passphrase-fd: the
// passphrases in the order of the shares, one a line), else from --pin-fd or the terminal.
// Read once; later calls in the same process return the same PIN.
hsm::Secret obtain_user_pin(const po::variables_map& vm);

// Presents custodians' sealed share files to a quorum, with their passphrases from the descriptor
// (one a line, in the order of the files) or the terminal (a mistyped one may be typed again, up
// to three times). Errors name the file. `kind` prefixes the progress lines ("backup-key ").
class Quorum;
void present_shares(Quorum& quorum, const std::vector<std::string>& files, std::optional<int> passphrase_fd, const std::string& kind);

void add_module_option(po::options_description& o);
// --state and --operator.
void add_state(po::options_description& o);
// Commands that only read: an encrypted database (R42) still needs the token's PIN.
void add_state_for_reading(po::options_description& o);
void add_pin_option(po::options_description& o);

// A logged-in session on a token; the session closes before the module finalises.
struct TokenAccess {
  std::unique_ptr<hsm::Module> module;
  std::unique_ptr<hsm::Session> session;

  TokenAccess(const std::string& module_path, const std::string& token, hsm::Secret pin, bool read_write);
  ~TokenAccess();
  TokenAccess(TokenAccess&&) = default;
  TokenAccess(const TokenAccess&) = delete;
  TokenAccess& operator=(const TokenAccess&) = delete;
};

// Who runs a command, for the audit log (R40): --operator, and the custodians whose shares
// (--share, --backup-share) opened the token or the backup key; "unidentified operator" if none.
std::string operator_of(const po::variables_map& vm);

class CaStore;
enum class Role;
// R50/R51: once people are registered on the signer (a CA made by a ceremony), a command that
// needs a role asks for a registered person holding it: --as NAME, the passphrase from
// --as-passphrase-fd or the terminal. Returns "NAME (role)" for the audit log; throws
// PolicyError naming who holds the role. A CA without registered people (made by hand) is not
// checked, and the command says so.
std::string authenticate(CaStore& store, const po::variables_map& vm, Role role, const std::string& what);
void add_identity_options(po::options_description& o);

// R51 for key operations: once people are registered, the one who runs it (--as, holding
// `role`) and a supervising operations manager (--approved-by, another person) both prove who
// they are. Returns the audit log's actor ("NAME (role), approved by NAME (operations manager)",
// followed by --operator when given).
std::string authorize(CaStore& store, const po::variables_map& vm, Role role, const std::string& what);
void add_approval_options(po::options_description& o);

// What you see is what you sign: after the summary, the operator types `word` on the terminal,
// or --yes was given (scripted ceremonies). Throws PolicyError when not approved.
void approve(const po::variables_map& vm, const std::string& question, const std::string& word = "sign");

// Reads a DER file, or the first PEM block with `label`.
Bytes read_der_or_pem(const std::string& path, std::string_view label);

}  // namespace hanko::offline
