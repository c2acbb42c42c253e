#pragma once
// Ceremonies (R5, R11–R13, R25, R44, R51): a reviewed script walked step by step with the people
// it names, each confirming with their own credential, the signer's commands run as child
// processes with secrets passed through pipes (never argv), every output checked, and a
// hash-chained transcript signed at the end by the audit key and linked to the audit log and to
// the previous ceremony.
//
// Three inputs, kept apart on purpose:
//   script  (ceremony/scripts/KIND.ceremony)  what happens: roles, steps, commands, checks
//   plan    (KEY = VALUE)                      the reviewed content: names, validity, policies,
//                                              the people and their roles
//   site    (KEY = VALUE)                      where: module, token, state folder, media paths
// The plan's digest covers script and plan; the site is recorded but not part of the digest, so
// a rehearsal on another machine has the same digest. Neither may hold a secret.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hanko/hsm/secret.h"
#include "hanko/offline/people.h"
#include "hanko/pki/algorithm.h"
#include "hanko/pki/time.h"

namespace hanko::offline {

class CeremonyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// KEY = VALUE lines, '#' comments. Keys that name a secret (pin, passphrase, password, secret)
// are refused: a PIN written into a plan is exactly what the ceremony exists to prevent.
struct Settings {
  std::string what;  // "plan" or "site", for messages
  std::string text;
  std::map<std::string, std::string> values;
  static Settings parse(std::string text, std::string what);
  const std::string& get(const std::string& key) const;  // throws naming the missing key
  bool has(const std::string& key) const { return values.count(key) > 0; }
  std::vector<std::string> list(const std::string& key) const;  // whitespace-separated
};

struct ScriptAction {
  std::string verb;                // say, confirm, activate, enrol, run, expect, evidence
  std::vector<std::string> words;  // arguments after the verb (quotes removed)
  std::string text;                // the rest of the line as written (for say)
  int line = 0;
};

struct ScriptStep {
  std::string id;
  std::vector<ScriptAction> actions;
  const ScriptAction* run() const;  // at most one per step
};

struct Script {
  std::string kind;
  std::string title;
  std::string state;  // "new" (the ceremony creates the CA state) or "existing"
  std::vector<std::pair<Role, int>> roles;  // who must be present, at least how many
  std::vector<std::string> needs;           // plan keys the script reads
  std::vector<ScriptStep> steps;
  std::string text;
  static Script parse(std::string text);  // throws CeremonyError naming the line
};

// The people of a plan: "person.NAME = role, role".
std::vector<std::pair<std::string, std::vector<Role>>> plan_people(const Settings& plan);

// The reviewed content's digest: SHA-256 over script and plan.
std::array<std::uint8_t, 32> plan_digest(const Script& script, const Settings& plan);

// Where questions are asked and answered. The terminal in a real ceremony; a descriptor with one
// answer a line for scripted stand-in custodians (rehearsals and CI).
class Console {
 public:
  virtual ~Console() = default;
  virtual void say(const std::string& text) = 0;
  virtual std::optional<std::string> ask(const std::string& prompt) = 0;  // nullopt: nobody answers
  virtual std::optional<hsm::Secret> ask_secret(const std::string& prompt) = 0;
  // A secret being set (a new passphrase): a person at a terminal types it twice.
  virtual std::optional<hsm::Secret> ask_new_secret(const std::string& prompt) { return ask_secret(prompt); }
};
std::unique_ptr<Console> terminal_console();
std::unique_ptr<Console> scripted_console(int fd);

// ----- transcripts -----------------------------------------------------------------------------

// One JSON object a line; each carries "seq" and "prev" (SHA-256 of the previous line's bytes),
// so a changed byte, a removed, reordered or inserted line breaks the chain. The last line is a
// signature by the audit key over the chain head.
struct TranscriptCheck {
  bool ok = false;
  std::string problem;
  std::vector<nlohmann::json> records;
  std::string kind;
  bool closed = false;
  bool signed_ok = false;
  Bytes signer_spki;
  Bytes head;  // hash of the last line before the signature
};
TranscriptCheck check_transcript(const std::string& text);
Bytes transcript_signed_data(BytesView head);  // what the audit key signs

struct VerifyOptions {
  std::optional<Bytes> audit_spki;                 // pin the signer (else: the transcript's key only)
  std::optional<std::filesystem::path> previous;   // the previous ceremony's transcript
  std::optional<std::filesystem::path> state;      // the CA state whose audit log must record it
  std::optional<std::filesystem::path> script;     // every step of this script must be done
};
// Returns a readable verdict; ok false names the first problem.
TranscriptCheck verify_transcript(const std::filesystem::path& path, const VerifyOptions& options);

// The printable witnesses' report (HTML) from a transcript; QR of the primary certificate's
// SHA-256 fingerprint as inline SVG. Also writes NAME-fingerprint.png beside it.
void write_report(const std::filesystem::path& transcript, const std::filesystem::path& html);

// Differences between a rehearsal's (golden) transcript and this one, one line each.
std::vector<std::string> compare_with_golden(const std::vector<nlohmann::json>& golden,
                                             const std::vector<nlohmann::json>& now);

// ----- the runner ------------------------------------------------------------------------------

struct RunOptions {
  std::filesystem::path script;
  std::filesystem::path plan;
  std::filesystem::path site;
  std::filesystem::path self;  // this program, run for each signer command
  bool rehearsal = false;
  std::optional<std::filesystem::path> golden;
  std::function<pki::Time()> clock;
};

// Walks the script; resumes an interrupted run of the same plan (never running a signer command
// twice: a step whose command left its mark in the audit log is recorded as done). Returns the
// transcript's path.
std::filesystem::path run_ceremony(const RunOptions& options, Console& console);

}  // namespace hanko::offline
