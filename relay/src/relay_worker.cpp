// The relay's worker: batches, result import, scheduled release, publication, freshness watch.
#include <cryptopp/osrng.h>
#include <cryptopp/sha.h>

#include <algorithm>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "hanko/common/files.h"
#include "hanko/hsm/pki_signer.h"
#include "hanko/pki/cms.h"
#include "hanko/transfer/batch.h"
#include "hanko/transfer/bundle.h"
#include "hanko/transfer/ledger.h"
#include "hanko/transfer/media.h"
#include "hanko/transfer/qr.h"
#include "ocsp_responder.h"
#include "relay.h"
#include "relay_token.h"

namespace hanko::relay {

namespace fs = std::filesystem;
namespace tr = hanko::transfer;

// How long a bundle in the inbox must have been left unchanged before it is read (see import_inbox).
constexpr auto kInboxSettle = std::chrono::seconds(2);

namespace {

constexpr const char* kRequestBatchType = "application/x-hanko-request-batch";
constexpr const char* kResultBatchType = "application/x-hanko-result-batch";

void log(const std::string& message) {
  std::cerr << "hanko-relay: " << message << "\n";
}

std::string sha256_hex(BytesView data) {
  std::array<std::uint8_t, 32> h{};
  CryptoPP::SHA256().CalculateDigest(h.data(), data.data(), data.size());
  return to_hex(BytesView(h.data(), h.size()));
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

// ----- batches -----------------------------------------------------------------------------------

std::optional<std::string> Relay::cut_batch(bool force) {
  Store& store = *m_worker_store;
  const std::int64_t t = unix_seconds(now());
  reexport_signed();
  std::int64_t queued = 0, oldest = t;
  {
    auto s = store.db().prepare("SELECT count(*), min(received) FROM requests WHERE state = 'queued'");
    s.step();
    queued = s.integer(0);
    if (!s.is_null(1)) oldest = s.integer(1);
  }
  m_queued = queued;
  if (queued == 0) return std::nullopt;
  if (!force && queued < static_cast<std::int64_t>(m_config.batch_max_items) && t - oldest < m_config.batch_max_age.count()) {
    return std::nullopt;
  }
  if (!m_token || !m_token->transport) throw ConfigError("cutting a batch needs the relay's token (token, token_pin_file)");
  std::vector<std::int64_t> seqs;
  std::vector<Bytes> items;
  {
    auto s = store.db().prepare("SELECT seq, der FROM requests WHERE state = 'queued' ORDER BY seq LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(m_config.batch_max_items));
    while (s.step()) {
      seqs.push_back(s.integer(0));
      items.push_back(s.blob(1));
    }
  }
  CryptoPP::AutoSeededRandomPool rng;
  Bytes batch_id(16);
  rng.GenerateBlock(batch_id.data(), batch_id.size());
  const Bytes batch = transfer::encode_request_batch(batch_id, now(), items);
  std::int64_t sequence = 1;
  {
    auto s = store.db().prepare("SELECT coalesce(max(sequence), 0) + 1 FROM batches");
    s.step();
    sequence = s.integer(0);
  }
  std::vector<tr::Part> parts;
  parts.push_back(tr::Part{"request-batch.der", kRequestBatchType, batch});
  const tr::BundleContent content =
      tr::make_bundle(tr::random_bundle_id(rng), tr::Direction::kRequest, static_cast<std::uint64_t>(sequence), now(), std::move(parts));
  Bytes bundle;
  {
    std::lock_guard lock(m_token->transport_mutex);
    bundle = tr::sign_bundle(content, *m_token->transport);
  }
  const tr::Bundle parsed = tr::parse_bundle(bundle).value();
  const std::string file = tr::bundle_file_name(parsed);
  const std::string id_hex = to_hex(batch_id);
  {
    // The bundle is kept in the database with the state change: a crash after this commit
    // re-exports the same bytes; a crash before it leaves the items queued and nothing exported.
    sql::Transaction txn(store.db());
    auto ins = store.db().prepare(
        "INSERT INTO batches(id, sequence, created, items, batch_sha256, bundle, file, state) VALUES (?,?,?,?,?,?,?,'signed')");
    const Bytes digest = pki::digest(pki::HashAlgorithm::kSha256, batch);
    ins.bind(1, id_hex).bind(2, sequence).bind(3, t).bind(4, static_cast<std::int64_t>(items.size())).bind(5, BytesView(digest))
        .bind(6, BytesView(bundle)).bind(7, file);
    ins.run();
    auto upd = store.db().prepare("UPDATE requests SET state = 'in_batch', batch_id = ?, updated = ? WHERE seq = ? AND state = 'queued'");
    for (std::int64_t seq : seqs) {
      upd.reset();
      upd.bind(1, id_hex).bind(2, t).bind(3, seq);
      upd.run();
    }
    txn.commit();
  }
  m_queued -= static_cast<std::int64_t>(seqs.size());
  reexport_signed();
  log("batch " + id_hex + " (sequence " + std::to_string(sequence) + ", " + std::to_string(items.size()) + " items) -> " +
      (m_config.outbox / file).string());
  return file;
}

void Relay::reexport_signed() {
  Store& store = *m_worker_store;
  struct Pending {
    std::string id;
    Bytes bundle;
  };
  std::vector<Pending> pending;
  {
    auto s = store.db().prepare("SELECT id, bundle FROM batches WHERE state = 'signed' ORDER BY sequence");
    while (s.step()) pending.push_back({s.text(0), s.blob(1)});
  }
  for (const Pending& p : pending) {
    try {
      tr::export_to_folder(p.bundle, m_config.outbox);
      if (m_config.outbox_qr_html) {
        const tr::Bundle b = tr::parse_bundle(p.bundle).value();
        const tr::FrameEncoder enc(p.bundle, tr::QrOptions{});
        const std::string page = tr::html_page(enc, 10, "hanko request " + std::to_string(b.sequence) + " " + tr::digest_words(b.sha256), 4);
        tr::write_file_atomic(m_config.outbox / (tr::bundle_file_name(b) + ".html"), view(page));
      }
      auto u = store.db().prepare("UPDATE batches SET state = 'exported' WHERE id = ? AND state = 'signed'");
      u.bind(1, p.id);
      u.run();
    } catch (const std::exception& e) {
      log("batch " + p.id + ": export to " + m_config.outbox.string() + " failed, will retry: " + e.what());
    }
  }
}

// ----- result import -----------------------------------------------------------------------------

namespace {

struct ImportPlan {
  struct ItemUpdate {
    std::string id;
    std::string state;
    std::string serial;
    Bytes certificate;
    std::string reason;
  };
  std::string batch_id;
  std::vector<ItemUpdate> items;
  struct List {
    ListInfo info;
    Bytes der;
  };
  std::vector<List> lists;
  struct Object {
    std::string name;
    std::string media_type;
    std::string kind;  // ca, link, cross, responder, fingerprints, bundle
    Bytes der;
  };
  std::vector<Object> objects;
  struct Issued {
    int generation;
    std::string serial;
    std::int64_t not_after;
  };
  std::vector<Issued> issued;
  std::vector<std::string> notes;  // refused parts, stated in the import summary and the events
};

void plan_certificate(ImportPlan& plan, const std::string& name, BytesView der, const std::vector<Anchor>& anchors) {
  auto cert = pki::parse_certificate(der);
  if (!cert) throw ArtifactError("part " + name + ": " + cert.message());
  const Anchor& a = issuing_anchor(*cert, anchors);
  std::string kind = "ee";
  if (cert->is_ca()) kind = cert->is_self_issued() ? (cert->der == a.certificate.der ? "ca" : "link") : "cross";
  if (const auto* eku = cert->extension(pki::oid::kExtKeyUsage)) {
    for (const auto& p : pki::decode_extended_key_usage(eku->value)) {
      if (p == pki::oid::kKpOcspSigning) kind = "responder";
    }
  }
  plan.issued.push_back({a.generation, cert->serial.hex(), unix_seconds(cert->not_after)});
  if (kind == "ee") return;  // subscriber certificates are served by the API, not the repository
  std::string object_name = name;
  if (kind == "ca") object_name = "ca-g" + std::to_string(a.generation) + ".crt";
  plan.objects.push_back({object_name, "application/pkix-cert", kind, Bytes(der.begin(), der.end())});
}

}  // namespace

// A rollover on the signer reaches the relay as a result bundle holding ca-g<N>.crt and
// g<N>-NewWithOld.crt: the link certificate, signed by a generation the relay trusts, vouches for
// the new one, which is kept in state_dir/anchors and trusted from then on (no configuration edit).
void Relay::learn_generations(const tr::Bundle& b) {
  static const std::regex link_name(R"(g([0-9]+)-NewWithOld\.crt)");
  for (std::size_t i = 0; i < b.manifest.size(); ++i) {
    std::smatch m;
    const std::string& name = b.manifest[i].name;
    if (!std::regex_match(name, m, link_name)) continue;
    const int generation = std::stoi(m[1].str());
    if (std::any_of(m_anchors.begin(), m_anchors.end(), [&](const Anchor& a) { return a.generation == generation; })) continue;
    const std::string self_name = "ca-g" + std::to_string(generation) + ".crt";
    const auto self = std::find_if(b.manifest.begin(), b.manifest.end(), [&](const auto& x) { return x.name == self_name; });
    if (self == b.manifest.end()) throw ArtifactError(name + " comes without " + self_name);
    Anchor a = learn_generation(generation, b.parts[i], b.parts[static_cast<std::size_t>(self - b.manifest.begin())], m_anchors);
    fs::create_directories(m_config.state_dir / "anchors");
    hanko::write_file_atomic(m_config.state_dir / "anchors" / self_name, a.certificate.der);
    log("CA generation " + std::to_string(generation) + " learnt from its NewWithOld link certificate (" +
        to_hex(pki::digest(pki::HashAlgorithm::kSha256, a.certificate.der)).substr(0, 16) + "...)");
    m_worker_store->event(unix_seconds(now()), "generation-learnt", "generation " + std::to_string(generation) + " from " + name);
    m_anchors.push_back(std::move(a));
  }
}

int Relay::import_inbox(bool wait_for_fresh) {
  Store& store = *m_worker_store;
  tr::SequenceLedger ledger(m_config.state_dir / "ledger");
  std::vector<fs::path> files;
  bool fresh = false;
  for (const auto& e : fs::directory_iterator(m_config.inbox)) {
    if (!e.is_regular_file() || e.path().extension() != tr::kBundleExtension) continue;
    // An operator copies a bundle in with cp or a file manager: a file written to less than
    // kInboxSettle ago may still be arriving, and read now it would be refused as truncated.
    // The server takes it on a later round; 'hanko-relay import' waits for it.
    std::error_code ec;
    const auto written = e.last_write_time(ec);
    if (!ec && fs::file_time_type::clock::now() - written < kInboxSettle) {
      fresh = true;
      continue;
    }
    files.push_back(e.path());
  }
  if (fresh && wait_for_fresh) {
    std::this_thread::sleep_for(kInboxSettle);
    return import_inbox(false);
  }
  std::sort(files.begin(), files.end());
  int imported = 0;
  const std::int64_t t = unix_seconds(now());
  const auto reject = [&](const fs::path& file, const std::string& why) {
    ++m_import_rejected;
    log("result bundle " + file.filename().string() + " refused: " + why);
    store.event(t, "import-refused", file.filename().string() + ": " + why);
    fs::create_directories(m_config.inbox / "refused");
    std::error_code ec;
    fs::rename(file, m_config.inbox / "refused" / file.filename(), ec);
    hanko::write_file_atomic(m_config.inbox / "refused" / (file.filename().string() + ".why.txt"), view(why + "\n"));
  };
  for (const fs::path& file : files) {
    Bytes der;
    try {
      der = tr::read_file_capped(file);
    } catch (const std::exception& e) {
      reject(file, e.what());
      continue;
    }
    const auto opened = tr::open_bundle(der, m_signer_keys);
    if (!opened) {
      reject(file, "[" + std::string(tr::error_id_name(opened.error())) + "] " + opened.message());
      continue;
    }
    const tr::Bundle& b = *opened;
    if (b.direction != tr::Direction::kResult) {
      reject(file, "a request bundle where a result bundle was expected");
      continue;
    }
    const std::string bundle_hex = to_hex(BytesView(b.id.data(), b.id.size()));
    {
      auto s = store.db().prepare("SELECT 1 FROM imports WHERE bundle_id = ?");
      s.bind(1, bundle_hex);
      if (s.step()) {
        // Committed before a crash, ledger or archive step not done: finish those.
        if (!ledger.already_imported(b) && ledger.check(b)) ledger.record(b);
        std::error_code ec;
        fs::rename(file, m_config.state_dir / "archive" / file.filename(), ec);
        continue;
      }
    }
    const auto in_order = ledger.check(b);
    if (!in_order) {
      if (in_order.error() == tr::ErrorId::kOutOfSequence) continue;  // an earlier bundle is still on its way
      reject(file, "[" + std::string(tr::error_id_name(in_order.error())) + "] " + in_order.message());
      continue;
    }
    ImportPlan plan;
    try {
      learn_generations(b);
      for (std::size_t i = 0; i < b.manifest.size(); ++i) {
        const tr::PartInfo& info = b.manifest[i];
        const Bytes& content = b.parts[i];
        if (info.media_type == kResultBatchType || (ends_with(info.name, ".der") && info.name.find("result") != std::string::npos)) {
          const transfer::ResultBatch rb = transfer::parse_result_batch(content);
          const std::string id_hex = to_hex(rb.batch_id);
          auto s = store.db().prepare("SELECT batch_sha256 FROM batches WHERE id = ?");
          s.bind(1, id_hex);
          if (!s.step()) throw ArtifactError("result batch " + id_hex + " answers no batch this relay sent");
          if (s.blob(0) != rb.request_digest) throw ArtifactError("result batch " + id_hex + ": requestDigest does not match the batch sent");
          plan.batch_id = id_hex;
          for (const transfer::ItemResult& r : rb.results) {
            ImportPlan::ItemUpdate u;
            u.id = r.item_id;
            switch (r.status) {
              case transfer::ItemStatus::kIssued: {
                u.state = "issued";
                auto cert = pki::parse_certificate(r.certificate);
                if (!cert) throw ArtifactError("item " + r.item_id + ": certificate does not parse: " + cert.message());
                const Anchor& a = issuing_anchor(*cert, m_anchors);  // verifies the CA's signature
                if (!r.serial || !(*r.serial == cert->serial)) throw ArtifactError("item " + r.item_id + ": serial does not match its certificate");
                u.serial = cert->serial.hex();
                u.certificate = r.certificate;
                plan.issued.push_back({a.generation, u.serial, unix_seconds(cert->not_after)});
                break;
              }
              case transfer::ItemStatus::kRevoked:
                u.state = "revoked";
                if (r.serial) u.serial = r.serial->hex();
                break;
              case transfer::ItemStatus::kRefused:
                u.state = "refused";
                u.reason = r.reason.empty() ? "refused by the signer" : r.reason;
                break;
            }
            plan.items.push_back(std::move(u));
          }
          for (const Bytes& l : rb.lists) plan.lists.push_back({check_list(l, m_anchors), l});
        } else if (ends_with(info.name, ".crl")) {
          plan.lists.push_back({check_list(content, m_anchors), content});
        } else if (ends_with(info.name, ".crt") || ends_with(info.name, ".cer")) {
          plan_certificate(plan, info.name, content, m_anchors);
        } else if (info.name == "fingerprints.txt" || info.name == "fingerprints.html") {
          plan.objects.push_back({info.name, info.name == "fingerprints.txt" ? "text/plain" : "text/html", "fingerprints", content});
        } else if (info.name == "fingerprints.txt.p7s" || info.name == "fingerprints.html.p7s") {
          // R18: the page's signature is checked here as a relying party would, against the page
          // in the same bundle and a certificate issued by a CA generation the relay knows.
          const std::string page = info.name.substr(0, info.name.size() - 4);
          const auto signed_page = std::find_if(b.manifest.begin(), b.manifest.end(), [&](const auto& m) { return m.name == page; });
          if (signed_page == b.manifest.end()) throw ArtifactError("part " + info.name + ": the page it signs (" + page + ") is not in the bundle");
          const auto cms = pki::parse_signed_data(content);
          if (!cms) throw ArtifactError("part " + info.name + ": " + cms.message());
          try {
            issuing_anchor(pki::verify_detached(*cms, b.parts[static_cast<std::size_t>(signed_page - b.manifest.begin())]), m_anchors);
          } catch (const std::exception& e) {
            throw ArtifactError("part " + info.name + ": " + e.what());
          }
          plan.objects.push_back({info.name, "application/pkcs7-signature", "fingerprints", content});
        } else if (ends_with(info.name, ".p7c")) {
          const auto cms = pki::parse_signed_data(content);
          if (!cms) throw ArtifactError("part " + info.name + ": " + cms.message());
          if (!cms->signers.empty()) throw ArtifactError("part " + info.name + ": a certificate bundle with signers");
          for (const pki::Certificate& c : cms->certificates) issuing_anchor(c, m_anchors);  // each one ours
          plan.objects.push_back({info.name, "application/pkcs7-mime", "bundle", content});
        } else {
          plan.notes.push_back("part " + info.name + " (" + info.media_type + ") ignored: not something the relay publishes");
        }
      }
    } catch (const std::exception& e) {
      // A certificate or list that does not verify means the bundle is not what the CA signed:
      // take none of it.
      reject(file, e.what());
      continue;
    }
    std::int64_t lists_new = 0, lists_refused = 0;
    {
      sql::Transaction txn(store.db());
      auto upd = store.db().prepare(
          "UPDATE requests SET state = ?, serial = ?, certificate = ?, reason = ?, updated = ? WHERE id = ? AND batch_id = ? AND state = 'in_batch'");
      for (const auto& u : plan.items) {
        upd.reset();
        upd.bind(1, u.state).bind(2, u.serial.empty() ? std::optional<std::string>() : std::optional<std::string>(u.serial));
        if (u.certificate.empty()) upd.bind_null(3); else upd.bind(3, BytesView(u.certificate));
        upd.bind(4, u.reason.empty() ? std::optional<std::string>() : std::optional<std::string>(u.reason))
            .bind(5, t).bind(6, u.id).bind(7, plan.batch_id);
        upd.run();
      }
      if (!plan.batch_id.empty()) {
        auto s = store.db().prepare("UPDATE batches SET state = 'answered', answered = ? WHERE id = ?");
        s.bind(1, t).bind(2, plan.batch_id);
        s.run();
      }
      auto cert = store.db().prepare("INSERT OR IGNORE INTO certificates(generation, serial, not_after) VALUES (?,?,?)");
      for (const auto& c : plan.issued) {
        cert.reset();
        cert.bind(1, static_cast<std::int64_t>(c.generation)).bind(2, c.serial).bind(3, c.not_after);
        cert.run();
      }
      for (const auto& l : plan.lists) {
        auto newest = store.db().prepare("SELECT max(number) FROM lists WHERE scope = ? AND state = 'released'");
        newest.bind(1, l.info.scope);
        newest.step();
        auto same = store.db().prepare("SELECT 1 FROM lists WHERE scope = ? AND number = ?");
        same.bind(1, l.info.scope).bind(2, static_cast<std::int64_t>(l.info.number));
        if (same.step()) continue;  // the same list again (repository folder and result batch)
        if (!newest.is_null(0) && static_cast<std::uint64_t>(newest.integer(0)) >= l.info.number) {
          ++lists_refused;
          const std::string why = l.info.scope + " number " + std::to_string(l.info.number) +
                                  " refused: not higher than the live number " + std::to_string(newest.integer(0));
          plan.notes.push_back(why);
          store.event(t, "list-refused", why);
          continue;
        }
        auto ins = store.db().prepare(
            "INSERT INTO lists(scope, number, generation, this_update, next_update, der, state, received) VALUES (?,?,?,?,?,?,'scheduled',?)");
        ins.bind(1, l.info.scope).bind(2, static_cast<std::int64_t>(l.info.number)).bind(3, static_cast<std::int64_t>(l.info.generation))
            .bind(4, unix_seconds(l.info.this_update)).bind(5, unix_seconds(l.info.next_update)).bind(6, BytesView(l.der)).bind(7, t);
        ins.run();
        ++lists_new;
      }
      for (const auto& o : plan.objects) {
        auto have = store.db().prepare("SELECT der FROM objects WHERE name = ?");
        have.bind(1, o.name);
        if (have.step() && have.blob(0) == o.der) continue;
        auto ins = store.db().prepare(
            "INSERT INTO objects(name, media_type, kind, der, modified) VALUES (?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET media_type = excluded.media_type, kind = excluded.kind, der = excluded.der, modified = excluded.modified");
        ins.bind(1, o.name).bind(2, o.media_type).bind(3, o.kind).bind(4, BytesView(o.der)).bind(5, t);
        ins.run();
        if (o.kind != "responder") enqueue_publications("object", o.name, 0, t);
      }
      std::ostringstream summary;
      summary << plan.items.size() << " results, " << lists_new << " new lists, " << lists_refused << " lists refused, "
              << plan.objects.size() << " objects";
      for (const auto& n : plan.notes) summary << "; " << n;
      auto imp = store.db().prepare("INSERT INTO imports(bundle_id, sequence, sha256, imported, summary) VALUES (?,?,?,?,?)");
      imp.bind(1, bundle_hex).bind(2, static_cast<std::int64_t>(b.sequence)).bind(3, sha256_hex(der)).bind(4, t).bind(5, summary.str());
      imp.run();
      store.event(t, "import", file.filename().string() + ": " + summary.str());
      txn.commit();
      log("imported " + file.filename().string() + ": " + summary.str());
    }
    ledger.record(b);
    std::error_code ec;
    fs::rename(file, m_config.state_dir / "archive" / file.filename(), ec);
    ++imported;
  }
  if (imported) release_due();
  return imported;
}

void Relay::enqueue_publications(const std::string& kind, const std::string& name, std::int64_t number, std::int64_t t) {
  auto s = m_worker_store->db().prepare(
      "INSERT INTO publications(repository, kind, name, number, state, next_attempt, created) VALUES (?,?,?,?,'pending',?,?)");
  std::vector<std::string> repos{kRepositoryHttp};
  if (m_ldap_repo) repos.emplace_back(kRepositoryLdap);
  for (const auto& r : repos) {
    s.reset();
    s.bind(1, r).bind(2, kind).bind(3, name).bind(4, number).bind(5, t).bind(6, t);
    s.run();
  }
}

// ----- scheduled release -------------------------------------------------------------------------

int Relay::release_due() {
  Store& store = *m_worker_store;
  const std::int64_t t = unix_seconds(now());
  int released = 0;
  std::vector<std::string> scopes;
  {
    auto s = store.db().prepare("SELECT DISTINCT scope FROM lists WHERE state = 'scheduled'");
    while (s.step()) scopes.push_back(s.text(0));
  }
  for (const std::string& scope : scopes) {
    sql::Transaction txn(store.db());
    std::int64_t live = -1;
    {
      auto s = store.db().prepare("SELECT max(number) FROM lists WHERE scope = ? AND state = 'released'");
      s.bind(1, scope);
      s.step();
      if (!s.is_null(0)) live = s.integer(0);
    }
    // The newest list whose thisUpdate has come; older due ones are superseded by it.
    std::optional<std::int64_t> pick;
    {
      auto s = store.db().prepare(
          "SELECT number FROM lists WHERE scope = ? AND state = 'scheduled' AND this_update <= ? AND next_update > ? ORDER BY number DESC LIMIT 1");
      s.bind(1, scope).bind(2, t).bind(3, t);
      if (s.step()) pick = s.integer(0);
    }
    const std::int64_t floor = std::max(live, pick.value_or(-1));
    {
      auto s = store.db().prepare(
          "UPDATE lists SET state = 'superseded' WHERE scope = ? AND state = 'scheduled' AND (number < ? OR next_update <= ?)");
      s.bind(1, scope).bind(2, floor).bind(3, t);
      s.run();
    }
    if (pick && *pick > live) {
      auto s = store.db().prepare("UPDATE lists SET state = 'released' WHERE scope = ? AND number = ?");
      s.bind(1, scope).bind(2, *pick);
      s.run();
      enqueue_publications("list", scope, *pick, t);
      if (ends_with(scope, "-full")) {
        // The fullCRL of a generation is the OCSP responder's source of revocations.
        auto d = store.db().prepare("SELECT der, generation FROM lists WHERE scope = ? AND number = ?");
        d.bind(1, scope).bind(2, *pick);
        d.step();
        const Bytes der = d.blob(0);
        const std::int64_t generation = d.integer(1);
        pki::Crl crl;
        check_list(der, m_anchors, &crl);
        auto del = store.db().prepare("DELETE FROM revoked WHERE generation = ?");
        del.bind(1, generation);
        del.run();
        auto ins = store.db().prepare("INSERT OR REPLACE INTO revoked(generation, serial, revoked_at, reason) VALUES (?,?,?,?)");
        for (const auto& e : crl.entries) {
          ins.reset();
          ins.bind(1, generation).bind(2, e.serial.hex()).bind(3, unix_seconds(e.revocation_date));
          if (e.reason) ins.bind(4, static_cast<std::int64_t>(*e.reason)); else ins.bind_null(4);
          ins.run();
        }
      }
      store.event(t, "release", scope + " number " + std::to_string(*pick));
      ++released;
    }
    txn.commit();
  }
  if (released) {
    std::lock_guard lock(m_wake_mutex);
    m_wake_flag = true;
  }
  return released;
}

// ----- publication -------------------------------------------------------------------------------

void Relay::publish_ldap_object(const std::string& kind) {
  Store& store = *m_worker_store;
  if (kind == "ca") {
    std::vector<Bytes> values;
    auto s = store.db().prepare("SELECT der FROM objects WHERE kind = 'ca' ORDER BY name");
    while (s.step()) values.push_back(s.blob(0));
    m_ldap_repo->replace(m_ldap_repo->ca_dn(), "cACertificate;binary", values);
  } else if (kind == "link" || kind == "cross") {
    // CertificatePair ::= SEQUENCE { issuedToThisCA [0] Certificate OPTIONAL, issuedByThisCA [1] Certificate OPTIONAL }
    // Link and cross certificates whose key is the current CA key were issued to this CA;
    // the others were issued by it.
    const pki::PublicKey& current = std::max_element(m_anchors.begin(), m_anchors.end(), [](const Anchor& a, const Anchor& b) {
                                      return a.generation < b.generation;
                                    })->certificate.public_key;
    std::vector<Bytes> values;
    auto s = store.db().prepare("SELECT der FROM objects WHERE kind IN ('link','cross') ORDER BY name");
    while (s.step()) {
      const Bytes der = s.blob(0);
      const auto cert = pki::parse_certificate(der);
      const unsigned tag = cert && cert->public_key.spki == current.spki ? 0 : 1;
      pki::der::Writer w;
      w.sequence([&](pki::der::Writer& p) { p.explicit_tag(tag, [&](pki::der::Writer& c) { c.raw(der); }); });
      values.push_back(std::move(w).take());
    }
    m_ldap_repo->replace(m_ldap_repo->ca_dn(), "crossCertificatePair;binary", values);
  }
  // fingerprints and certificate bundles live on the HTTP repository only.
}

void Relay::publish_one(const std::string& repository, std::int64_t id, const std::string& kind, const std::string& name,
                        std::int64_t number) {
  Store& store = *m_worker_store;
  const std::int64_t t = unix_seconds(now());
  const auto finish = [&](const std::string& state, const std::string& note) {
    auto s = store.db().prepare("UPDATE publications SET state = ?, done = ?, last_error = ? WHERE id = ?");
    s.bind(1, state).bind(2, t).bind(3, note.empty() ? std::optional<std::string>() : std::optional<std::string>(note)).bind(4, id);
    s.run();
  };
  if (kind == "object") {
    auto s = store.db().prepare("SELECT der, kind FROM objects WHERE name = ?");
    s.bind(1, name);
    if (!s.step()) return finish("dead", "object " + name + " is gone from the database");
    const Bytes der = s.blob(0);
    const std::string object_kind = s.text(1);
    if (repository == kRepositoryHttp) {
      m_http_repo.write(name, der, std::nullopt);
    } else {
      publish_ldap_object(object_kind);
    }
    return finish("done", "");
  }
  auto s = store.db().prepare("SELECT der, this_update, next_update, generation FROM lists WHERE scope = ? AND number = ?");
  s.bind(1, name).bind(2, number);
  if (!s.step()) return finish("dead", "list " + name + " number " + std::to_string(number) + " is gone from the database");
  const Bytes der = s.blob(0);
  const std::int64_t this_update = s.integer(1), next_update = s.integer(2);
  const int generation = static_cast<int>(s.integer(3));
  // Check again right before writing: signature, issuer and scope (the database is not trusted
  // more than the wire), and never backwards against what the repository itself serves now.
  const ListInfo info = check_list(der, m_anchors);
  if (info.scope != name || static_cast<std::int64_t>(info.number) != number) return finish("dead", "list does not match its record");
  if (next_update <= t) return finish("superseded", "expired before it could be published");
  std::optional<std::uint64_t> live;
  if (repository == kRepositoryHttp) {
    live = m_http_repo.live_number(name);
  } else {
    const std::string attr = info.arl ? "authorityRevocationList;binary" : "certificateRevocationList;binary";
    if (auto v = m_ldap_repo->read(m_ldap_repo->scope_dn(name), attr)) {
      auto crl = pki::parse_crl(*v, {.keep_entries = false, .keep_der = false});
      if (crl && crl->crl_number) live = *crl->crl_number;
    }
  }
  if (live && *live >= static_cast<std::uint64_t>(number)) {
    return finish("superseded", "repository already serves number " + std::to_string(*live));
  }
  if (repository == kRepositoryHttp) {
    m_http_repo.write(name + ".crl", der, from_unix(this_update));
  } else {
    const std::string attr = info.arl ? "authorityRevocationList;binary" : "certificateRevocationList;binary";
    m_ldap_repo->replace(m_ldap_repo->scope_dn(name), attr, {der}, "cRLDistributionPoint", name);
    // The current generation's ARL and fullCRL also sit on the CA's own entry (R31).
    int current = 0;
    for (const Anchor& a : m_anchors) current = std::max(current, a.generation);
    if (generation == current && (info.arl || ends_with(name, "-full"))) m_ldap_repo->replace(m_ldap_repo->ca_dn(), attr, {der});
  }
  auto l = store.db().prepare(
      "INSERT INTO live(repository, scope, number, this_update, next_update, published) VALUES (?,?,?,?,?,?) "
      "ON CONFLICT(repository, scope) DO UPDATE SET number = excluded.number, this_update = excluded.this_update, "
      "next_update = excluded.next_update, published = excluded.published");
  l.bind(1, repository).bind(2, name).bind(3, number).bind(4, this_update).bind(5, next_update).bind(6, t);
  l.run();
  finish("done", "");
}

int Relay::publish_pending() {
  Store& store = *m_worker_store;
  int done = 0;
  for (const std::string repository : {kRepositoryHttp, kRepositoryLdap}) {
    if (repository == kRepositoryLdap && !m_ldap_repo) continue;
    for (;;) {
      const std::int64_t t = unix_seconds(now());
      auto s = store.db().prepare(
          "SELECT id, kind, name, number, attempts FROM publications WHERE repository = ? AND state = 'pending' AND next_attempt <= ? "
          "ORDER BY id LIMIT 1");
      s.bind(1, repository).bind(2, t);
      if (!s.step()) break;
      const std::int64_t id = s.integer(0), number = s.integer(3), attempts = s.integer(4);
      const std::string kind = s.text(1), name = s.text(2);
      try {
        publish_one(repository, id, kind, name, number);
        ++done;
      } catch (const PublishError& e) {
        const bool dead = !e.transient() || attempts + 1 >= m_config.retry_dead_after;
        const std::int64_t shift = std::min<std::int64_t>(attempts, 20);
        const std::int64_t delay = std::min<std::int64_t>(m_config.retry_max.count(), m_config.retry_initial.count() << shift);
        auto u = store.db().prepare("UPDATE publications SET attempts = attempts + 1, next_attempt = ?, last_error = ?, state = ? WHERE id = ?");
        u.bind(1, t + delay).bind(2, std::string(e.what())).bind(3, std::string(dead ? "dead" : "pending")).bind(4, id);
        u.run();
        if (dead) store.event(t, "dead-letter", repository + " " + name + ": " + e.what());
        if (attempts == 0 || dead) log(repository + ": " + name + ": " + e.what() + (dead ? " (dead letter)" : " (will retry)"));
        if (!dead) break;  // keep the order: later publications to this repository wait behind it
      } catch (const std::exception& e) {
        auto u = store.db().prepare("UPDATE publications SET attempts = attempts + 1, last_error = ?, state = 'dead' WHERE id = ?");
        u.bind(1, std::string(e.what())).bind(2, id);
        u.run();
        store.event(t, "dead-letter", repository + " " + name + ": " + e.what());
        log(repository + ": " + name + ": " + e.what() + " (dead letter)");
      }
    }
  }
  return done;
}

// ----- freshness watch ---------------------------------------------------------------------------

namespace {

// Fetches a URL over plain HTTP as a relying party would (the watch runs beside the server).
std::optional<Bytes> http_get(const std::string& url) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) return std::nullopt;
  const auto slash = url.find('/', prefix.size());
  const std::string hostport = url.substr(prefix.size(), slash - prefix.size());
  const std::string target = slash == std::string::npos ? "/" : url.substr(slash);
  const auto colon = hostport.rfind(':');
  const std::string host = hostport.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(5));
  asio::ip::tcp::resolver resolver(io);
  stream.connect(resolver.resolve(host, port));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, hostport);
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::vector_body<std::uint8_t>> parser;
  parser.body_limit(256u << 20);
  http::read(stream, buffer, parser);
  if (parser.get().result_int() != 200) return std::nullopt;
  return std::move(parser.get().body());
}

}  // namespace

