#include "hanko/offline/ca_state.h"

#include <charconv>
#include <sstream>

namespace hanko::offline {

namespace {

namespace fs = std::filesystem;

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = line.find(sep, start);
    out.push_back(line.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

std::string time_field(std::optional<pki::Time> t) {
  return t ? std::to_string(t->time_since_epoch().count()) : "-";
}

std::optional<pki::Time> parse_time_field(const std::string& s) {
  if (s == "-") return std::nullopt;
  long long v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) throw std::runtime_error("bad time field '" + s + "'");
  return pki::Time(std::chrono::seconds(v));
}

const char kIndexHeader[] = "# serial\tstatus\tnot_before\tnot_after\trevoked_at\treason\tinvalidity\tprofile\tsubject\n";

}  // namespace

std::string CaConfig::serialize() const {
  std::ostringstream out;
  out << "# hanko-offline CA configuration. Reviewed content; never holds a PIN.\n";
  out << "module = " << module << "\n";
  out << "token = " << token << "\n";
  out << "key_label = " << key_label << "\n";
  out << "signature_algorithm = " << pki::signature_algorithm_name(signature_algorithm) << "\n";
  for (const std::string& u : crl_urls) out << "crl_url = " << u << "\n";
  if (!ocsp_url.empty()) out << "ocsp_url = " << ocsp_url << "\n";
  if (!policy_oid.empty()) out << "policy_oid = " << policy_oid << "\n";
  if (!cps_url.empty()) out << "cps_url = " << cps_url << "\n";
  out << "crl_validity_hours = " << crl_validity_hours << "\n";
  return out.str();
}

CaConfig CaConfig::parse(std::string_view text) {
  CaConfig c;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto eq = t.find('=');
    if (eq == std::string::npos) throw std::runtime_error("ca.conf line " + std::to_string(number) + ": expected key = value");
    const std::string key = trim(t.substr(0, eq));
    const std::string value = trim(t.substr(eq + 1));
    if (key == "module") c.module = value;
    else if (key == "token") c.token = value;
    else if (key == "key_label") c.key_label = value;
    else if (key == "signature_algorithm") {
      const auto a = pki::parse_signature_algorithm_name(value);
      if (!a) throw std::runtime_error("ca.conf line " + std::to_string(number) + ": unknown signature algorithm '" + value + "'");
      c.signature_algorithm = *a;
    } else if (key == "crl_url") c.crl_urls.push_back(value);
    else if (key == "ocsp_url") c.ocsp_url = value;
    else if (key == "policy_oid") c.policy_oid = value;
    else if (key == "cps_url") c.cps_url = value;
    else if (key == "crl_validity_hours") c.crl_validity_hours = std::stoi(value);
    else throw std::runtime_error("ca.conf line " + std::to_string(number) + ": unknown setting '" + key + "'");
  }
  if (c.module.empty() || c.token.empty() || c.key_label.empty()) {
    throw std::runtime_error("ca.conf must set module, token and key_label");
  }
  if (c.crl_validity_hours <= 0 || c.crl_validity_hours > 24 * 31) {
    throw std::runtime_error("ca.conf: crl_validity_hours must be between 1 and 744");
  }
  return c;
}

void CaState::check_can_create(const fs::path& dir) {
  if (fs::exists(dir) && !fs::is_empty(dir)) {
    throw FileError("state folder '" + dir.string() + "' already exists and is not empty; choose a new folder (an existing CA is never overwritten)");
  }
  const fs::path parent = fs::absolute(dir).parent_path();
  if (!fs::is_directory(parent)) {
    throw FileError("cannot create state folder '" + dir.string() + "': '" + parent.string() + "' is not a folder");
  }
}

void CaState::create(const fs::path& dir, const CaConfig& config, BytesView ca_certificate) {
  check_can_create(dir);
  fs::create_directories(dir);
  fs::create_directories(dir / "issued");
  fs::create_directories(dir / "crls");
  write_new_file(dir / "ca.conf", view(config.serialize()));
  write_new_file(dir / "ca.crt", ca_certificate);
  write_new_file(dir / "index.tsv", view(kIndexHeader));
  write_new_file(dir / "crlnumber", view("0\n"));
}

