#include "hanko/offline/ceremony.h"

#include <cryptopp/osrng.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <set>
#include <sstream>

#include "hanko/common/files.h"
#include "hanko/hsm/error.h"
#include "hanko/hsm/pki_signer.h"
#include "hanko/offline/ca_store.h"
#include "hanko/offline/command.h"
#include "hanko/offline/custody.h"
#include "hanko/offline/database_key.h"
#include "hanko/offline/html.h"
#include "hanko/offline/profiles.h"
#include "hanko/pki/certificate.h"
#include "hanko/pki/crl.h"
#include "hanko/pki/pem.h"
#include "hanko/transfer/bundle.h"
#include "hanko/transfer/qr.h"

extern char** environ;

namespace hanko::offline {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

Bytes sha256(BytesView data) { return pki::digest(pki::HashAlgorithm::kSha256, data); }
Bytes sha256(const std::string& text) { return sha256(BytesView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())); }
std::string sha256_hex(const std::string& text) { return to_hex(sha256(text)); }

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// Splits on blanks; "double quotes" keep blanks inside one word.
std::vector<std::string> split_words(const std::string& text, int line) {
  std::vector<std::string> words;
  std::string current;
  bool quoted = false, any = false;
  for (char c : text) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && (c == ' ' || c == '\t')) {
      if (any) words.push_back(current);
      current.clear();
      any = false;
    } else {
      current += c;
      any = true;
    }
  }
  if (quoted) throw CeremonyError("line " + std::to_string(line) + ": unclosed quote");
  if (any) words.push_back(current);
  return words;
}

// Whole words only: "policy_mapping" is fine, "so_pin" and "user.passphrase" are not.
bool names_a_secret(std::string key) {
  for (char& c : key) c = std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : ' ';
  std::istringstream words(key);
  std::string word;
  while (words >> word) {
    if (word == "pin" || word == "pins" || word == "passphrase" || word == "passphrases" || word == "password" ||
        word == "passwords" || word == "secret" || word == "secrets" || word == "puk") {
      return true;
    }
  }
  return false;
}

// "1" to "99": a count of people in a script.
bool small_count(const std::string& w) {
  return !w.empty() && w.size() <= 2 && std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; }) && w != "0" && w != "00";
}

int plan_years(const std::string& w) {
  if (!small_count(w)) throw CeremonyError("'" + w + "' is not a number of years (1 to 99)");
  return std::stoi(w);
}

std::array<std::uint8_t, 32> to_array(BytesView b) {
  std::array<std::uint8_t, 32> a{};
  std::copy_n(b.begin(), std::min<std::size_t>(32, b.size()), a.begin());
  return a;
}

}  // namespace

// ----- settings, scripts, people ---------------------------------------------------------------

Settings Settings::parse(std::string text, std::string what) {
  Settings s;
  s.what = std::move(what);
  s.text = std::move(text);
  std::istringstream in(s.text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      throw CeremonyError(s.what + " line " + std::to_string(number) + ": expected 'key = value'");
    }
    const std::string key = trim(line.substr(0, eq));
    const std::string value = trim(line.substr(eq + 1));
    if (key.empty()) throw CeremonyError(s.what + " line " + std::to_string(number) + ": empty key");
    if (names_a_secret(key)) {
      throw CeremonyError(s.what + " line " + std::to_string(number) + ": '" + key +
                          "' looks like a secret; PINs and passphrases are typed by their holders during the "
                          "ceremony and never written into a " + s.what);
    }
    if (s.values.count(key)) throw CeremonyError(s.what + " line " + std::to_string(number) + ": '" + key + "' given twice");
    s.values[key] = value;
  }
  return s;
}

const std::string& Settings::get(const std::string& key) const {
  const auto it = values.find(key);
  if (it == values.end()) throw CeremonyError("the " + what + " has no '" + key + "'; add it and review the " + what + " again");
  return it->second;
}

std::vector<std::string> Settings::list(const std::string& key) const { return split_words(get(key), 0); }

const ScriptAction* ScriptStep::run() const {
  for (const ScriptAction& a : actions) {
    if (a.verb == "run") return &a;
  }
  return nullptr;
}

Script Script::parse(std::string text) {
  Script s;
  s.text = std::move(text);
  std::istringstream in(s.text);
  std::string raw;
  int number = 0;
  const auto fail = [&](const std::string& what) -> CeremonyError {
    return CeremonyError("script line " + std::to_string(number) + ": " + what);
  };
  while (std::getline(in, raw)) {
    ++number;
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find_first_of(" \t");
    const std::string verb = line.substr(0, space);
    const std::string rest = space == std::string::npos ? "" : trim(line.substr(space));
    const std::vector<std::string> words = split_words(rest, number);
    if (verb == "kind") {
      s.kind = rest;
    } else if (verb == "title") {
      s.title = rest;
    } else if (verb == "state") {
      if (rest != "new" && rest != "existing") throw fail("state is 'new' or 'existing'");
      s.state = rest;
    } else if (verb == "role") {
      if (words.size() != 2 || !parse_role(words[0]) || !small_count(words[1])) throw fail("expected 'role ROLE COUNT' with a role of R50");
      s.roles.emplace_back(*parse_role(words[0]), std::stoi(words[1]));
    } else if (verb == "needs") {
      for (const std::string& w : words) s.needs.push_back(w);
    } else if (verb == "step") {
      if (words.size() != 1) throw fail("expected 'step ID'");
      for (const ScriptStep& st : s.steps) {
        if (st.id == words[0]) throw fail("step '" + words[0] + "' twice");
      }
      s.steps.push_back({words[0], {}});
    } else if (verb == "say" || verb == "confirm" || verb == "activate" || verb == "enrol" || verb == "run" ||
               verb == "expect" || verb == "evidence") {
      if (s.steps.empty()) throw fail("'" + verb + "' before the first step");
      ScriptStep& step = s.steps.back();
      if (verb == "confirm" && (words.empty() || !parse_role(words[0]) || words.size() > 2 ||
                                (words.size() == 2 && words[1] != "all" && !small_count(words[1])))) {
        throw fail("expected 'confirm ROLE [COUNT|all]'");
      }
      if (verb == "run" && (words.empty() || step.run())) throw fail("one 'run' per step, with a command");
      if (verb == "expect" && (words.size() < 2 || (words[0] != "certificate" && words[0] != "crl" && words[0] != "file"))) {
        throw fail("expected 'expect certificate|crl|file PATH [options]'");
      }
      if (verb == "evidence" && (words.empty() || (words[0] != "audit" && words[0] != "token" && words[0] != "file" && words[0] != "none"))) {
        throw fail("expected 'evidence audit|token LABEL|file PATH|none'");
      }
      step.actions.push_back({verb, words, rest, number});
    } else {
      throw fail("unknown word '" + verb + "'");
    }
  }
  if (s.kind.empty() || s.title.empty() || s.state.empty() || s.steps.empty()) {
    throw CeremonyError("a script needs 'kind', 'title', 'state' and at least one 'step'");
  }
  return s;
}

std::vector<std::pair<std::string, std::vector<Role>>> plan_people(const Settings& plan) {
  std::vector<std::pair<std::string, std::vector<Role>>> people;
  for (const auto& [key, value] : plan.values) {
    if (key.rfind("person.", 0) != 0) continue;
    const std::string name = key.substr(7);
    std::vector<Role> roles;
    std::string item;
    std::istringstream in(value);
    while (std::getline(in, item, ',')) {
      item = trim(item);
      const auto role = parse_role(item);
      if (!role) throw CeremonyError("plan: '" + name + "' has an unknown role '" + item + "'");
      roles.push_back(*role);
    }
    check_separation_of_duties(name, roles);
    people.emplace_back(name, roles);
  }
  return people;
}

std::array<std::uint8_t, 32> plan_digest(const Script& script, const Settings& plan) {
  std::string data = "hanko ceremony plan v1\n";
  data += script.text;
  data += '\0';
  data += plan.text;
  return to_array(sha256(data));
}

// ----- consoles --------------------------------------------------------------------------------

namespace {

class TerminalConsole final : public Console {
 public:
  void say(const std::string& text) override { std::cout << text << std::endl; }
  std::optional<std::string> ask(const std::string& prompt) override {
    std::cout << prompt << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) return std::nullopt;
    return trim(answer);
  }
  std::optional<hsm::Secret> ask_secret(const std::string& prompt) override { return hsm::prompt_secret(prompt); }
  std::optional<hsm::Secret> ask_new_secret(const std::string& prompt) override { return hsm::prompt_new_secret(prompt); }
};