void Relay::watch() {
  Store& store = *m_worker_store;
  const std::int64_t t = unix_seconds(now());
  store.db().exec(
      "CREATE TABLE IF NOT EXISTS observed(repository TEXT NOT NULL, scope TEXT NOT NULL, number INTEGER, checked INTEGER NOT NULL, "
      "error TEXT, PRIMARY KEY(repository, scope))");
  std::vector<std::pair<std::string, bool>> scopes;
  {
    auto s = store.db().prepare("SELECT scope, max(number) FROM lists WHERE state = 'released' GROUP BY scope");
    while (s.step()) scopes.emplace_back(s.text(0), false);
  }
  auto rec = store.db().prepare(
      "INSERT INTO observed(repository, scope, number, checked, error) VALUES (?,?,?,?,?) ON CONFLICT(repository, scope) DO UPDATE SET "
      "number = excluded.number, checked = excluded.checked, error = excluded.error");
  const auto record = [&](const char* repo, const std::string& scope, std::optional<std::uint64_t> number, const std::string& error) {
    rec.reset();
    rec.bind(1, std::string(repo)).bind(2, scope);
    if (number) rec.bind(3, static_cast<std::int64_t>(*number)); else rec.bind_null(3);
    rec.bind(4, t).bind(5, error.empty() ? std::optional<std::string>() : std::optional<std::string>(error));
    rec.run();
  };
  for (const auto& [scope, unused] : scopes) {
    (void)unused;
    try {
      const auto body = http_get(m_config.public_http_base + scope + ".crl");
      if (!body) {
        record(kRepositoryHttp, scope, std::nullopt, "not served");
      } else {
        const ListInfo info = check_list(*body, m_anchors);
        record(kRepositoryHttp, scope, info.number, info.next_update <= now() ? "expired" : "");
      }
    } catch (const std::exception& e) {
      record(kRepositoryHttp, scope, std::nullopt, e.what());
    }
    if (m_ldap_repo) {
      try {
        const bool arl = ends_with(scope, "-arl");
        const auto v = m_ldap_repo->read(m_ldap_repo->scope_dn(scope), arl ? "authorityRevocationList;binary" : "certificateRevocationList;binary");
        if (!v) {
          record(kRepositoryLdap, scope, std::nullopt, "not served");
        } else {
          const ListInfo info = check_list(*v, m_anchors);
          record(kRepositoryLdap, scope, info.number, info.next_update <= now() ? "expired" : "");
        }
      } catch (const std::exception& e) {
        record(kRepositoryLdap, scope, std::nullopt, e.what());
      }
    }
  }
  static std::set<std::string> previous;
  std::set<std::string> current;
  for (const Alarm& a : compute_alarms(store, m_config, now())) {
    const std::string line = std::string(a.severity == Alarm::Severity::kCritical ? "CRITICAL " : "WARNING ") + a.name + " " + a.subject + ": " + a.message;
    current.insert(a.name + " " + a.subject);
    if (!previous.count(a.name + " " + a.subject)) {
      log("alarm " + line);
      store.event(t, "alarm", line);
    }
  }
  previous = current;
}

