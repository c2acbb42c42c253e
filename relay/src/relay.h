#pragma once
// The relay: intake, durable queue, batches and bundles, result import, publication, freshness
// watch and OCSP, around one SQLite database. `serve` runs the HTTP server, one intake writer
// thread (group commit: many requests per fsync) and one worker thread (batches, imports,
// releases, publication, watch). Every step the worker takes is also callable once, so the
// command line and the tests can drive it without a server.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "artifacts.h"
#include "hanko/transfer/bundle.h"
#include "config.h"
#include "http_server.h"
#include "intake.h"
#include "publishers.h"
#include "store.h"

namespace hanko::pki {
class Signer;
}

namespace hanko::relay {

struct Alarm {
  enum class Severity { kWarning = 1, kCritical = 2 };
  Severity severity = Severity::kWarning;
  std::string name;     // e.g. "list-due", "list-expired", "repository-behind", "dead-letters"
  std::string subject;  // the list or repository it is about
  std::string message;  // names the list and the time left
};

// Computed from the database alone, so `hanko-relay status` (another process) sees the same.
std::vector<Alarm> compute_alarms(Store& store, const Config& config, pki::Time now);
std::string format_duration(std::int64_t seconds);

class Relay {
 public:
  // `with_token`: open the relay's token (needed to cut batches and answer OCSP).
  Relay(Config config, bool with_token);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Runs until `stop` becomes true. Returns the HTTP port (useful with listen port 0).
  void serve(const std::atomic<bool>& stop, const std::function<void(unsigned short)>& on_listening = {});

  // One-shot steps (each opens nothing new; they use the worker's connection).
  std::optional<std::string> cut_batch(bool force);  // returns the bundle file name
  // Number of bundles taken in; with wait_for_fresh, waits for files still being copied in.
  int import_inbox(bool wait_for_fresh = false);
  int release_due();                                  // lists released now
  int publish_pending();                              // publications done now
  void watch();                                       // self-fetch and alarms

  // Dead letters back into their queue (all repositories, or one); returns how many.
  int retry_dead(const std::string& repository = {});
  // The flag a SIGHUP handler sets: the worker then reloads RA keys at once and checks whether
  // relay.conf changed (which needs a restart). RA keys are also reloaded every second.
  void set_reload_flag(std::atomic<bool>* flag) { m_reload_flag = flag; }

  // What `hanko-relay status` reports; exit_code 0 fine, 1 warnings, 2 critical.
  struct Status {
    struct Batch { std::string id; std::int64_t sequence, created, items; std::string state, file; };
    struct Import { std::int64_t sequence, imported; std::string summary; };
    struct List { std::string scope; std::int64_t number, this_update, next_update; };
    struct DeadLetter { std::string name; std::int64_t number, attempts; std::string last_error; };
    struct Repository {
      std::string name, target;
      std::vector<std::pair<std::string, std::int64_t>> publications;  // by state
      std::vector<DeadLetter> dead_letters;                             // newest five
    };
    std::int64_t now = 0;
    std::vector<std::pair<std::string, std::int64_t>> requests;  // by state
    std::optional<Batch> last_batch;
    std::optional<Import> last_import;
    std::vector<List> lists;  // newest released per scope
    std::int64_t scheduled = 0, next_release = 0;
    std::vector<Repository> repositories;
    std::vector<Alarm> alarms;
    int exit_code = 0;
  };
  Status status();
  std::string status_text(int& exit_code);
  // The same as JSON (field names documented in the README; stable).
  std::string status_json(int& exit_code);
  std::string metrics_text();
  void handle(HttpRequest&& request, Respond respond);

 private:
  struct Token;
  struct Intake {
    CheckedItem item;
    Respond respond;
  };
  struct CachedFile {
    std::int64_t mtime = 0;
    std::uintmax_t size = 0;
    std::uint64_t inode = 0;
    std::shared_ptr<const std::string> body;
    std::string etag;
    std::string content_type;
    std::optional<std::int64_t> next_update;
  };

  void intake_loop();
  void worker_loop(const std::atomic<bool>& stop);
  void handle_intake(HttpRequest&& request, Respond respond);
  void handle_status(const std::string& id, bool certificate, Respond respond);
  void handle_file(const HttpRequest& request, Respond respond);
  void handle_ocsp(const HttpRequest& request, Respond respond);
  bool rate_ok(const std::string& client);
  void reexport_signed();
  void enqueue_publications(const std::string& kind, const std::string& name, std::int64_t number, std::int64_t now);
  void publish_one(const std::string& repository, std::int64_t id, const std::string& kind, const std::string& name,
                   std::int64_t number);
  void publish_ldap_object(const std::string& kind);
  void refresh_registry();
  pki::Time now() const;
  void learn_generations(const transfer::Bundle& b);

  Config m_config;
  std::vector<Anchor> m_anchors;
  std::vector<pki::PublicKey> m_signer_keys;
  std::unique_ptr<Token> m_token;
  std::unique_ptr<Store> m_worker_store;  // worker thread (and one-shot commands)
  std::unique_ptr<Store> m_read_store;    // HTTP threads, under m_read_mutex
  std::mutex m_read_mutex;
  HttpRepository m_http_repo;
  std::unique_ptr<LdapRepository> m_ldap_repo;

  std::shared_mutex m_registry_mutex;
  RaRegistry m_registry;

  std::mutex m_intake_mutex;
  std::condition_variable m_intake_cv;
  std::deque<Intake> m_intake_queue;
  bool m_intake_stop = false;
  std::atomic<std::int64_t> m_queued{0};

  std::mutex m_rate_mutex;
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::map<std::string, Bucket> m_buckets;

  std::mutex m_cache_mutex;
  std::map<std::string, CachedFile> m_cache;

  std::mutex m_wake_mutex;
  std::condition_variable m_wake;
  bool m_wake_flag = false;

  HttpServer* m_server = nullptr;
  std::atomic<bool>* m_reload_flag = nullptr;
  void reload();
  std::chrono::steady_clock::time_point m_last_watch{};

  // Counters for /metrics (monotonic since start).
  std::atomic<std::uint64_t> m_intake_accepted{0}, m_intake_duplicate{0}, m_intake_refused{0}, m_intake_limited{0};
  std::atomic<std::uint64_t> m_ocsp_good{0}, m_ocsp_revoked{0}, m_ocsp_unknown{0}, m_ocsp_errors{0};
  std::atomic<std::uint64_t> m_import_rejected{0};
};

}  // namespace hanko::relay
