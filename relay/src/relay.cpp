#include "relay.h"

#include <cryptopp/osrng.h>
#include <cryptopp/sha.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "hanko/common/files.h"
#include "hanko/hsm/module.h"
#include "hanko/hsm/pki_signer.h"
#include "hanko/hsm/session.h"
#include "hanko/pki/pem.h"
#include "hanko/transfer/bundle.h"
#include "hanko/transfer/ledger.h"
#include "hanko/transfer/media.h"
#include "hanko/transfer/qr.h"
#include "ocsp_responder.h"
#include "relay_token.h"

namespace hanko::relay {

namespace fs = std::filesystem;
namespace tr = hanko::transfer;

namespace {

hsm::Secret read_pin_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ConfigError("cannot read the token PIN file '" + path.string() + "'");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  return hsm::read_secret_from_fd(fd);
}

std::unique_ptr<hsm::PkiSigner> signer_for(hsm::Session& session, const std::string& label) {
  const hsm::KeyPair key = session.key_pair(label);
  const pki::PublicKey pub = pki::parse_public_key(session.public_key_info(key));
  return std::make_unique<hsm::PkiSigner>(session, key, pki::default_signature_algorithm(pub));
}

pki::PublicKey read_key_or_certificate(const fs::path& path) {
  Bytes der = hanko::read_file(path, 1 << 20);
  if (pki::looks_like_pem(der)) {
    const std::string text = to_string(der);
    der = pki::pem_decode(text, text.find("BEGIN CERTIFICATE") != std::string::npos ? "CERTIFICATE" : "PUBLIC KEY");
  }
  if (auto cert = pki::parse_certificate(der)) return cert->public_key;
  return pki::parse_public_key(der);
}

std::string hex_of(const std::array<std::uint8_t, 16>& a) { return to_hex(BytesView(a.data(), a.size())); }

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string http_date(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<std::int64_t> parse_http_date(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string media_type_for(const std::string& name) {
  const auto ends = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (ends(".crl")) return "application/pkix-crl";
  if (ends(".crt") || ends(".cer")) return "application/pkix-cert";
  if (ends(".p7c") || ends(".p7b")) return "application/pkcs7-mime";
  if (ends(".p7s")) return "application/pkcs7-signature";
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

bool safe_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

std::string format_duration(std::int64_t s) {
  const bool negative = s < 0;
  if (negative) s = -s;
  std::ostringstream o;
  if (negative) o << "-";
  if (s >= 86400) o << s / 86400 << "d";
  o << (s % 86400) / 3600 << "h" << (s % 3600) / 60 << "m";
  return o.str();
}

// ----- construction ------------------------------------------------------------------------------

Relay::Relay(Config config, bool with_token) : m_config(std::move(config)), m_http_repo(m_config.doc_root) {
  fs::create_directories(m_config.state_dir);
  fs::create_directories(m_config.state_dir / "ledger");
  fs::create_directories(m_config.state_dir / "archive");
  fs::create_directories(m_config.outbox);
  fs::create_directories(m_config.inbox);
  m_worker_store = std::make_unique<Store>(m_config.state_dir / "relay.db");
  m_read_store = std::make_unique<Store>(m_config.state_dir / "relay.db");
  m_anchors = load_anchors(m_config.ca_certificates);
  // Generations learnt from rollovers (import_inbox) since the configuration was written.
  if (fs::is_directory(m_config.state_dir / "anchors")) {
    std::vector<fs::path> learnt;
    for (const auto& e : fs::directory_iterator(m_config.state_dir / "anchors")) learnt.push_back(e.path());
    std::sort(learnt.begin(), learnt.end());
    for (Anchor& a : load_anchors(learnt)) {
      const bool known = std::any_of(m_anchors.begin(), m_anchors.end(), [&](const Anchor& x) { return x.generation == a.generation; });
      if (!known) m_anchors.push_back(std::move(a));
    }
  }
  for (const auto& p : m_config.signer_transport_keys) m_signer_keys.push_back(read_key_or_certificate(p));
  if (!m_config.ldap_uri.empty()) {
    std::string password;
    if (!m_config.ldap_password_file.empty()) {
      password = hanko::read_text_file(m_config.ldap_password_file, 4096);
      while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
    }
    m_ldap_repo = std::make_unique<LdapRepository>(m_config.ldap_uri, m_config.ldap_bind_dn, password, m_config.ldap_ca_dn);
  }
  if (with_token && !m_config.token.empty()) {
    m_token = std::make_unique<Token>();
    m_token->module = std::make_unique<hsm::Module>(m_config.pkcs11_module.empty() ? std::string(hsm::kDefaultModulePath)
                                                                                   : m_config.pkcs11_module);
    const CK_SLOT_ID slot = m_token->module->find_token(m_config.token);
    m_token->transport_session = std::make_unique<hsm::Session>(*m_token->module, slot, false);
    m_token->transport_session->login_user(read_pin_file(m_config.token_pin_file));
    m_token->transport = signer_for(*m_token->transport_session, m_config.transport_key_label);
    if (!m_config.ocsp_key_label.empty()) {
      m_token->ocsp_session = std::make_unique<hsm::Session>(*m_token->module, slot, false);
      m_token->ocsp_session->login_user(read_pin_file(m_config.token_pin_file));
      m_token->ocsp_signer = signer_for(*m_token->ocsp_session, m_config.ocsp_key_label);
      std::vector<Bytes> responder_certificates;
      for (const auto& f : m_config.ocsp_certificates) responder_certificates.push_back(hanko::read_file(f, 1 << 20));
      m_token->ocsp = std::make_unique<OcspResponder>(responder_certificates, m_anchors, *m_token->ocsp_signer, m_config.ocsp_validity);
    }
  }
  refresh_registry();
  m_queued = m_worker_store->count_state("queued");
}

Relay::~Relay() = default;

pki::Time Relay::now() const {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

void Relay::refresh_registry() {
  RaRegistry r = m_worker_store->ra_keys();
  std::unique_lock lock(m_registry_mutex);
  m_registry = std::move(r);
}

// ----- HTTP routing ------------------------------------------------------------------------------

void Relay::handle(HttpRequest&& request, Respond respond) {
  const std::string target = request.target.substr(0, request.target.find('?'));
  static const std::string kRequests = "/api/v1/requests";
  if (target == kRequests) {
    if (request.method != "POST") return respond(HttpResponse::text(405, "use POST\n"));
    return handle_intake(std::move(request), std::move(respond));
  }
  if (target.rfind(kRequests + "/", 0) == 0) {
    if (request.method != "GET") return respond(HttpResponse::text(405, "use GET\n"));
    std::string rest = target.substr(kRequests.size() + 1);
    bool certificate = false;
    static const std::string kCert = "/certificate";
    if (rest.size() > kCert.size() && rest.compare(rest.size() - kCert.size(), kCert.size(), kCert) == 0) {
      certificate = true;
      rest.resize(rest.size() - kCert.size());
    }
    if (!safe_name(rest)) return respond(HttpResponse::text(400, "bad request id\n"));
    return handle_status(rest, certificate, std::move(respond));
  }
  if (target == "/metrics") return respond(HttpResponse::text(200, metrics_text(), "text/plain; version=0.0.4; charset=utf-8"));
  if (target == "/healthz") {
    int code = 0;
    {
      std::lock_guard lock(m_read_mutex);
      for (const Alarm& a : compute_alarms(*m_read_store, m_config, now())) code = std::max(code, static_cast<int>(a.severity));
    }
    return respond(HttpResponse::text(code >= 2 ? 503 : 200, code >= 2 ? "critical alarm\n" : "ok\n"));
  }
  if (target == "/ocsp" || target.rfind("/ocsp/", 0) == 0) return handle_ocsp(request, std::move(respond));
  if (request.method != "GET" && request.method != "HEAD") return respond(HttpResponse::text(405, "use GET\n"));
  return handle_file(request, std::move(respond));
}

bool Relay::rate_ok(const std::string& client) {
  const auto t = std::chrono::steady_clock::now();
  std::lock_guard lock(m_rate_mutex);
  Bucket& b = m_buckets[client];
  if (b.last.time_since_epoch().count() == 0) {
    b.tokens = m_config.rate_burst;
  } else {
    const double dt = std::chrono::duration<double>(t - b.last).count();
    b.tokens = std::min(m_config.rate_burst, b.tokens + dt * m_config.rate_per_second);
  }
  b.last = t;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  if (m_buckets.size() > 100000) m_buckets.clear();  // a scan from many addresses must not fill memory
  return true;
}

void Relay::handle_intake(HttpRequest&& request, Respond respond) {
  if (!rate_ok(request.client)) {
    ++m_intake_limited;
    HttpResponse r = HttpResponse::text(429, "{\"error\":\"rate-limited\",\"message\":\"too many requests; slow down\"}\n", "application/json");
    r.headers.emplace_back("Retry-After", "1");
    return respond(std::move(r));
  }
  if (!m_token) {
    // Accepting what can never be batched would only hide the fault from the RA operator.
    ++m_intake_refused;
    return respond(HttpResponse::text(503, "{\"error\":\"no-token\",\"message\":\"this relay has no token (token, token_pin_file, "
                                           "transport_key_label in relay.conf), so it cannot cut batches; it takes no requests\"}\n",
                                      "application/json"));
  }
  if (m_queued.load() >= static_cast<std::int64_t>(m_config.max_queue)) {
    ++m_intake_limited;
    HttpResponse r = HttpResponse::text(503, "{\"error\":\"queue-full\",\"message\":\"the queue is full; the signer is behind\"}\n", "application/json");
    r.headers.emplace_back("Retry-After", "60");
    return respond(std::move(r));
  }
  const auto error = [&](unsigned status, std::string_view id, const std::string& message) {
    ++m_intake_refused;
    respond(HttpResponse::text(status, "{\"error\":\"" + std::string(id) + "\",\"message\":\"" + json_escape(message) + "\"}\n",
                               "application/json"));
  };
  Bytes der;
  const std::string type = request.content_type.substr(0, request.content_type.find(';'));
  if (type == "application/json") {
    std::string why;
    auto decoded = parse_json_envelope(request.body, why);
    if (!decoded) return error(400, "malformed", "JSON envelope: " + why);
    der = std::move(*decoded);
  } else if (type == "application/octet-stream" || type == "application/x-hanko-request-item") {
    der = to_bytes(request.body);
  } else {
    return error(415, "unsupported-media-type", "send application/octet-stream (DER) or application/json");
  }
  IntakeResult checked;
  {
    std::shared_lock lock(m_registry_mutex);
    checked = check_signed_item(der, m_registry);
  }
  if (!checked) {
    const unsigned status = checked.error == IntakeError::kMalformed ? 400 : checked.error == IntakeError::kBadRequest ? 422 : 403;
    return error(status, intake_error_name(checked.error), checked.message);
  }
  {
    std::lock_guard lock(m_intake_mutex);
    if (m_intake_stop) return error(503, "stopping", "the relay is stopping; try again");
    m_intake_queue.push_back(Intake{std::move(*checked.item), std::move(respond)});
  }
  m_intake_cv.notify_one();
}

// The intake writer: takes everything waiting, writes it in one transaction (one fsync for many
// requests), then answers each. Nobody hears "accepted" before the commit returned.
void Relay::intake_loop() {
  Store store(m_config.state_dir / "relay.db");
  for (;;) {
    std::vector<Intake> work;
    {
      std::unique_lock lock(m_intake_mutex);
      m_intake_cv.wait(lock, [&] { return m_intake_stop || !m_intake_queue.empty(); });
      if (m_intake_queue.empty()) return;
      const std::size_t n = std::min<std::size_t>(m_intake_queue.size(), 2000);
      for (std::size_t i = 0; i < n; ++i) {
        work.push_back(std::move(m_intake_queue.front()));
        m_intake_queue.pop_front();
      }
    }
    std::vector<const CheckedItem*> items;
    for (const Intake& w : work) items.push_back(&w.item);
    std::vector<InsertOutcome> outcomes;
    std::string failure;
    try {
      outcomes = store.insert_requests(items, unix_seconds(now()));
    } catch (const std::exception& e) {
      failure = e.what();
    }
    for (std::size_t i = 0; i < work.size(); ++i) {
      const std::string& id = work[i].item.item.item.item_id;
      if (!failure.empty()) {
        ++m_intake_refused;
        HttpResponse r = HttpResponse::text(503, "{\"error\":\"storage\",\"message\":\"" + json_escape(failure) + "\"}\n", "application/json");
        r.headers.emplace_back("Retry-After", "5");
        work[i].respond(std::move(r));
        continue;
      }
      switch (outcomes[i]) {
        case InsertOutcome::kAccepted: {
          ++m_intake_accepted;
          ++m_queued;
          HttpResponse r = HttpResponse::text(202, "{\"id\":\"" + id + "\",\"state\":\"queued\"}\n", "application/json");
          r.headers.emplace_back("Location", "/api/v1/requests/" + id);
          work[i].respond(std::move(r));
          break;
        }
        case InsertOutcome::kDuplicate:
          ++m_intake_duplicate;
          work[i].respond(HttpResponse::text(200, "{\"id\":\"" + id + "\",\"duplicate\":true}\n", "application/json"));
          break;
        case InsertOutcome::kConflict:
          ++m_intake_refused;
          work[i].respond(HttpResponse::text(
              409, "{\"error\":\"conflict\",\"message\":\"request id '" + id + "' was already used for a different request\"}\n",
              "application/json"));
          break;
      }
    }
  }
}

void Relay::handle_status(const std::string& id, bool certificate, Respond respond) {
  std::optional<RequestRow> row;
  {
    std::lock_guard lock(m_read_mutex);
    row = m_read_store->request(id);
  }
  if (!row) return respond(HttpResponse::text(404, "{\"error\":\"not-found\"}\n", "application/json"));
  if (certificate) {
    if (row->certificate.empty()) {
      return respond(HttpResponse::text(409, "{\"error\":\"not-issued\",\"state\":\"" + row->state + "\"}\n", "application/json"));
    }
    return respond(HttpResponse::text(200, to_string(row->certificate), "application/pkix-cert"));
  }
  std::string json = "{\"id\":\"" + row->id + "\",\"operator\":\"" + json_escape(row->ra_operator) + "\",\"kind\":\"" + row->kind +
                     "\",\"state\":\"" + row->state + "\",\"received\":\"" + pki::format_time(from_unix(row->received)) +
                     "\",\"updated\":\"" + pki::format_time(from_unix(row->updated)) + "\"";
  if (!row->batch_id.empty()) json += ",\"batch\":\"" + row->batch_id + "\"";
  if (!row->serial.empty()) json += ",\"serial\":\"" + row->serial + "\"";
  if (!row->reason.empty()) json += ",\"reason\":\"" + json_escape(row->reason) + "\"";
  if (!row->certificate.empty()) json += ",\"certificate\":\"/api/v1/requests/" + row->id + "/certificate\"";
  respond(HttpResponse::text(200, json + "}\n", "application/json"));
}

void Relay::handle_file(const HttpRequest& request, Respond respond) {
  std::string name = request.target.substr(0, request.target.find('?'));
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  if (name.empty()) name = "index.html";
  if (!safe_name(name)) return respond(HttpResponse::text(404, "not found\n"));
  const fs::path path = m_config.doc_root / name;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return respond(HttpResponse::text(404, "not found\n"));
  CachedFile file;
  {
    std::lock_guard lock(m_cache_mutex);
    auto it = m_cache.find(name);
    // Files are replaced by rename: a new inode means new content.
    if (it != m_cache.end() && it->second.mtime == st.st_mtim.tv_sec && it->second.size == static_cast<std::uintmax_t>(st.st_size) &&
        it->second.inode == st.st_ino) {
      file = it->second;
    }
  }
  if (!file.body) {
    Bytes data;
    try {
      data = hanko::read_file(path, 256u << 20);
    } catch (const std::exception&) {
      return respond(HttpResponse::text(404, "not found\n"));
    }
    file.mtime = st.st_mtim.tv_sec;
    file.inode = st.st_ino;
    file.size = data.size();
    file.content_type = media_type_for(name);
    std::array<std::uint8_t, 32> h{};
    CryptoPP::SHA256().CalculateDigest(h.data(), data.data(), data.size());
    file.etag = "\"" + to_hex(BytesView(h.data(), 16)) + "\"";
    if (file.content_type == "application/pkix-crl") {
      auto crl = pki::parse_crl(data, {.keep_entries = false, .keep_der = false});
      if (crl && crl->next_update) file.next_update = unix_seconds(*crl->next_update);
    }
    file.body = std::make_shared<const std::string>(to_string(data));
    std::lock_guard lock(m_cache_mutex);
    if (m_cache.size() > 256) m_cache.clear();
    m_cache[name] = file;
  }
  HttpResponse r;
  r.content_type = file.content_type;
  r.headers.emplace_back("ETag", file.etag);
  r.headers.emplace_back("Last-Modified", http_date(file.mtime));
  const std::int64_t t = unix_seconds(now());
  if (file.next_update) {
    // Never let a cache keep a list past its nextUpdate; an hour at most so revocations travel fast.
    const std::int64_t age = std::clamp<std::int64_t>(*file.next_update - t, 0, 3600);
    r.headers.emplace_back("Cache-Control", "public, max-age=" + std::to_string(age));
    r.headers.emplace_back("Expires", http_date(*file.next_update));
  } else {
    r.headers.emplace_back("Cache-Control", "public, max-age=300");
  }
  bool not_modified = false;
  if (!request.if_none_match.empty()) {
    not_modified = request.if_none_match == file.etag || request.if_none_match == "*";
  } else if (!request.if_modified_since.empty()) {
    const auto since = parse_http_date(request.if_modified_since);
    not_modified = since && *since >= file.mtime;
  }
  if (not_modified) {
    r.status = 304;
    r.body = std::make_shared<const std::string>();
  } else {
    r.body = file.body;
  }
  respond(std::move(r));
}

void Relay::handle_ocsp(const HttpRequest& request, Respond respond) {
  if (!m_token || !m_token->ocsp) return respond(HttpResponse::text(404, "no OCSP responder configured\n"));
  Bytes der;
  if (request.method == "POST") {
    if (request.content_type != "application/ocsp-request") return respond(HttpResponse::text(415, "use application/ocsp-request\n"));
    der = to_bytes(request.body);
  } else if (request.method == "GET") {
    // RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER encoding of the OCSPRequest}
    std::string encoded = request.target.substr(std::string("/ocsp/").size());
    std::string b64;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      if (encoded[i] == '%' && i + 2 < encoded.size()) {
        b64 += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        b64 += encoded[i];
      }
    }
    auto decoded = base64_decode(b64);
    if (!decoded) return respond(HttpResponse::text(200, to_string(pki::ocsp_error_response(pki::OcspResponseStatus::kMalformedRequest)),
                                                    "application/ocsp-response"));
    der = std::move(*decoded);
  } else {
    return respond(HttpResponse::text(405, "use POST or GET\n"));
  }
  OcspLookup lookup = [this](int generation, const pki::Serial& serial) {
    std::lock_guard lock(m_read_mutex);
    return lookup_status(*m_read_store, generation, serial);
  };
  OcspAnswer answer;
  {
    std::lock_guard lock(m_token->ocsp_mutex);  // one thread in the token's OCSP session at a time
    answer = m_token->ocsp->respond(der, now(), lookup);
  }
  m_ocsp_good += answer.good;
  m_ocsp_revoked += answer.revoked;
  m_ocsp_unknown += answer.unknown;
  if (answer.error) ++m_ocsp_errors;
  HttpResponse r = HttpResponse::text(200, to_string(answer.der), "application/ocsp-response");
  if (answer.next_update) {
    r.headers.emplace_back("Cache-Control", "public, max-age=" + std::to_string(std::max<std::int64_t>(0, unix_seconds(*answer.next_update) - unix_seconds(now()))));
  }
  respond(std::move(r));
}

}  // namespace hanko::relay