std::vector<Alarm> compute_alarms(Store& store, const Config& config, pki::Time now) {
  std::vector<Alarm> out;
  const std::int64_t t = unix_seconds(now);
  const auto add = [&](Alarm::Severity s, std::string name, std::string subject, std::string message) {
    out.push_back(Alarm{s, std::move(name), std::move(subject), std::move(message)});
  };
  if (config.token.empty()) {
    add(Alarm::Severity::kCritical, "no-token", "relay",
        "relay.conf names no token: requests cannot be batched, so intake refuses them; set token, token_pin_file and transport_key_label");
  }
  std::map<std::string, std::int64_t> newest;
  {
    auto s = store.db().prepare(
        "SELECT scope, number, this_update, next_update FROM lists l WHERE state = 'released' AND number = "
        "(SELECT max(number) FROM lists WHERE scope = l.scope AND state = 'released') ORDER BY scope");
    while (s.step()) {
      const std::string scope = s.text(0);
      const std::int64_t number = s.integer(1), this_update = s.integer(2), next_update = s.integer(3);
      newest[scope] = number;
      // A later list already waiting (scheduled) keeps revocation information available.
      auto later = store.db().prepare("SELECT min(this_update) FROM lists WHERE scope = ? AND state = 'scheduled' AND number > ?");
      later.bind(1, scope).bind(2, number);
      later.step();
      const bool covered = !later.is_null(0) && later.integer(0) < next_update;
      const std::int64_t left = next_update - t;
      if (left <= 0) {
        add(Alarm::Severity::kCritical, "list-expired", scope,
            "number " + std::to_string(number) + " expired " + format_duration(-left) + " ago: revocation information is unavailable (R32)");
      } else if (left < config.freshness_margin.count() && !covered) {
        add(Alarm::Severity::kWarning, "list-due", scope,
            "number " + std::to_string(number) + " expires in " + format_duration(left) + " and no newer list is waiting");
      }
      if (t - this_update > config.cadence.count() && !covered) {
        add(Alarm::Severity::kWarning, "cadence-missed", scope,
            "number " + std::to_string(number) + " is " + format_duration(t - this_update) + " old (cadence " +
                format_duration(config.cadence.count()) + "); " + format_duration(left) + " left");
      }
    }
  }
  {
    auto s = store.db().prepare("SELECT repository, count(*), min(created), max(last_error) FROM publications WHERE state = 'pending' GROUP BY repository");
    while (s.step()) {
      const std::int64_t waiting = t - s.integer(2);
      if (waiting >= 5) {
        add(Alarm::Severity::kWarning, "repository-behind", s.text(0),
            std::to_string(s.integer(1)) + " publications waiting for " + format_duration(waiting) +
                (s.is_null(3) ? std::string() : "; last error: " + s.text(3)));
      }
    }
  }
  {
    auto s = store.db().prepare("SELECT repository, count(*) FROM publications WHERE state = 'dead' GROUP BY repository");
    while (s.step()) {
      add(Alarm::Severity::kWarning, "dead-letters", s.text(0), std::to_string(s.integer(1)) + " publications failed for good; see `hanko-relay status`, fix the cause, then `hanko-relay retry`");
    }
  }
  bool observed_table = false;
  {
    auto s = store.db().prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'observed'");
    observed_table = s.step();
  }
  if (observed_table) {
    auto s = store.db().prepare("SELECT repository, scope, number, error FROM observed ORDER BY repository, scope");
    while (s.step()) {
      const std::string repo = s.text(0), scope = s.text(1);
      const auto it = newest.find(scope);
      if (it == newest.end()) continue;
      if (s.is_null(2) || s.integer(2) != it->second) {
        const bool unavailable = s.is_null(2);
        add(unavailable ? Alarm::Severity::kCritical : Alarm::Severity::kWarning, unavailable ? "repository-unavailable" : "repository-stale",
            repo + " " + scope,
            unavailable ? "fetching it as a client failed: " + (s.is_null(3) ? std::string("?") : s.text(3))
                        : "serves number " + std::to_string(s.integer(2)) + ", newest is " + std::to_string(it->second));
      }
    }
  }
  return out;
}