class ScriptedConsole final : public Console {
 public:
  explicit ScriptedConsole(int fd) : m_fd(fd) {}
  void say(const std::string& text) override { std::cout << text << std::endl; }
  std::optional<std::string> ask(const std::string& prompt) override {
    auto s = read_line();
    std::cout << prompt << (s ? std::string(reinterpret_cast<const char*>(s->data()), s->size()) : "(no answer)") << std::endl;
    if (!s) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(s->data()), s->size());
  }
  std::optional<hsm::Secret> ask_secret(const std::string& prompt) override {
    auto s = read_line();
    std::cout << prompt << (s ? "(typed)" : "(no answer)") << std::endl;
    return s;
  }

 private:
  std::optional<hsm::Secret> read_line() {
    if (m_eof) return std::nullopt;
    try {
      return hsm::read_secret_from_fd(m_fd);
    } catch (const hsm::Error&) {
      m_eof = true;  // end of the answers: nobody else is there to answer
      return std::nullopt;
    }
  }
  int m_fd;
  bool m_eof = false;
};

}  // namespace

std::unique_ptr<Console> terminal_console() { return std::make_unique<TerminalConsole>(); }
std::unique_ptr<Console> scripted_console(int fd) { return std::make_unique<ScriptedConsole>(fd); }

// ----- transcripts -----------------------------------------------------------------------------

Bytes transcript_signed_data(BytesView head) {
  const std::string context = "hanko ceremony transcript v1";
  Bytes data(context.begin(), context.end());
  data.insert(data.end(), head.begin(), head.end());
  return data;
}

TranscriptCheck check_transcript(const std::string& text) {
  TranscriptCheck c;
  if (!text.empty() && text.back() != '\n') {
    c.problem = "the last line is cut short (a write interrupted by a power cut?)";
    return c;
  }
  std::istringstream in(text);
  std::string line;
  Bytes previous(32, 0);
  std::string previous_line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    json record;
    try {
      record = json::parse(line);
    } catch (const json::exception&) {
      c.problem = "line " + std::to_string(number) + " is not a JSON record";
      return c;
    }
    if (!record.is_object() || !record.contains("seq") || !record.contains("prev") || !record.contains("type") ||
        !record["seq"].is_number_integer() || !record["prev"].is_string() || !record["type"].is_string()) {
      c.problem = "line " + std::to_string(number) + " lacks seq, prev or type";
      return c;
    }
    if (record["seq"].get<long long>() != number) {
      c.problem = "line " + std::to_string(number) + " has sequence " + std::to_string(record["seq"].get<long long>()) +
                  " (a line was removed, inserted or moved)";
      return c;
    }
    if (record["prev"].get<std::string>() != to_hex(previous)) {
      c.problem = "line " + std::to_string(number) + " does not chain to line " + std::to_string(number - 1) +
                  " (a line before it was changed, removed or inserted)";
      return c;
    }
    if (c.closed && record["type"] != "signature") {
      c.problem = "line " + std::to_string(number) + " follows the close of the ceremony";
      return c;
    }
    if (c.signed_ok || (!c.records.empty() && c.records.back()["type"] == "signature")) {
      c.problem = "line " + std::to_string(number) + " follows the signature";
      return c;
    }
    if (number == 1 && record["type"] != "open") {
      c.problem = "the first line is not the opening record";
      return c;
    }
    if (record["type"] == "close") c.closed = true;
    if (record["type"] == "signature") {
      if (!c.closed) {
        c.problem = "a signature before the close";
        return c;
      }
      c.head = previous;
      try {
        c.signer_spki = from_hex(record.at("spki").get<std::string>());
        const pki::PublicKey key = pki::parse_public_key(c.signer_spki);
        const auto algorithm = pki::parse_signature_algorithm_name(record.at("algorithm").get<std::string>());
        const Bytes signature = from_hex(record.at("signature").get<std::string>());
        c.signed_ok = algorithm && pki::verify_signature(key, *algorithm, transcript_signed_data(previous), signature);
      } catch (const std::exception&) {
        c.signed_ok = false;
      }
      if (!c.signed_ok) {
        c.problem = "the signature does not verify";
        return c;
      }
    }
    previous = sha256(line);
    previous_line = line;
    c.records.push_back(std::move(record));
  }
  if (c.records.empty()) {
    c.problem = "the transcript is empty";
    return c;
  }
  const json& open = c.records.front();
  c.kind = open.contains("kind") && open["kind"].is_string() ? open["kind"].get<std::string>() : "";
  if (!c.signed_ok) c.head = previous;
  c.ok = true;
  return c;
}

TranscriptCheck verify_transcript(const fs::path& path, const VerifyOptions& options) {
  const std::string text = read_text_file(path, 64u << 20);
  TranscriptCheck c = check_transcript(text);
  if (!c.ok) return c;
  const auto fail = [&](std::string problem) {
    c.ok = false;
    c.problem = std::move(problem);
    return c;
  };
  if (!c.closed) return fail("the ceremony was not closed (interrupted: run it again to resume)");
  if (!c.signed_ok) return fail("the transcript is not signed");
  if (options.audit_spki && *options.audit_spki != c.signer_spki) {
    return fail("signed by a key other than this CA's audit key");
  }
  const json& open = c.records.front();
  if (options.previous) {
    const std::string previous = sha256_hex(read_text_file(*options.previous, 64u << 20));
    if (open.value("previous", "") != previous) {
      return fail("does not chain to '" + options.previous->string() + "' (it names " + open.value("previous", "none") + ")");
    }
  }
  if (options.script) {
    const Script script = Script::parse(read_text_file(*options.script, 1 << 20));
    if (open.value("script_sha256", "") != sha256_hex(script.text)) return fail("was run from another script");
    for (const ScriptStep& step : script.steps) {
      const bool done = std::any_of(c.records.begin(), c.records.end(), [&](const json& r) {
        return r["type"] == "step.done" && r.value("step", "") == step.id;
      });
      if (!done) return fail("step '" + step.id + "' of the script is missing");
    }
  }
  if (options.state) {
    CaStore store(*options.state);
    const std::string digest = sha256_hex(text);
    sql::Statement s = store.db().prepare("SELECT sequence FROM audit WHERE type = 'ceremony.close' AND details LIKE ?1");
    s.bind(1, "%transcript " + digest + "%");
    if (!s.step()) return fail("the CA's audit log does not record this transcript (" + digest.substr(0, 16) + "...)");
    for (const json& r : {open, c.records[c.records.size() - 2]}) {
      if (!r.contains("audit_head") || r["audit_head"].is_null()) continue;
      const auto seq = r["audit_head"]["sequence"].get<std::int64_t>();
      const auto entries = store.audit().entries(seq, seq);
      if (entries.empty() || to_hex(entries.front().hash) != r["audit_head"]["hash"].get<std::string>()) {
        return fail("audit entry " + std::to_string(seq) + " named in the transcript is not in the CA's audit log");
      }
    }
  }
  return c;
}

// ----- golden comparison -----------------------------------------------------------------------