CaState::CaState(fs::path dir) : m_dir(std::move(dir)), m_lock(m_dir / "lock") {
  if (!fs::exists(m_dir / "ca.conf")) {
    throw FileError("'" + m_dir.string() + "' is not a CA state folder (no ca.conf); run 'hanko-offline init' first");
  }
  m_config = CaConfig::parse(read_text_file(m_dir / "ca.conf", 1 << 20));
  auto ca = pki::parse_certificate(read_file(m_dir / "ca.crt", 1 << 20));
  if (!ca) throw FileError("ca.crt in '" + m_dir.string() + "' is damaged: " + ca.message());
  m_ca = std::move(ca).value();
  std::istringstream in(read_text_file(m_dir / "index.tsv"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto f = split(line, '\t');
    if (f.size() != 9) throw FileError("index.tsv is damaged: a line has " + std::to_string(f.size()) + " fields, not 9");
    IndexEntry e;
    e.serial = pki::Serial::from_hex(f[0]);
    e.revoked = f[1] == "R";
    e.not_before = *parse_time_field(f[2]);
    e.not_after = *parse_time_field(f[3]);
    e.revocation_date = parse_time_field(f[4]);
    if (f[5] != "-") e.reason = pki::parse_reason_name(f[5]);
    e.invalidity_date = parse_time_field(f[6]);
    e.profile = f[7];
    e.subject = f[8];
    m_entries.push_back(std::move(e));
  }
}

const IndexEntry* CaState::find(const pki::Serial& serial) const {
  for (const IndexEntry& e : m_entries) {
    if (e.serial == serial) return &e;
  }
  return nullptr;
}

const IndexEntry* CaState::valid_for_subject(const std::string& subject, pki::Time now) const {
  for (const IndexEntry& e : m_entries) {
    if (e.subject == subject && !e.revoked && e.not_after > now) return &e;
  }
  return nullptr;
}

void CaState::save_index() {
  std::string out = kIndexHeader;
  for (const IndexEntry& e : m_entries) {
    std::string subject = e.subject;
    for (char& c : subject) {
      if (c == '\t' || c == '\n') c = ' ';
    }
    out += e.serial.hex() + "\t" + (e.revoked ? "R" : "V") + "\t" + time_field(e.not_before) + "\t" +
           time_field(e.not_after) + "\t" + time_field(e.revocation_date) + "\t" +
           (e.reason ? std::string(pki::reason_name(*e.reason)) : "-") + "\t" +
           time_field(e.invalidity_date) + "\t" + e.profile + "\t" + subject + "\n";
  }
  write_file_atomic(m_dir / "index.tsv", view(out));
}

void CaState::record_issued(const IndexEntry& entry, BytesView certificate) {
  write_new_file(m_dir / "issued" / (entry.serial.hex() + ".crt"), certificate);
  m_entries.push_back(entry);
  save_index();
}

void CaState::record_revocation(const pki::Serial& serial, pki::Time when, pki::ReasonCode reason,
                                std::optional<pki::Time> invalidity_date) {
  for (IndexEntry& e : m_entries) {
    if (e.serial == serial) {
      e.revoked = true;
      e.revocation_date = when;
      e.reason = reason;
      e.invalidity_date = invalidity_date;
      save_index();
      return;
    }
  }
  throw std::runtime_error("no certificate with serial " + serial.hex());
}

std::uint64_t CaState::reserve_crl_number() {
  const std::string text = trim(read_text_file(m_dir / "crlnumber", 64));
  std::uint64_t last = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), last);
  if (ec != std::errc() || p != text.data() + text.size()) throw FileError("crlnumber is damaged: '" + text + "'");
  const std::uint64_t next = last + 1;
  write_file_atomic(m_dir / "crlnumber", view(std::to_string(next) + "\n"));
  return next;
}

void CaState::record_crl(std::uint64_t number, BytesView crl) {
  write_new_file(m_dir / "crls" / (std::to_string(number) + ".crl"), crl);
}

}  // namespace hanko::offline