// ----- status, metrics, serve --------------------------------------------------------------------

Relay::Status Relay::status() {
  Store& store = *m_worker_store;
  Status st;
  st.now = unix_seconds(now());
  for (const char* state : {"queued", "in_batch", "issued", "revoked", "refused"}) st.requests.emplace_back(state, store.count_state(state));
  {
    auto s = store.db().prepare("SELECT id, sequence, created, items, state, file FROM batches ORDER BY sequence DESC LIMIT 1");
    if (s.step()) st.last_batch = Status::Batch{s.text(0), s.integer(1), s.integer(2), s.integer(3), s.text(4), s.text(5)};
  }
  {
    auto s = store.db().prepare("SELECT sequence, imported, summary FROM imports ORDER BY sequence DESC LIMIT 1");
    if (s.step()) st.last_import = Status::Import{s.integer(0), s.integer(1), s.text(2)};
  }
  {
    auto s = store.db().prepare(
        "SELECT scope, number, this_update, next_update FROM lists l WHERE state = 'released' AND number = "
        "(SELECT max(number) FROM lists WHERE scope = l.scope AND state = 'released') ORDER BY scope");
    while (s.step()) st.lists.push_back({s.text(0), s.integer(1), s.integer(2), s.integer(3)});
    auto sch = store.db().prepare("SELECT count(*), min(this_update) FROM lists WHERE state = 'scheduled'");
    sch.step();
    st.scheduled = sch.integer(0);
    if (st.scheduled > 0) st.next_release = sch.integer(1);
  }
  for (const char* repo : {kRepositoryHttp, kRepositoryLdap}) {
    if (std::string(repo) == kRepositoryLdap && m_config.ldap_uri.empty()) continue;
    Status::Repository r;
    r.name = repo;
    r.target = std::string(repo) == kRepositoryHttp ? m_config.doc_root.string() : m_config.ldap_uri;
    auto s = store.db().prepare("SELECT state, count(*) FROM publications WHERE repository = ? GROUP BY state ORDER BY state");
    s.bind(1, std::string(repo));
    while (s.step()) r.publications.emplace_back(s.text(0), s.integer(1));
    auto d = store.db().prepare("SELECT name, number, attempts, last_error FROM publications WHERE repository = ? AND state = 'dead' ORDER BY id DESC LIMIT 5");
    d.bind(1, std::string(repo));
    while (d.step()) r.dead_letters.push_back({d.text(0), d.integer(1), d.integer(2), d.is_null(3) ? std::string() : d.text(3)});
    st.repositories.push_back(std::move(r));
  }
  st.alarms = compute_alarms(store, m_config, now());
  for (const Alarm& a : st.alarms) st.exit_code = std::max(st.exit_code, static_cast<int>(a.severity));
  return st;
}