namespace {

std::vector<std::string> shape(const std::vector<json>& records) {
  std::vector<std::string> out;
  for (const json& r : records) {
    const std::string type = r.value("type", "");
    const std::string step = r.value("step", "");
    if (type == "step.begin") {
      out.push_back("step " + step);
    } else if (type == "confirm") {
      out.push_back("step " + step + ": " + r.value("role", "") + " " + r.value("person", "") + " confirmed");
    } else if (type == "refusal") {
      out.push_back("step " + step + ": refused " + r.value("person", ""));
    } else if (type == "enrol") {
      out.push_back("step " + step + ": " + r.value("person", "") + " enrolled as " + r.value("roles", ""));
    } else if (type == "run.end") {
      out.push_back("step " + step + ": command exit status " + std::to_string(r.value("status", -1)));
    } else if (type == "output") {
      std::string s = "step " + step + ": " + r.value("kind", "") + " " + fs::path(r.value("path", "")).filename().string();
      if (r.contains("subject")) s += " subject " + r["subject"].get<std::string>();
      if (r.contains("validity_days")) s += " valid " + std::to_string(r["validity_days"].get<long long>()) + " days";
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> compare_with_golden(const std::vector<json>& golden, const std::vector<json>& now) {
  std::vector<std::string> deviations;
  if (!golden.empty() && !now.empty() && golden.front().value("digest", "") != now.front().value("digest", "")) {
    deviations.push_back("the plan differs from the rehearsed plan (digest " + golden.front().value("digest", "").substr(0, 16) +
                         "... rehearsed, " + now.front().value("digest", "").substr(0, 16) + "... now)");
  }
  const std::vector<std::string> a = shape(golden), b = shape(now);
  // Longest common subsequence, then everything outside it is a deviation, in order.
  std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
  for (std::size_t i = a.size(); i-- > 0;) {
    for (std::size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ++i, ++j;
    } else if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
      deviations.push_back("not in the rehearsal: " + b[j++]);
    } else {
      deviations.push_back("rehearsed but not done: " + a[i++]);
    }
  }
  return deviations;
}

// ----- report ----------------------------------------------------------------------------------

namespace {


// The text in the fingerprint QR code: what a phone shows and a witness compares.
std::string fingerprint_qr_text(const std::string& sha256_hex_text) { return "SHA256:" + sha256_hex_text; }

}  // namespace

void write_report(const fs::path& transcript, const fs::path& html) {
  const std::string text = read_text_file(transcript, 64u << 20);
  const TranscriptCheck c = check_transcript(text);
  if (!c.ok) throw CeremonyError("cannot report on '" + transcript.string() + "': " + c.problem);
  const json& open = c.records.front();
  std::map<std::string, std::set<std::string>> present;  // person -> roles seen
  std::vector<const json*> outputs, deviations, steps;
  const json* primary = nullptr;
  for (const json& r : c.records) {
    const std::string type = r["type"];
    if (type == "confirm") present[r.value("person", "")].insert(r.value("role", ""));
    if (type == "output") {
      outputs.push_back(&r);
      if (r.value("primary", false)) primary = &r;
    }
    if (type == "deviation") deviations.push_back(&r);
    if (type == "step.begin" || type == "say" || type == "confirm" || type == "run.end" || type == "recovered" ||
        type == "refusal" || type == "abort") {
      steps.push_back(&r);
    }
  }
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(open.value("title", "")) +
                  "</title>\n<style>body{font-family:serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
                  "td,th{border:1px solid #888;padding:.2em .5em;vertical-align:top}code{font-size:.9em;word-break:break-all}"
                  ".dev{color:#a00}.sig{margin-top:3em}@media print{a{color:#000}}</style></head><body>\n";
  h += "<h1>" + html_escape(open.value("title", "")) + "</h1>\n";
  if (open.value("rehearsal", false)) h += "<p class=\"dev\"><strong>REHEARSAL</strong> (stand-in custodians; nothing here is a real key)</p>\n";
  h += "<p>Ceremony <code>" + html_escape(open.value("id", "")) + "</code>, kind <code>" + html_escape(c.kind) + "</code>, opened " +
       html_escape(open.value("time", "")) + ".</p>\n";
  h += "<p>Plan digest <code>" + html_escape(open.value("digest", "")) + "</code><br>read aloud as: <strong>" +
       html_escape(open.value("words", "")) + "</strong></p>\n";
  h += "<h2>Present</h2>\n<table><tr><th>Person</th><th>Role(s) confirmed</th><th>Signature</th></tr>\n";
  for (const auto& [person, roles] : present) {
    std::string list;
    for (const std::string& r : roles) list += (list.empty() ? "" : ", ") + r;
    h += "<tr><td>" + html_escape(person) + "</td><td>" + html_escape(list) + "</td><td style=\"width:14em\"></td></tr>\n";
  }
  h += "</table>\n<h2>What was signed and produced</h2>\n<table><tr><th>Output</th><th>What</th><th>Fingerprints</th></tr>\n";
  for (const json* o : outputs) {
    std::string what = o->value("kind", "");
    if (o->contains("subject")) what += "<br>" + html_escape((*o)["subject"].get<std::string>());
    if (o->contains("not_before")) what += "<br>" + html_escape((*o)["not_before"].get<std::string>()) + " to " + html_escape((*o)["not_after"].get<std::string>());
    if (o->contains("crl_number")) what += "<br>CRL number " + std::to_string((*o)["crl_number"].get<long long>());
    std::string prints = "SHA-256 <code>" + html_escape(o->value("sha256", "")) + "</code>";
    if (o->contains("sha1")) prints += "<br>SHA-1 <code>" + html_escape((*o)["sha1"].get<std::string>()) + "</code>";
    h += "<tr><td><code>" + html_escape(o->value("path", "")) + "</code></td><td>" + what + "</td><td>" + prints + "</td></tr>\n";
  }
  h += "</table>\n";
  if (primary) {
    const std::string qr_text = fingerprint_qr_text(primary->value("sha256", ""));
    const Bytes payload(qr_text.begin(), qr_text.end());
    const transfer::QrMatrix m = transfer::qr_encode(payload, 5, 'M');
    h += "<h2>New CA certificate</h2>\n<p>" + html_escape(primary->value("subject", "")) + "</p>\n" + transfer::render_svg(m) +
         "\n<p>The QR code holds <code>" + html_escape(qr_text) + "</code>; scan it and compare with the repository's fingerprints page.</p>\n";
    fs::path png = html;
    png.replace_extension(".fingerprint.png");
    write_file_atomic(png, transfer::encode_png(transfer::render(m, 8, 4)), 0640);
  }
  h += "<h2>Deviations</h2>\n";
  if (deviations.empty()) h += "<p>None.</p>\n";
  for (const json* d : deviations) h += "<p class=\"dev\">" + html_escape(d->value("text", "")) + "</p>\n";
  h += "<h2>Steps</h2>\n<ol>\n";
  bool open_item = false;
  for (const json* r : steps) {
    const std::string type = (*r)["type"];
    if (type == "step.begin") {
      h += std::string(open_item ? "</ul></li>\n" : "") + "<li><strong>" + html_escape(r->value("step", "")) + "</strong> " +
           html_escape(r->value("time", "")) + "<ul>\n";
      open_item = true;
    } else if (type == "say") {
      h += "<li>" + html_escape(r->value("text", "")) + "</li>\n";
    } else if (type == "confirm") {
      h += "<li>confirmed by " + html_escape(r->value("person", "")) + " (" + html_escape(r->value("role", "")) + ", " +
           html_escape(r->value("credential", "")) + ")</li>\n";
    } else if (type == "run.end") {
      h += "<li>command finished with status " + std::to_string(r->value("status", -1)) + "</li>\n";
    } else {
      h += "<li class=\"dev\">" + html_escape(type + ": " + r->value("reason", r->value("evidence", ""))) + "</li>\n";
    }
  }
  if (open_item) h += "</ul></li>\n";
  h += "</ol>\n<h2>Transcript</h2>\n<p><code>" + html_escape(transcript.filename().string()) + "</code> SHA-256 <code>" + sha256_hex(text) +
       "</code>, " + std::to_string(c.records.size()) + " records, " +
       (c.signed_ok ? "signed by the audit key (SHA-256 of its public key <code>" + to_hex(sha256(c.signer_spki)) + "</code>)"
                    : std::string("<strong class=\"dev\">not signed</strong>")) +
       ". Check it with <code>hanko-offline ceremony verify</code>.</p>\n";
  h += "<p class=\"sig\">Witnessed by: ______________________________ &nbsp; Date: ______________</p>\n</body></html>\n";
  // Names of the people present: for the ceremony's participants and auditors, not the world.
  write_file_atomic(html, BytesView(reinterpret_cast<const std::uint8_t*>(h.data()), h.size()), 0640);
}

// ----- the runner ------------------------------------------------------------------------------

namespace {

// Beside the CA database: the digest of the last closed ceremony's transcript, for the next
// ceremony's "previous" while an encrypted database is still sealed (R42).
constexpr const char* kLastCeremonyFile = "last-ceremony";

// A pipe whose read end the child gets at a fixed descriptor, holding a secret written at once.
struct SecretPipe {
  int target = -1;
  int read_end = -1;
};

class Runner {
 public:
  Runner(const RunOptions& options, Console& console) : m_options(options), m_console(console) {}
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  ~Runner() {
    if (m_fd >= 0) ::close(m_fd);
  }

  fs::path run();

 private:
  // transcript
  void append(json record);
  void load_existing(const std::string& text);
  [[noreturn]] void abort(const std::string& step, const std::string& reason);

  // the steps
  void do_step(const ScriptStep& step, bool resuming);
  void say(const ScriptStep& step, const ScriptAction& a);
  void confirm(const ScriptStep& step, const ScriptAction& a);
  void activate(const ScriptStep& step, const ScriptAction* a);
  void enrol(const ScriptStep& step);
  void refuse_unknown_name(const ScriptStep& step);
  void run_command(const ScriptStep& step, const ScriptAction& a, bool resuming);
  void expect(const ScriptStep& step, const ScriptAction& a);
  bool step_took_effect(const ScriptStep& step, std::int64_t audit_sequence);
  void close();

  // helpers
  std::string substitute(const std::string& text, const ScriptStep* step) const;
  std::vector<Role> plan_roles(const std::string& person) const;
  bool check_credential(const ScriptStep& step, const std::string& person, Role role, std::string& how,
                        Quorum* quorum, const fs::path& shares_dir);
  fs::path share_path(const std::string& person, const fs::path& shares_dir) const;
  bool state_exists() const { return fs::exists(m_state / "ca.db"); }
  // R42: an encrypted CA database opens only once this run has activated the token. Before that
  // the runner works from the plan and the shares, and checks what needs the database (people's
  // passphrases, the pinned identity) right after the activation, before any command runs.
  bool sealed() const;
  void after_activation(const ScriptStep& step);
  json audit_head() const;
  void flush_enrolments();
  std::string tag(const ScriptStep& step) const { return "[ceremony " + m_id + " step " + step.id + "]"; }
  pki::Time now() const { return m_options.clock(); }

  const RunOptions& m_options;
  Console& m_console;
  Script m_script;
  Settings m_plan, m_site;
  std::vector<std::pair<std::string, std::vector<Role>>> m_people;
  fs::path m_out, m_transcript, m_state;
  std::string m_id;
  std::array<std::uint8_t, 32> m_digest{};

  int m_fd = -1;
  std::int64_t m_seq = 0;
  Bytes m_last_hash = Bytes(32, 0);
  std::vector<json> m_records;

  std::optional<hsm::Secret> m_pin;
  struct Pending {
    std::vector<Role> roles;
    std::optional<Credential> credential;
  };
  std::map<std::string, Pending> m_enrolled;  // this ceremony's enrolments (verifiers only)
  bool m_enrolments_flushed = true;
  std::string m_step_actor;  // first person to confirm the current step
  // This step's confirmations and, until its command has run, their passphrases: the signer
  // checks them again itself ({approval:ROLE}), so a command never trusts the runner alone.
  std::vector<std::pair<std::string, Role>> m_step_confirmed;
  std::map<std::string, hsm::Secret> m_step_passphrases;
  struct DeferredCheck {
    std::string step, person;
    Role role;
    hsm::Secret passphrase;
  };
  std::vector<DeferredCheck> m_deferred;  // confirmations while sealed
  bool m_identity_pending = false;
  std::optional<std::string> m_previous_unchecked;  // taken from kLastCeremonyFile while sealed
};

bool Runner::sealed() const {
  if (m_pin || !state_exists()) return false;
  return !CaConfig::parse(read_text_file(m_state / "ca.conf", 1 << 20)).database_key.empty();
}

void Runner::after_activation(const ScriptStep& step) {
  if (!state_exists()) return;
  try {
    CaStore store(m_state);
    if (m_identity_pending) {
      if (m_site.has("expect_ca")) store.check_identity(m_site.get("expect_ca"));
      if (m_plan.has("ca_identity")) store.check_identity(m_plan.get("ca_identity"));
      m_identity_pending = false;
    }
    if (m_previous_unchecked) {
      // The clear file must name what the audit log says the last ceremony closed with.
      std::string logged = "none";
      sql::Statement s = store.db().prepare("SELECT details FROM audit WHERE type = 'ceremony.close' ORDER BY sequence DESC LIMIT 1");
      if (s.step()) logged = s.text(0).substr(s.text(0).rfind(' ') + 1);
      if (logged != *m_previous_unchecked) {
        abort(step.id, "'" + (m_state / kLastCeremonyFile).string() + "' names the previous ceremony " + m_previous_unchecked->substr(0, 16) +
                           "..., the audit log " + logged.substr(0, 16) + "...: the state folder was changed; restore it from a backup");
      }
      m_previous_unchecked.reset();
    }
    PeopleRegistry registry(store.db());
    for (const DeferredCheck& d : m_deferred) {
      const auto registered = registry.find(d.person);
      std::string reason;
      if (!registered || !registered->holds(d.role)) {
        reason = d.person + " (confirmed at step '" + d.step + "') is not registered on the signer as " + role_title(d.role);
      } else if (!registry.check_passphrase(d.person, d.passphrase)) {
        reason = "wrong passphrase for " + d.person + " (confirmed at step '" + d.step + "')";
      }
      if (!reason.empty()) {
        append({{"type", "refusal"}, {"step", d.step}, {"person", d.person}, {"reason", reason}});
        m_deferred.clear();
        abort(step.id, reason);
      }
      append({{"type", "registry-check"}, {"step", d.step}, {"person", d.person}, {"result", "passphrase matches the registry"}});
    }
    m_deferred.clear();
  } catch (const PolicyError& e) {
    abort(step.id, e.what());
  }
}

void Runner::append(json record) {
  record["seq"] = ++m_seq;
  record["prev"] = to_hex(m_last_hash);
  if (!record.contains("time")) record["time"] = pki::format_time(now());
  const std::string line = record.dump();
  const std::string with_newline = line + "\n";
  std::size_t done = 0;
  while (done < with_newline.size()) {
    const ssize_t n = ::write(m_fd, with_newline.data() + done, with_newline.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileError("cannot write the transcript '" + m_transcript.string() + "': " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(m_fd) != 0) throw FileError("cannot sync the transcript '" + m_transcript.string() + "': " + std::strerror(errno));
  m_last_hash = sha256(line);
  m_records.push_back(std::move(record));
}

void Runner::abort(const std::string& step, const std::string& reason) {
  append({{"type", "abort"}, {"step", step}, {"reason", reason}});
  throw CeremonyError("step '" + step + "': " + reason + "; the transcript records where it stopped: run the same command again to resume");
}

json Runner::audit_head() const {
  if (!state_exists() || sealed()) return nullptr;
  CaStore store(m_state);
  const auto head = store.audit().head();
  if (!head) return nullptr;
  return {{"sequence", head->sequence}, {"hash", to_hex(head->hash)}};
}

std::vector<Role> Runner::plan_roles(const std::string& person) const {
  for (const auto& [name, roles] : m_people) {
    if (name == person) return roles;
  }
  return {};
}

std::string Runner::substitute(const std::string& text, const ScriptStep* step) const {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find('{', pos);
    if (open == std::string::npos) break;
    const auto close = text.find('}', open);
    if (close == std::string::npos) break;
    out += text.substr(pos, open - pos);
    const std::string name = text.substr(open + 1, close - open - 1);
    if (name.rfind("plan.", 0) == 0) {
      out += m_plan.get(name.substr(5));
    } else if (name.rfind("site.", 0) == 0) {
      out += m_site.get(name.substr(5));
    } else if (name == "out") {
      out += m_out.string();
    } else if (name == "state") {
      out += m_state.string();
    } else if (name == "operator") {
      out += (m_step_actor.empty() ? std::string("ceremony") : m_step_actor) + " " + (step ? tag(*step) : "");
    } else if (name == "digest") {
      out += to_hex(m_digest);
    } else {
      throw CeremonyError("script: unknown placeholder '{" + name + "}'");
    }
    pos = close + 1;
  }
  return out + text.substr(pos);
}

fs::path Runner::share_path(const std::string& person, const fs::path& shares_dir) const {
  if (shares_dir.empty() && m_site.has("share." + person)) return m_site.get("share." + person);
  return (shares_dir.empty() ? fs::path(substitute(m_site.get("shares"), nullptr)) : shares_dir) / share_file_name(person);
}

bool Runner::check_credential(const ScriptStep& step, const std::string& person, Role role, std::string& how,
                              Quorum* quorum, const fs::path& shares_dir) {
  if (role == Role::kCustodian) {
    const fs::path path = share_path(person, shares_dir);
    Bytes share;
    try {
      share = read_share_file(path);
      const ShareHeader header = read_share_header(share);
      if (header.custodian != person) {
        append({{"type", "refusal"}, {"step", step.id}, {"person", person},
                {"reason", "the share at " + path.string() + " belongs to '" + header.custodian + "'"}});
        return false;
      }
    } catch (const std::exception& e) {
      append({{"type", "refusal"}, {"step", step.id}, {"person", person}, {"reason", std::string("share unreadable: ") + e.what()}});
      return false;
    }
    auto passphrase = m_console.ask_secret("  passphrase of custodian " + person + ": ");
    if (!passphrase) return false;
    try {
      Quorum alone;
      (quorum ? *quorum : alone).present(share, *passphrase);
    } catch (const CustodyError& e) {
      append({{"type", "refusal"}, {"step", step.id}, {"person", person}, {"reason", e.what()}});
      m_console.say("  refused: " + std::string(e.what()));
      return false;
    }
    how = "sealed share";
    return true;
  }
  auto passphrase = m_console.ask_secret("  passphrase of " + person + ": ");
  if (!passphrase) return false;
  bool ok = false;
  if (const auto it = m_enrolled.find(person); it != m_enrolled.end() && it->second.credential) {
    ok = it->second.credential->matches(*passphrase);
  } else if (!state_exists()) {
    append({{"type", "refusal"}, {"step", step.id}, {"person", person}, {"reason", person + " has not enrolled"}});
    m_console.say("  refused: " + person + " has not enrolled in this ceremony");
    return false;
  } else if (sealed()) {
    // The registry is inside the encrypted database: checked right after the activation.
    m_deferred.push_back({step.id, person, role, hsm::Secret(passphrase->view())});
    how = "passphrase (checked against the registry after activation, R42)";
    m_step_passphrases[person] = std::move(*passphrase);
    return true;
  } else {
    CaStore store(m_state);
    PeopleRegistry registry(store.db());
    const auto registered = registry.find(person);
    if (!registered || !registered->holds(role)) {
      append({{"type", "refusal"}, {"step", step.id}, {"person", person},
              {"reason", person + " is not registered on the signer as " + role_title(role) + "; enrol them in a ceremony first"}});
      m_console.say("  refused: " + person + " is not registered as " + role_title(role));
      return false;
    }
    ok = registry.check_passphrase(person, *passphrase);
  }
  if (!ok) {
    append({{"type", "refusal"}, {"step", step.id}, {"person", person}, {"reason", "wrong passphrase"}});
    m_console.say("  refused: wrong passphrase for " + person);
    return false;
  }
  how = "passphrase";
  m_step_passphrases[person] = std::move(*passphrase);
  return true;
}

// A name that is in no list of the plan may be a passphrase typed at the name prompt: it is
// neither written to the transcript nor repeated on the screen.
void Runner::refuse_unknown_name(const ScriptStep& step) {
  const std::string reason = "a name that is not in the plan (not recorded: it may have been a secret typed at the wrong prompt)";
  append({{"type", "refusal"}, {"step", step.id}, {"person", "(not in the plan)"}, {"reason", reason}});
  m_console.say("  refused: " + reason);
}

void Runner::say(const ScriptStep& step, const ScriptAction& a) {
  const std::string text = substitute(a.text, &step);
  m_console.say("  " + text);
  append({{"type", "say"}, {"step", step.id}, {"text", text}});
}

void Runner::confirm(const ScriptStep& step, const ScriptAction& a) {
  const Role role = *parse_role(a.words[0]);
  std::vector<std::string> eligible;
  for (const auto& [name, roles] : m_people) {
    if (std::find(roles.begin(), roles.end(), role) != roles.end()) eligible.push_back(name);
  }
  const int needed = a.words.size() < 2 ? 1 : a.words[1] == "all" ? static_cast<int>(eligible.size()) : std::stoi(a.words[1]);
  std::set<std::string> confirmed;
  int failures = 0;
  while (static_cast<int>(confirmed.size()) < needed) {
    const auto name = m_console.ask("  " + std::string(role_title(role)) + " to confirm step '" + step.id + "' (" +
                                    std::to_string(confirmed.size() + 1) + " of " + std::to_string(needed) + "), name: ");
    if (!name) {
      abort(step.id, "quorum missing: " + std::to_string(confirmed.size()) + " of " + std::to_string(needed) + " " +
                         role_title(role) + (needed > 1 ? "s" : "") + " confirmed; " + std::to_string(needed - confirmed.size()) +
                         " more needed");
    }
    std::string reason;
    const std::vector<Role> roles = plan_roles(*name);
    if (roles.empty()) {
      refuse_unknown_name(step);
      if (++failures >= 3) abort(step.id, "three refused confirmations: names not in the plan");
      continue;
    } else if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
      std::string who;
      for (const std::string& e : eligible) who += (who.empty() ? "" : ", ") + e;
      reason = *name + " is " + roles_text(roles) + ", but this step needs a " + role_title(role) + " (" + who + ")";
    } else if (confirmed.count(*name)) {
      reason = *name + " has already confirmed this step; another " + std::string(role_title(role)) + " is needed";
    }
    if (!reason.empty()) {
      append({{"type", "refusal"}, {"step", step.id}, {"person", *name}, {"reason", reason}});
      m_console.say("  refused: " + reason);
      if (++failures >= 3) abort(step.id, "three refused confirmations: " + reason);
      continue;
    }
    std::string how;
    if (!check_credential(step, *name, role, how, nullptr, {})) {
      if (++failures >= 3) abort(step.id, "three refused confirmations");
      continue;
    }
    confirmed.insert(*name);
    m_step_confirmed.emplace_back(*name, role);
    if (m_step_actor.empty()) m_step_actor = *name;
    append({{"type", "confirm"}, {"step", step.id}, {"person", *name}, {"role", role_name(role)}, {"credential", how}});
  }
}

void Runner::activate(const ScriptStep& step, const ScriptAction* a) {
  const fs::path shares_dir = a && !a->words.empty() ? fs::path(substitute(a->words[0], &step)) : fs::path();
  Quorum quorum;
  int failures = 0;
  m_console.say("  custodians present their shares to activate the token");
  while (quorum.still_needed() > 0) {
    const std::string progress = quorum.threshold() ? std::to_string(quorum.present_count()) + " of " + std::to_string(quorum.threshold()) : "none yet";
    const auto name = m_console.ask("  custodian to present a share (" + progress + "), name: ");
    if (!name) {
      abort(step.id, "quorum missing: " + progress + " custodians present" +
                         (quorum.threshold() ? "; " + std::to_string(quorum.still_needed()) + " more needed" : ""));
    }
    const std::vector<Role> roles = plan_roles(*name);
    const auto already = quorum.custodians();
    std::string reason;
    if (roles.empty()) {
      refuse_unknown_name(step);
      if (++failures >= 3) abort(step.id, "three refused custodians: names not in the plan");
      continue;
    }
    if (std::find(roles.begin(), roles.end(), Role::kCustodian) == roles.end()) {
      reason = "'" + *name + "' is not a custodian in the plan";
    } else if (std::find(already.begin(), already.end(), *name) != already.end()) {
      reason = *name + "'s share is already present";
    }
    if (!reason.empty()) {
      append({{"type", "refusal"}, {"step", step.id}, {"person", *name}, {"reason", reason}});
      m_console.say("  refused: " + reason);
      if (++failures >= 3) abort(step.id, "three refused custodians");
      continue;
    }
    std::string how;
    if (!check_credential(step, *name, Role::kCustodian, how, &quorum, shares_dir)) {
      if (++failures >= 3) abort(step.id, "three refused custodians");
      continue;
    }
    append({{"type", "confirm"}, {"step", step.id}, {"person", *name}, {"role", "custodian"}, {"credential", "sealed share (activation)"}});
    m_console.say("  share of " + *name + " accepted (" + std::to_string(quorum.present_count()) + " of " +
                  std::to_string(quorum.threshold()) + ")");
  }
  m_pin = pin_from_secret(quorum.recover());
  append({{"type", "activation"}, {"step", step.id}, {"custodians", quorum.custodians()}, {"threshold", quorum.threshold()}});
  after_activation(step);
}

void Runner::enrol(const ScriptStep& step) {
  CryptoPP::AutoSeededRandomPool rng;
  for (const auto& [name, roles] : m_people) {
    Pending p{roles, std::nullopt};
    const bool share_only = roles.size() == 1 && roles[0] == Role::kCustodian;
    if (!share_only) {
      auto passphrase = m_console.ask_new_secret("  new passphrase of " + name + " (" + roles_text(roles) + "): ");
      if (!passphrase) abort(step.id, name + " did not enrol");
      try {
        check_passphrase_rule(passphrase->view(), name);
      } catch (const std::exception& e) {
        abort(step.id, e.what());
      }
      Bytes salt(16);
      rng.GenerateBlock(salt.data(), salt.size());
      p.credential = Credential::make(*passphrase, salt);
    }
    m_enrolled[name] = std::move(p);
    append({{"type", "enrol"}, {"step", step.id}, {"person", name}, {"roles", roles_text(roles)},
            {"credential", share_only ? "sealed share" : "passphrase"}});
  }
  m_enrolments_flushed = false;
  flush_enrolments();
}

void Runner::flush_enrolments() {
  if (m_enrolments_flushed || !state_exists()) return;
  CaStore store(m_state);
  PeopleRegistry registry(store.db());
  sql::Transaction txn(store.db());
  for (const auto& [name, p] : m_enrolled) {
    registry.enrol(name, p.roles, p.credential, now());
    store.audit().append({"role.enrol", "success", "ceremony " + m_id, "operations manager",
                          name + " as " + roles_text(p.roles)}, now());
  }
  txn.commit();
  m_enrolments_flushed = true;
  append({{"type", "registry"}, {"people", m_enrolled.size()}});
}

// The signer's audit log says whether a command tagged with this step committed: its success entry
// and its effect are written in one transaction.
bool Runner::step_took_effect(const ScriptStep& step, std::int64_t audit_sequence) {
  std::vector<std::string> evidence = {"audit"};
  for (const ScriptAction& a : step.actions) {
    if (a.verb == "evidence") evidence = a.words;
  }
  if (evidence[0] == "none") return false;
  if (evidence[0] == "file") return evidence.size() > 1 && fs::exists(substitute(evidence[1], &step));
  if (evidence[0] == "token") {
    try {
      hsm::Module module(m_site.get("module"));
      module.find_token(substitute(evidence.at(1), &step));
      return true;
    } catch (const hsm::Error&) {
      return false;
    }
  }
  if (!state_exists()) return false;
  if (sealed()) {
    append({{"type", "deviation"}, {"text", "step " + step.id + ": the token was activated again to read the audit log (none held by this run)"}});
    activate(step, nullptr);
  }
  CaStore store(m_state);
  for (const AuditEntry& e : store.audit().entries(audit_sequence + 1)) {
    if (e.event.actor.find(tag(step)) != std::string::npos && e.event.result == "success") return true;
  }
  return false;
}

void Runner::run_command(const ScriptStep& step, const ScriptAction& a, bool resuming) {
  // What the transcript already says about this step's command (a resumed run).
  const json* begun = nullptr;
  const json* ended = nullptr;
  for (const json& r : m_records) {
    if (r.value("step", "") != step.id) continue;
    if (r["type"] == "run.begin") begun = &r, ended = nullptr;
    if (r["type"] == "run.end") ended = &r;
  }
  if (resuming && ended && ended->value("status", 1) == 0) return;
  if (resuming && begun && !ended) {
    const std::int64_t from = (*begun)["audit_sequence"].get<std::int64_t>();
    if (step_took_effect(step, from)) {
      m_console.say("  the command of this step had finished before the interruption: not run again");
      append({{"type", "recovered"}, {"step", step.id},
              {"evidence", "the command of step '" + step.id + "' had finished before the interruption (its mark is in the "
                           "audit log or the token); it is not run again"}});
      append({{"type", "deviation"}, {"text", "step " + step.id + ": interrupted after its command; recovered without running it again"}});
      append({{"type", "run.end"}, {"step", step.id}, {"status", 0}, {"output", "(recovered)"}});
      return;
    }
    append({{"type", "deviation"}, {"text", "step " + step.id + ": interrupted before its command finished; it runs again"}});
  }

  std::vector<std::string> argv = {m_options.self.string()};
  std::vector<std::pair<int, std::string>> secrets;  // target descriptor, content (zeroised below)
  std::vector<hsm::Secret> held;
  int next_fd = 3;
  const auto add_secret = [&](hsm::Secret s) {
    held.push_back(std::move(s));
    return next_fd++;
  };
  for (std::size_t i = 0; i < a.words.size(); ++i) {
    const std::string& w = a.words[i];
    if (w == "{secret:pin}") {
      if (!m_pin) {
        append({{"type", "deviation"}, {"text", "step " + step.id + ": the token was activated again (none held by this run)"}});
        activate(step, nullptr);
      }
      argv.push_back(std::to_string(add_secret(hsm::Secret(m_pin->view()))));
    } else if (w.rfind("{approval:", 0) == 0 && w.back() == '}') {
      // "{approval:ca-admin}": the person of that role and the manager who confirmed this step
      // prove themselves to the signer command too (R51).
      const auto role = parse_role(w.substr(10, w.size() - 11));
      if (!role) throw CeremonyError("script: unknown role in '" + w + "'");
      const auto who = [&](Role r) -> std::string {
        for (const auto& [name, their_role] : m_step_confirmed) {
          if (their_role == r && m_step_passphrases.count(name)) return name;
        }
        abort(step.id, std::string("the command needs a confirmation by a ") + role_title(r) + " in this step first");
      };
      const std::string actor = who(*role), manager = who(Role::kManager);
      argv.insert(argv.end(), {"--as", actor, "--as-passphrase-fd"});
      argv.push_back(std::to_string(add_secret(hsm::Secret(m_step_passphrases.at(actor).view()))));
      argv.insert(argv.end(), {"--approved-by", manager, "--approver-passphrase-fd"});
      argv.push_back(std::to_string(add_secret(hsm::Secret(m_step_passphrases.at(manager).view()))));
    } else if (w == "{secret:so-pin}") {
      auto so = m_console.ask_secret("  security officer PIN (typed by the security officer): ");
      if (!so) abort(step.id, "no security officer PIN");
      argv.push_back(std::to_string(add_secret(std::move(*so))));
    } else if (w == "{secret:new-passphrases}" || w == "{secret:new-backup-passphrases}") {
      const std::string key = w == "{secret:new-passphrases}" ? "custodians" : "backup_custodians";
      Bytes lines;
      for (const std::string& custodian : m_plan.list(key)) {
        auto p = m_console.ask_new_secret("  new passphrase of custodian " + custodian + ": ");
        if (!p) abort(step.id, custodian + " did not choose a passphrase");
        lines.insert(lines.end(), p->view().begin(), p->view().end());
        lines.push_back('\n');
      }
      argv.push_back(std::to_string(add_secret(hsm::Secret(lines))));
      std::fill(lines.begin(), lines.end(), 0);
    } else if (w == "{backup-quorum}") {
      // The backup key's custodians present their backup shares; their passphrases go to the
      // command through a pipe, in the order of the shares.
      Quorum quorum;
      Bytes lines;
      const fs::path dir = substitute(m_site.get("backup_shares"), &step);
      while (quorum.still_needed() > 0) {
        const auto name = m_console.ask("  backup-key custodian to present a backup share, name: ");
        if (!name) abort(step.id, "backup-key quorum missing (" + std::to_string(quorum.present_count()) + " present)");
        const auto holders = m_plan.list("backup_custodians");
        if (std::find(holders.begin(), holders.end(), *name) == holders.end() && plan_roles(*name).empty()) {
          refuse_unknown_name(step);
          continue;
        }
        if (std::find(holders.begin(), holders.end(), *name) == holders.end()) {
          append({{"type", "refusal"}, {"step", step.id}, {"person", *name}, {"reason", *name + " is not a backup-key custodian in the plan"}});
          m_console.say("  refused: " + *name + " is not a backup-key custodian in the plan");
          continue;
        }
        const fs::path path = share_path(*name, dir);
        auto passphrase = m_console.ask_secret("  backup passphrase of " + *name + ": ");
        if (!passphrase) abort(step.id, "backup-key quorum missing");
        try {
          quorum.present(read_share_file(path), *passphrase);
        } catch (const std::exception& e) {
          append({{"type", "refusal"}, {"step", step.id}, {"person", *name}, {"reason", e.what()}});
          continue;
        }
        append({{"type", "confirm"}, {"step", step.id}, {"person", *name}, {"role", "custodian"}, {"credential", "sealed backup share"}});
        argv.push_back("--backup-share");
        argv.push_back(path.string());
        lines.insert(lines.end(), passphrase->view().begin(), passphrase->view().end());
        lines.push_back('\n');
      }
      argv.push_back("--backup-passphrase-fd");
      argv.push_back(std::to_string(add_secret(hsm::Secret(lines))));
      std::fill(lines.begin(), lines.end(), 0);
    } else if (w.size() > 3 && w.front() == '{' && w.substr(w.size() - 2) == "*}") {
      // "--custodian {plan.custodians*}": the option before it, once for each item.
      const std::string option = argv.back();
      argv.pop_back();
      for (const std::string& item : m_plan.list(w.substr(6, w.size() - 8))) {
        argv.push_back(option);
        argv.push_back(item);
      }
    } else {
      argv.push_back(substitute(w, &step));
    }
  }
  append({{"type", "run.begin"}, {"step", step.id}, {"argv", std::vector<std::string>(argv.begin() + 1, argv.end())},
          {"audit_sequence", audit_head().is_null() ? 0 : audit_head()["sequence"].get<std::int64_t>()}});

  // Secrets: one pipe each, filled before the child starts (they are small), read end at the
  // descriptor the command line names.
  std::vector<SecretPipe> pipes;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int output[2];
  if (::pipe2(output, O_CLOEXEC) != 0) throw FileError(std::string("pipe: ") + std::strerror(errno));
  for (std::size_t i = 0; i < held.size(); ++i) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw FileError(std::string("pipe: ") + std::strerror(errno));
    // Keep the originals clear of 3..N so dup2 never meets itself (and keeps CLOEXEC).
    const int high = ::fcntl(p[0], F_DUPFD_CLOEXEC, 100);
    ::close(p[0]);
    const BytesView data = held[i].view();
    (void)!::write(p[1], data.data(), data.size());
    (void)!::write(p[1], "\n", 1);
    ::close(p[1]);
    pipes.push_back({3 + static_cast<int>(i), high});
    posix_spawn_file_actions_adddup2(&actions, high, 3 + static_cast<int>(i));
  }
  held.clear();
  posix_spawn_file_actions_adddup2(&actions, output[1], 1);
  posix_spawn_file_actions_adddup2(&actions, output[1], 2);
  std::vector<char*> args;
  for (std::string& s : argv) args.push_back(s.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(output[1]);
  for (const SecretPipe& p : pipes) ::close(p.read_end);
  if (spawned != 0) {
    ::close(output[0]);
    abort(step.id, "cannot start '" + argv[0] + "': " + std::strerror(spawned));
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(output[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    std::cout.write(buffer, n);
    std::cout.flush();
  }
  ::close(output[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (text.size() > 16384) text = "...\n" + text.substr(text.size() - 16384);
  append({{"type", "run.end"}, {"step", step.id}, {"status", code}, {"output", text}});
  if (code != 0) abort(step.id, "the signer command failed (exit status " + std::to_string(code) + ")");
  flush_enrolments();
}

void Runner::expect(const ScriptStep& step, const ScriptAction& a) {
  const std::string kind = a.words[0];
  const fs::path pattern = substitute(a.words[1], &step);
  std::map<std::string, std::string> opts;
  bool primary = false;
  for (std::size_t i = 2; i < a.words.size(); ++i) {
    const auto eq = a.words[i].find('=');
    if (a.words[i] == "primary") primary = true;
    else if (eq != std::string::npos) opts[a.words[i].substr(0, eq)] = substitute(a.words[i].substr(eq + 1), &step);
    else throw CeremonyError("script line " + std::to_string(a.line) + ": unknown expect option '" + a.words[i] + "'");
  }
  const auto matching = [](const fs::path& glob) {
    std::vector<fs::path> found;
    if (glob.filename().string().find('*') != std::string::npos) {
      if (fs::is_directory(glob.parent_path())) {
        for (const auto& e : fs::directory_iterator(glob.parent_path())) {
          if (::fnmatch(glob.filename().c_str(), e.path().filename().c_str(), 0) == 0) found.push_back(e.path());
        }
      }
      std::sort(found.begin(), found.end());
    } else if (fs::exists(glob)) {
      found.push_back(glob);
    }
    return found;
  };
  const std::vector<fs::path> files = matching(pattern);
  if (files.empty()) abort(step.id, "expected output '" + pattern.string() + "' is missing");
  // issuer=FILE, or a pattern such as ca-g*.crt when lists of several generations are checked:
  // each output must then be signed by one of them, chosen by name and signature.
  std::vector<pki::Certificate> issuers;
  if (opts.count("issuer") && opts["issuer"] != "self") {
    for (const fs::path& f : matching(opts["issuer"])) {
      const auto parsed = pki::parse_certificate(read_der_or_pem(f, "CERTIFICATE"));
      if (!parsed) abort(step.id, "the issuer certificate '" + f.string() + "' does not parse: " + parsed.message());
      issuers.push_back(*parsed);
    }
    if (issuers.empty()) abort(step.id, "no issuer certificate at '" + opts["issuer"] + "'");
  }
  const auto issuer_of = [&](const pki::Name& name, const std::function<bool(const pki::PublicKey&)>& verifies) -> const pki::Certificate* {
    for (const pki::Certificate& c : issuers) {
      if (c.subject == name && verifies(c.public_key)) return &c;
    }
    return nullptr;
  };
  for (const fs::path& file : files) {
    const Bytes data = read_file(file);
    json record = {{"type", "output"}, {"step", step.id}, {"kind", kind}, {"sha256", to_hex(sha256(data))}};
    const fs::path relative = file.lexically_relative(m_out);
    record["path"] = relative.empty() || relative.string().rfind("..", 0) == 0 ? file.string() : relative.string();
    if (kind == "certificate") {
      const auto cert = pki::parse_certificate(pki::looks_like_pem(data) ? pki::pem_decode(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()), "CERTIFICATE") : data);
      if (!cert) abort(step.id, file.string() + " is not a certificate hanko accepts: " + cert.message());
      if (opts.count("issuer") && opts["issuer"] == "self" && !pki::verify_certificate_signature(*cert, cert->public_key)) {
        abort(step.id, file.string() + ": not a self-signed certificate whose signature verifies");
      }
      if (!issuers.empty() && !issuer_of(cert->issuer, [&](const pki::PublicKey& k) { return pki::verify_certificate_signature(*cert, k); })) {
        abort(step.id, file.string() + ": not signed by " + opts["issuer"] + " (issuer " + cert->issuer.to_string() + ")");
      }
      if (opts.count("years") && pki::add_years(cert->not_before, plan_years(opts["years"])) != cert->not_after) {
        abort(step.id, file.string() + ": validity is not the plan's " + opts["years"] + " years");
      }
      if (opts.count("max-years") && cert->not_after > pki::add_years(cert->not_before, plan_years(opts["max-years"]))) {
        abort(step.id, file.string() + ": valid longer than the plan's " + opts["max-years"] + " years");
      }
      if (cert->not_after <= now()) abort(step.id, file.string() + " has already expired");
      record["subject"] = cert->subject.to_string();
      record["sha256"] = to_hex(cert->fingerprint_sha256());
      record["sha1"] = to_hex(cert->fingerprint_sha1());
      record["not_before"] = pki::format_time(cert->not_before);
      record["not_after"] = pki::format_time(cert->not_after);
      record["validity_days"] = std::chrono::duration_cast<std::chrono::hours>(cert->not_after - cert->not_before).count() / 24;
      if (primary) record["primary"] = true;
    } else if (kind == "crl") {
      const auto crl = pki::parse_crl(data);
      if (!crl) abort(step.id, file.string() + " is not a CRL hanko accepts: " + crl.message());
      if (issuers.empty()) abort(step.id, "script line " + std::to_string(a.line) + ": 'expect crl' needs issuer=CERTIFICATE");
      if (!issuer_of(crl->issuer, [&](const pki::PublicKey& k) { return pki::verify_crl_signature(*crl, k); })) {
        abort(step.id, file.string() + ": not signed by " + opts["issuer"] + " (issuer " + crl->issuer.to_string() + ")");
      }
      if (!crl->next_update || *crl->next_update <= crl->this_update) abort(step.id, file.string() + ": no usable nextUpdate");
      record["crl_number"] = crl->crl_number ? static_cast<long long>(*crl->crl_number) : -1;
      record["this_update"] = pki::format_time(crl->this_update);
    } else if (data.empty()) {
      abort(step.id, file.string() + " is empty");
    }
    append(std::move(record));
  }
  m_console.say("  checked " + std::to_string(files.size()) + " " + kind + (files.size() == 1 ? "" : "s") + ": " + pattern.string());
}

void Runner::do_step(const ScriptStep& step, bool resuming) {
  m_step_actor.clear();
  m_step_confirmed.clear();
  m_step_passphrases.clear();
  m_console.say("\n== step " + step.id);
  append({{"type", "step.begin"}, {"step", step.id}});
  for (const ScriptAction& a : step.actions) {
    if (a.verb == "say") say(step, a);
    else if (a.verb == "confirm") confirm(step, a);
    else if (a.verb == "activate") activate(step, &a);
    else if (a.verb == "enrol") enrol(step);
    else if (a.verb == "run") run_command(step, a, resuming);
    else if (a.verb == "expect") expect(step, a);
  }
  m_step_passphrases.clear();
  append({{"type", "step.done"}, {"step", step.id}});
}

void Runner::close() {
  if (m_options.golden) {
    const TranscriptCheck golden = check_transcript(read_text_file(*m_options.golden, 64u << 20));
    if (!golden.ok) throw CeremonyError("the golden transcript '" + m_options.golden->string() + "' is damaged: " + golden.problem);
    for (const std::string& d : compare_with_golden(golden.records, m_records)) append({{"type", "deviation"}, {"text", d}});
  }
  for (const auto& [role, minimum] : m_script.roles) {
    std::set<std::string> seen;
    for (const json& r : m_records) {
      if (r["type"] == "confirm" && r.value("role", "") == role_name(role)) seen.insert(r.value("person", ""));
    }
    if (static_cast<int>(seen.size()) < minimum) {
      append({{"type", "deviation"}, {"text", "only " + std::to_string(seen.size()) + " " + role_title(role) + "(s) confirmed; the script asks for " +
                                                  std::to_string(minimum)}});
    }
  }
  if (!state_exists()) throw CeremonyError("the ceremony ends without a CA state to sign its transcript with");
  if (!m_pin) {
    m_console.say("\n== closing: the token is activated to sign the transcript");
    ScriptStep closing{"close", {}};
    activate(closing, nullptr);
  }
  CaConfig config;
  {
    CaStore store(m_state);
    if (m_site.has("expect_ca")) store.check_identity(m_site.get("expect_ca"));
    config = store.config();
  }
  append({{"type", "close"}, {"audit_head", audit_head()}});
  TokenAccess token(m_site.has("module") ? m_site.get("module") : config.module, config.token, hsm::Secret(m_pin->view()), false);
  const hsm::KeyPair key = token.session->key_pair(config.audit_key);
  const Bytes spki = token.session->public_key_info(key);
  hsm::PkiSigner signer(*token.session, key, pki::default_signature_algorithm(pki::parse_public_key(spki)));
  const Bytes signature = signer.sign(transcript_signed_data(m_last_hash));
  append({{"type", "signature"}, {"algorithm", std::string(pki::signature_algorithm_name(signer.algorithm()))}, {"spki", to_hex(spki)},
          {"signature", to_hex(signature)}});
  ::close(m_fd);
  m_fd = -1;
  const std::string digest = sha256_hex(read_text_file(m_transcript, 64u << 20));
  CaStore store(m_state);
  sql::Transaction txn(store.db());
  store.audit().append({"ceremony.close", "success", "ceremony " + m_id, "operations manager",
                        m_script.kind + (m_options.rehearsal ? " (rehearsal)" : "") + ", transcript " + digest}, now());
  store.audit().checkpoint(signer, now());
  txn.commit();
  write_file_atomic(m_state / kLastCeremonyFile, view(digest + "\n"));
}

fs::path Runner::run() {
  // R42: the runner opens an encrypted database with the PIN this run rebuilt from the shares.
  const DatabaseKeys::Scope database_keys([this](const CaConfig& config) {
    if (!m_pin) throw PolicyError("the CA database is encrypted (R42): it opens once the token is activated");
    TokenAccess token(m_site.has("module") ? m_site.get("module") : config.module, config.token, hsm::Secret(m_pin->view()), false);
    return database_key(*token.session, config.database_key);
  });
  m_script = Script::parse(read_text_file(m_options.script, 1 << 20));
  m_plan = Settings::parse(read_text_file(m_options.plan, 1 << 20), "plan");
  m_site = Settings::parse(read_text_file(m_options.site, 1 << 20), "site");
  m_people = plan_people(m_plan);
  for (const std::string& key : m_script.needs) m_plan.get(key);
  for (const auto& [role, minimum] : m_script.roles) {
    const auto count = std::count_if(m_people.begin(), m_people.end(), [&, r = role](const auto& p) {
      return std::find(p.second.begin(), p.second.end(), r) != p.second.end();
    });
    if (count < minimum) {
      throw CeremonyError("the plan names " + std::to_string(count) + " " + role_title(role) + "(s); the script needs at least " +
                          std::to_string(minimum) + " (R51: nobody works alone)");
    }
  }
  m_digest = plan_digest(m_script, m_plan);
  m_out = m_site.get("out");
  m_state = m_site.get("state");
  m_transcript = m_out / (m_script.kind + ".transcript");
  // The site may pin the CA this ceremony must find: a data disk of another CA is refused
  // before anything is written.
  if (state_exists()) {
    if (sealed()) {
      if (m_site.has("expect_ca")) CaStore::check_recorded_identity(m_state, m_site.get("expect_ca"));
      if (m_plan.has("ca_identity")) CaStore::check_recorded_identity(m_state, m_plan.get("ca_identity"));
      m_identity_pending = m_site.has("expect_ca") || m_plan.has("ca_identity");
    } else {
      if (m_site.has("expect_ca")) CaStore(m_state).check_identity(m_site.get("expect_ca"));
      if (m_plan.has("ca_identity")) CaStore(m_state).check_identity(m_plan.get("ca_identity"));
    }
  }
  fs::create_directories(m_out);

  bool resuming = false;
  std::set<std::string> done;
  if (fs::exists(m_transcript)) {
    std::string text = read_text_file(m_transcript, 64u << 20);
    bool torn = false;
    if (!text.empty() && text.back() != '\n') {
      text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
      torn = true;
    }
    const TranscriptCheck c = check_transcript(text);
    if (!c.ok) throw CeremonyError("the unfinished transcript '" + m_transcript.string() + "' is damaged: " + c.problem + "; keep it as evidence and start in a new output folder");
    if (c.closed) throw CeremonyError("this ceremony already ran to its end (" + m_transcript.string() + "); a new ceremony needs a new output folder");
    if (c.records.front().value("digest", "") != to_hex(m_digest)) {
      throw CeremonyError("the plan or script changed since the interrupted run began (digest " + c.records.front().value("digest", "").substr(0, 16) +
                          "... then, " + to_hex(m_digest).substr(0, 16) + "... now); review it again and start in a new output folder");
    }
    write_file_atomic(m_transcript, BytesView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), 0600);
    m_records = c.records;
    m_seq = static_cast<std::int64_t>(m_records.size());
    m_last_hash = c.head;
    m_id = m_records.front().value("id", "");
    bool registry_written = false;
    std::set<std::string> enrol_steps;
    for (const json& r : m_records) {
      if (r["type"] == "step.done") done.insert(r.value("step", ""));
      if (r["type"] == "registry") registry_written = true;
      if (r["type"] == "enrol") enrol_steps.insert(r.value("step", ""));
    }
    // Enrolments not yet written to the registry were held only in memory: redo them.
    if (!registry_written) {
      for (const std::string& s : enrol_steps) done.erase(s);
    }
    resuming = true;
    m_fd = ::open(m_transcript.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (m_fd < 0) throw FileError("cannot open '" + m_transcript.string() + "': " + std::strerror(errno));
    append({{"type", "resume"}, {"reason", torn ? "interrupted; a record cut short by the interruption was dropped" : "interrupted"}});
    append({{"type", "deviation"}, {"text", "the ceremony was interrupted and resumed (" + std::to_string(done.size()) + " steps were done)"}});
    m_console.say("Resuming " + m_script.title + ": " + std::to_string(done.size()) + " of " + std::to_string(m_script.steps.size()) + " steps were done.");
  } else {
    if (m_script.state == "new" && state_exists()) throw CeremonyError("the state folder '" + m_state.string() + "' already holds a CA; this ceremony creates a new one");
    if (m_script.state == "existing" && !state_exists()) throw CeremonyError("no CA state at '" + m_state.string() + "'");
    m_fd = ::open(m_transcript.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (m_fd < 0) throw FileError("cannot create '" + m_transcript.string() + "': " + std::strerror(errno));
    CryptoPP::AutoSeededRandomPool rng;
    Bytes id(8);
    rng.GenerateBlock(id.data(), id.size());
    m_id = to_hex(id);
    std::string previous = "none";
    if (sealed()) {
      // Written at each close beside the database; the audit log confirms it (ceremony verify).
      if (fs::exists(m_state / kLastCeremonyFile)) {
        previous = read_text_file(m_state / kLastCeremonyFile, 1024);
        previous.erase(previous.find_last_not_of('\n') + 1);
      }
      m_previous_unchecked = previous;
    } else if (state_exists()) {
      CaStore store(m_state);
      sql::Statement s = store.db().prepare("SELECT details FROM audit WHERE type = 'ceremony.close' ORDER BY sequence DESC LIMIT 1");
      if (s.step()) {
        const std::string details = s.text(0);
        previous = details.substr(details.rfind(' ') + 1);
      }
    }
    json site;
    for (const auto& [k, v] : m_site.values) site[k] = v;
    append({{"type", "open"}, {"id", m_id}, {"kind", m_script.kind}, {"title", m_script.title},
            {"digest", to_hex(m_digest)}, {"words", transfer::digest_words(m_digest)},
            {"script_sha256", sha256_hex(m_script.text)}, {"plan_sha256", sha256_hex(m_plan.text)}, {"site", site},
            {"rehearsal", m_options.rehearsal}, {"previous", previous}, {"audit_head", audit_head()}});
    // A ceremony that enrols the people of the CA must leave no role the CA needs empty (R50):
    // said at the rehearsal, and in the report, not found out when nobody can read the log.
    const bool enrols = std::any_of(m_script.steps.begin(), m_script.steps.end(), [](const ScriptStep& st) {
      return std::any_of(st.actions.begin(), st.actions.end(), [](const ScriptAction& a) { return a.verb == "enrol"; });
    });
    if (enrols) {
      for (const NeededRole& n : roles_the_ca_needs()) {
        const bool named = std::any_of(m_people.begin(), m_people.end(), [&](const auto& p) {
          return std::find(p.second.begin(), p.second.end(), n.role) != p.second.end();
        });
        if (named) continue;
        const std::string text = std::string("the plan names no ") + role_title(n.role) + " (" + role_name(n.role) +
                                 "): after this ceremony " + n.work + " cannot be done until one is enrolled (hanko-offline role-enrol)";
        append({{"type", "deviation"}, {"text", text}});
        m_console.say("WARNING: " + text);
      }
    }
  }
  m_console.say("== " + m_script.title + (m_options.rehearsal ? "  [REHEARSAL]" : ""));
  m_console.say("Plan digest " + to_hex(m_digest) + "\n  read aloud: " + transfer::digest_words(m_digest));
  for (const ScriptStep& step : m_script.steps) {
    if (done.count(step.id)) continue;
    const bool step_begun = std::any_of(m_records.begin(), m_records.end(), [&](const json& r) {
      return r["type"] == "step.begin" && r.value("step", "") == step.id;
    });
    do_step(step, resuming && step_begun);
  }
  close();
  write_report(m_transcript, m_out / (m_script.kind + "-report.html"));
  m_console.say("\nCeremony closed. Transcript " + m_transcript.string() + "\nReport     " + (m_out / (m_script.kind + "-report.html")).string());
  return m_transcript;
}

}  // namespace

fs::path run_ceremony(const RunOptions& options, Console& console) {
  Runner runner(options, console);
  return runner.run();
}

}  // namespace hanko::offline
