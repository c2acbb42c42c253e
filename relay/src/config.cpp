#include "config.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace hanko::relay {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

template <class T>
T number(const std::string& key, const std::string& value) {
  T out{};
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || ptr != value.data() + value.size()) {
    throw ConfigError("'" + key + "' wants a number, not '" + value + "'");
  }
  return out;
}

double real(const std::string& key, const std::string& value) {
  try {
    std::size_t used = 0;
    const double d = std::stod(value, &used);
    if (used != value.size() || !(d > 0)) throw std::invalid_argument("x");
    return d;
  } catch (const std::exception&) {
    throw ConfigError("'" + key + "' wants a positive number, not '" + value + "'");
  }
}

bool yes_no(const std::string& key, const std::string& value) {
  if (value == "yes" || value == "true") return true;
  if (value == "no" || value == "false") return false;
  throw ConfigError("'" + key + "' wants yes or no, not '" + value + "'");
}

}  // namespace

Config Config::parse(const std::string& text, const std::filesystem::path& base_dir) {
  Config c;
  const auto path = [&](const std::string& v) {
    std::filesystem::path p(v);
    return p.is_absolute() ? p : base_dir / p;
  };
  const auto seconds = [](const std::string& k, const std::string& v) { return std::chrono::seconds(number<long>(k, v)); };
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw ConfigError("line " + std::to_string(n) + ": expected 'key = value'");
    const std::string k = trim(line.substr(0, eq));
    const std::string v = trim(line.substr(eq + 1));
    if (k == "state_dir") c.state_dir = path(v);
    else if (k == "listen") {
      const auto colon = v.rfind(':');
      if (colon == std::string::npos) throw ConfigError("listen wants HOST:PORT");
      c.listen_host = v.substr(0, colon);
      c.listen_port = number<unsigned short>(k, v.substr(colon + 1));
    } else if (k == "doc_root") c.doc_root = path(v);
    else if (k == "max_body") c.max_body = number<std::size_t>(k, v);
    else if (k == "max_connections") c.max_connections = number<std::size_t>(k, v);
    else if (k == "rate_per_second") c.rate_per_second = real(k, v);
    else if (k == "rate_burst") c.rate_burst = real(k, v);
    else if (k == "max_queue") c.max_queue = number<std::size_t>(k, v);
    else if (k == "http_threads") c.http_threads = number<std::size_t>(k, v);
    else if (k == "batch_max_items") c.batch_max_items = number<std::size_t>(k, v);
    else if (k == "batch_max_age") c.batch_max_age = seconds(k, v);
    else if (k == "outbox") c.outbox = path(v);
    else if (k == "inbox") c.inbox = path(v);
    else if (k == "outbox_qr_html") c.outbox_qr_html = yes_no(k, v);
    else if (k == "pkcs11_module") c.pkcs11_module = v;
    else if (k == "token") c.token = v;
    else if (k == "token_pin_file") c.token_pin_file = path(v);
    else if (k == "transport_key_label") c.transport_key_label = v;
    else if (k == "signer_transport_key") c.signer_transport_keys.push_back(path(v));
    else if (k == "ca_certificate") c.ca_certificates.push_back(path(v));
    else if (k == "ldap_uri") c.ldap_uri = v;
    else if (k == "ldap_bind_dn") c.ldap_bind_dn = v;
    else if (k == "ldap_password_file") c.ldap_password_file = path(v);
    else if (k == "ldap_ca_dn") c.ldap_ca_dn = v;
    else if (k == "ocsp_key_label") c.ocsp_key_label = v;
    else if (k == "ocsp_certificate") c.ocsp_certificates.push_back(path(v));
    else if (k == "ocsp_validity") c.ocsp_validity = seconds(k, v);
    else if (k == "retry_initial") c.retry_initial = seconds(k, v);
    else if (k == "retry_max") c.retry_max = seconds(k, v);
    else if (k == "retry_dead_after") c.retry_dead_after = number<int>(k, v);
    else if (k == "freshness_margin") c.freshness_margin = seconds(k, v);
    else if (k == "cadence") c.cadence = seconds(k, v);
    else if (k == "watch_interval") c.watch_interval = seconds(k, v);
    else if (k == "public_http_base") c.public_http_base = v;
    else throw ConfigError("line " + std::to_string(n) + ": unknown key '" + k + "'");
  }
  if (c.state_dir.empty()) throw ConfigError("state_dir is required");
  if (c.doc_root.empty()) c.doc_root = c.state_dir / "htdocs";
  if (c.outbox.empty()) c.outbox = c.state_dir / "outbox";
  if (c.inbox.empty()) c.inbox = c.state_dir / "inbox";
  if (c.batch_max_items == 0 || c.batch_max_items > 200000) throw ConfigError("batch_max_items must be 1..200000");
  if (c.http_threads == 0 || c.http_threads > 64) throw ConfigError("http_threads must be 1..64");
  if (c.max_body < 1024) throw ConfigError("max_body below 1024 bytes would refuse every request");
  if (!c.ldap_uri.empty() && c.ldap_ca_dn.empty()) throw ConfigError("ldap_uri needs ldap_ca_dn");
  if (!c.ocsp_key_label.empty() && c.ocsp_certificates.empty()) throw ConfigError("ocsp_key_label needs ocsp_certificate");
  if (c.public_http_base.empty()) c.public_http_base = "http://" + c.listen_host + ":" + std::to_string(c.listen_port) + "/";
  return c;
}

Config Config::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw ConfigError("cannot read configuration '" + file.string() + "'");
  std::stringstream s;
  s << in.rdbuf();
  Config c = parse(s.str(), std::filesystem::absolute(file).parent_path());
  c.file = file;
  c.text = s.str();
  return c;
}

}  // namespace hanko::relay