std::string Relay::status_text(int& exit_code) {
  const Status st = status();
  const std::int64_t t = st.now;
  std::ostringstream o;
  o << "requests:";
  for (const auto& [state, n] : st.requests) o << " " << state << "=" << n;
  o << "\n";
  if (const auto& b = st.last_batch) {
    o << "last batch: " << b->id << " sequence " << b->sequence << ", " << b->items << " items, " << b->state << ", cut "
      << format_duration(t - b->created) << " ago -> " << b->file << "\n";
  } else {
    o << "last batch: none\n";
  }
  if (const auto& i = st.last_import) {
    o << "last import: result bundle " << i->sequence << " (" << format_duration(t - i->imported) << " ago): " << i->summary << "\n";
  }
  o << "lists (newest released per scope):\n";
  for (const auto& l : st.lists) {
    o << "  " << l.scope << "  number " << l.number << "  thisUpdate " << pki::format_time(from_unix(l.this_update)) << "  left "
      << format_duration(l.next_update - t) << "\n";
  }
  if (st.scheduled > 0) o << "  scheduled: " << st.scheduled << " lists, next release " << pki::format_time(from_unix(st.next_release)) << "\n";
  o << "repositories:\n";
  for (const auto& r : st.repositories) {
    o << "  " << r.name << " (" << r.target << "):";
    for (const auto& [state, n] : r.publications) o << " " << state << "=" << n;
    o << "\n";
    for (const auto& d : r.dead_letters) o << "    dead letter: " << d.name << " " << d.number << " after " << d.attempts << " attempts: " << d.last_error << "\n";
  }
  o << "alarms: " << (st.alarms.empty() ? "none" : std::to_string(st.alarms.size())) << "\n";
  for (const Alarm& a : st.alarms) {
    o << "  " << (a.severity == Alarm::Severity::kCritical ? "CRITICAL " : "WARNING  ") << a.name << " " << a.subject << ": " << a.message << "\n";
  }
  exit_code = st.exit_code;
  return o.str();
}

std::string Relay::status_json(int& exit_code) {
  const Status st = status();
  const auto iso = [](std::int64_t t) { return pki::format_time_rfc3339(from_unix(t)); };
  nlohmann::ordered_json j;
  j["time"] = iso(st.now);
  j["requests"] = nlohmann::ordered_json::object();
  for (const auto& [state, n] : st.requests) j["requests"][state] = n;
  j["last_batch"] = nullptr;
  if (const auto& b = st.last_batch) {
    j["last_batch"] = {{"id", b->id}, {"sequence", b->sequence}, {"created", iso(b->created)}, {"items", b->items}, {"state", b->state}, {"file", b->file}};
  }
  j["last_import"] = nullptr;
  if (const auto& i = st.last_import) j["last_import"] = {{"sequence", i->sequence}, {"imported", iso(i->imported)}, {"summary", i->summary}};
  j["lists"] = nlohmann::ordered_json::array();
  for (const auto& l : st.lists) {
    j["lists"].push_back({{"scope", l.scope}, {"number", l.number}, {"this_update", iso(l.this_update)}, {"next_update", iso(l.next_update)},
                          {"seconds_left", l.next_update - st.now}});
  }
  j["scheduled"] = {{"count", st.scheduled}, {"next_release", st.scheduled > 0 ? nlohmann::ordered_json(iso(st.next_release)) : nullptr}};
  j["repositories"] = nlohmann::ordered_json::array();
  for (const auto& r : st.repositories) {
    nlohmann::ordered_json rj{{"name", r.name}, {"target", r.target}, {"publications", nlohmann::ordered_json::object()},
                              {"dead_letters", nlohmann::ordered_json::array()}};
    for (const auto& [state, n] : r.publications) rj["publications"][state] = n;
    for (const auto& d : r.dead_letters) rj["dead_letters"].push_back({{"name", d.name}, {"number", d.number}, {"attempts", d.attempts}, {"last_error", d.last_error}});
    j["repositories"].push_back(std::move(rj));
  }
  j["alarms"] = nlohmann::ordered_json::array();
  for (const Alarm& a : st.alarms) {
    j["alarms"].push_back({{"severity", a.severity == Alarm::Severity::kCritical ? "critical" : "warning"}, {"name", a.name},
                           {"subject", a.subject}, {"message", a.message}});
  }
  exit_code = st.exit_code;
  return j.dump(2) + "\n";
}

std::string Relay::metrics_text() {
  std::ostringstream o;
  const std::int64_t t = unix_seconds(now());
  std::lock_guard lock(m_read_mutex);
  Store& store = *m_read_store;
  o << "# HELP hanko_relay_requests Requests in the durable queue by state.\n# TYPE hanko_relay_requests gauge\n";
  {
    auto s = store.db().prepare("SELECT state, count(*) FROM requests GROUP BY state");
    while (s.step()) o << "hanko_relay_requests{state=\"" << s.text(0) << "\"} " << s.integer(1) << "\n";
  }
  o << "# HELP hanko_relay_intake_total Intake answers since start.\n# TYPE hanko_relay_intake_total counter\n"
    << "hanko_relay_intake_total{result=\"accepted\"} " << m_intake_accepted << "\n"
    << "hanko_relay_intake_total{result=\"duplicate\"} " << m_intake_duplicate << "\n"
    << "hanko_relay_intake_total{result=\"refused\"} " << m_intake_refused << "\n"
    << "hanko_relay_intake_total{result=\"limited\"} " << m_intake_limited << "\n";
  o << "# HELP hanko_relay_list_seconds_left Seconds until the newest released list of a scope expires.\n# TYPE hanko_relay_list_seconds_left gauge\n";
  {
    auto s = store.db().prepare(
        "SELECT scope, max(number), next_update FROM lists WHERE state = 'released' GROUP BY scope ORDER BY scope");
    while (s.step()) o << "hanko_relay_list_seconds_left{scope=\"" << s.text(0) << "\"} " << (s.integer(2) - t) << "\n";
  }
  o << "# HELP hanko_relay_list_number CRL number each repository serves (as published).\n# TYPE hanko_relay_list_number gauge\n";
  {
    auto s = store.db().prepare("SELECT repository, scope, number FROM live ORDER BY repository, scope");
    while (s.step()) o << "hanko_relay_list_number{repository=\"" << s.text(0) << "\",scope=\"" << s.text(1) << "\"} " << s.integer(2) << "\n";
  }
  o << "# HELP hanko_relay_publications Publications by repository and state.\n# TYPE hanko_relay_publications gauge\n";
  {
    auto s = store.db().prepare("SELECT repository, state, count(*) FROM publications GROUP BY repository, state");
    while (s.step()) o << "hanko_relay_publications{repository=\"" << s.text(0) << "\",state=\"" << s.text(1) << "\"} " << s.integer(2) << "\n";
  }
  int warnings = 0, critical = 0;
  o << "# HELP hanko_relay_alarm An active alarm (1).\n# TYPE hanko_relay_alarm gauge\n";
  for (const Alarm& a : compute_alarms(store, m_config, now())) {
    (a.severity == Alarm::Severity::kCritical ? critical : warnings)++;
    o << "hanko_relay_alarm{name=\"" << a.name << "\",subject=\"" << a.subject << "\",severity=\""
      << (a.severity == Alarm::Severity::kCritical ? "critical" : "warning") << "\"} 1\n";
  }
  o << "# HELP hanko_relay_alarms Active alarms by severity.\n# TYPE hanko_relay_alarms gauge\n"
    << "hanko_relay_alarms{severity=\"warning\"} " << warnings << "\nhanko_relay_alarms{severity=\"critical\"} " << critical << "\n";
  o << "# HELP hanko_relay_ocsp_responses_total OCSP single responses since start.\n# TYPE hanko_relay_ocsp_responses_total counter\n"
    << "hanko_relay_ocsp_responses_total{status=\"good\"} " << m_ocsp_good << "\n"
    << "hanko_relay_ocsp_responses_total{status=\"revoked\"} " << m_ocsp_revoked << "\n"
    << "hanko_relay_ocsp_responses_total{status=\"unknown\"} " << m_ocsp_unknown << "\n"
    << "hanko_relay_ocsp_errors_total " << m_ocsp_errors << "\n";
  o << "# TYPE hanko_relay_import_rejected_total counter\nhanko_relay_import_rejected_total " << m_import_rejected << "\n";
  if (m_server) {
    o << "# TYPE hanko_relay_http_open_connections gauge\nhanko_relay_http_open_connections " << m_server->open_connections() << "\n"
      << "# TYPE hanko_relay_http_refused_connections_total counter\nhanko_relay_http_refused_connections_total " << m_server->refused_connections() << "\n";
  }
  return o.str();
}

void Relay::reload() {
  refresh_registry();
  log("SIGHUP: RA keys reloaded (" + std::to_string(m_registry.size()) + ")");
  if (m_config.file.empty()) return;
  try {
    if (Config::load(m_config.file).text != m_config.text) {
      log("SIGHUP: " + m_config.file.string() + " changed since start; restart 'hanko-relay serve' to apply it");
    }
  } catch (const std::exception& e) {
    log("SIGHUP: " + std::string(e.what()) + "; the running configuration stays");
  }
}

int Relay::retry_dead(const std::string& repository) {
  Store& store = *m_worker_store;
  const std::int64_t t = unix_seconds(now());
  auto u = store.db().prepare(repository.empty()
                                  ? "UPDATE publications SET state = 'pending', attempts = 0, next_attempt = ?1 WHERE state = 'dead'"
                                  : "UPDATE publications SET state = 'pending', attempts = 0, next_attempt = ?1 WHERE state = 'dead' AND repository = ?2");
  u.bind(1, t);
  if (!repository.empty()) u.bind(2, repository);
  u.run();
  const int n = static_cast<int>(store.db().changes());
  if (n > 0) store.event(t, "retry", std::to_string(n) + " dead letters re-queued" + (repository.empty() ? "" : " for " + repository));
  return n;
}

void Relay::worker_loop(const std::atomic<bool>& stop) {
  auto last_registry = std::chrono::steady_clock::now();
  while (!stop) {
    try {
      // An RA key added or replaced by 'ra-add' counts within a second, without a restart.
      if (m_reload_flag && m_reload_flag->exchange(false)) {
        reload();
        last_registry = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_registry >= std::chrono::seconds(1)) {
        refresh_registry();
        last_registry = std::chrono::steady_clock::now();
      }
      cut_batch(false);
      import_inbox();
      release_due();
      publish_pending();
      if (std::chrono::steady_clock::now() - m_last_watch >= m_config.watch_interval) {
        m_last_watch = std::chrono::steady_clock::now();
        watch();
      }
    } catch (const std::exception& e) {
      log("worker: " + std::string(e.what()));
    }
    std::unique_lock lock(m_wake_mutex);
    m_wake.wait_for(lock, std::chrono::milliseconds(200), [&] { return m_wake_flag || stop.load(); });
    m_wake_flag = false;
  }
}

void Relay::serve(const std::atomic<bool>& stop, const std::function<void(unsigned short)>& on_listening) {
  HttpLimits limits;
  limits.max_body = m_config.max_body;
  limits.max_connections = m_config.max_connections;
  limits.threads = m_config.http_threads;
  HttpServer server(m_config.listen_host, m_config.listen_port, limits,
                    [this](HttpRequest&& r, Respond respond) { handle(std::move(r), std::move(respond)); });
  m_server = &server;
  std::thread intake([this] { intake_loop(); });
  std::thread worker([this, &stop] { worker_loop(stop); });
  server.start();
  log("serving on http://" + m_config.listen_host + ":" + std::to_string(server.port()) + "/");
  if (on_listening) on_listening(server.port());
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.stop();
  {
    std::lock_guard lock(m_intake_mutex);
    m_intake_stop = true;
  }
  m_intake_cv.notify_all();
  intake.join();
  {
    std::lock_guard lock(m_wake_mutex);
    m_wake_flag = true;
  }
  m_wake.notify_all();
  worker.join();
  m_server = nullptr;
}

}  // namespace hanko::relay
