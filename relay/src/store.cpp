#include "store.h"

namespace hanko::relay {

std::int64_t unix_seconds(pki::Time t) { return t.time_since_epoch().count(); }
pki::Time from_unix(std::int64_t s) { return pki::Time(std::chrono::seconds(s)); }

namespace {
constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS ra_keys(name TEXT PRIMARY KEY, spki BLOB NOT NULL, added INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT UNIQUE NOT NULL,
  ra_operator TEXT NOT NULL,
  kind TEXT NOT NULL CHECK(kind IN ('issue','revoke')),
  der BLOB NOT NULL,
  sha256 BLOB NOT NULL,
  received INTEGER NOT NULL,
  state TEXT NOT NULL CHECK(state IN ('queued','in_batch','issued','revoked','refused')),
  batch_id TEXT, serial TEXT, certificate BLOB, reason TEXT,
  updated INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS requests_state ON requests(state, seq);
CREATE TABLE IF NOT EXISTS batches(
  id TEXT PRIMARY KEY, sequence INTEGER UNIQUE NOT NULL, created INTEGER NOT NULL, items INTEGER NOT NULL,
  batch_sha256 BLOB NOT NULL, bundle BLOB NOT NULL, file TEXT NOT NULL,
  state TEXT NOT NULL CHECK(state IN ('signed','exported','answered')), answered INTEGER);
CREATE TABLE IF NOT EXISTS imports(
  bundle_id TEXT PRIMARY KEY, sequence INTEGER NOT NULL, sha256 TEXT NOT NULL, imported INTEGER NOT NULL,
  summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lists(
  scope TEXT NOT NULL, number INTEGER NOT NULL, generation INTEGER NOT NULL,
  this_update INTEGER NOT NULL, next_update INTEGER NOT NULL, der BLOB NOT NULL,
  state TEXT NOT NULL CHECK(state IN ('scheduled','released','superseded')), received INTEGER NOT NULL,
  PRIMARY KEY(scope, number));
CREATE TABLE IF NOT EXISTS objects(
  name TEXT PRIMARY KEY, media_type TEXT NOT NULL, kind TEXT NOT NULL, der BLOB NOT NULL,
  modified INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS certificates(
  generation INTEGER NOT NULL, serial TEXT NOT NULL, not_after INTEGER NOT NULL,
  PRIMARY KEY(generation, serial));
CREATE TABLE IF NOT EXISTS revoked(
  generation INTEGER NOT NULL, serial TEXT NOT NULL, revoked_at INTEGER NOT NULL, reason INTEGER,
  PRIMARY KEY(generation, serial));
CREATE TABLE IF NOT EXISTS publications(
  id INTEGER PRIMARY KEY AUTOINCREMENT, repository TEXT NOT NULL,
  kind TEXT NOT NULL CHECK(kind IN ('list','object')), name TEXT NOT NULL, number INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL CHECK(state IN ('pending','done','dead','superseded')),
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL, last_error TEXT,
  created INTEGER NOT NULL, done INTEGER);
CREATE INDEX IF NOT EXISTS publications_pending ON publications(state, repository, id);
CREATE TABLE IF NOT EXISTS live(
  repository TEXT NOT NULL, scope TEXT NOT NULL, number INTEGER NOT NULL, this_update INTEGER NOT NULL,
  next_update INTEGER NOT NULL, published INTEGER NOT NULL, PRIMARY KEY(repository, scope));
CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL,
  message TEXT NOT NULL);
)SQL";
}  // namespace

Store::Store(const std::filesystem::path& db_path) : m_db(db_path.string(), true) {
  m_db.exec(kSchema);
}

std::vector<InsertOutcome> Store::insert_requests(const std::vector<const CheckedItem*>& items, std::int64_t now) {
  std::vector<InsertOutcome> out;
  out.reserve(items.size());
  sql::Transaction txn(m_db);
  auto find = m_db.prepare("SELECT sha256 FROM requests WHERE id = ?");
  auto insert = m_db.prepare(
      "INSERT INTO requests(id, ra_operator, kind, der, sha256, received, state, updated) VALUES (?,?,?,?,?,?,'queued',?)");
  for (const CheckedItem* c : items) {
    find.reset();
    find.bind(1, c->item.item.item_id);
    if (find.step()) {
      const BytesView have = find.blob_view(0);
      out.push_back(std::equal(have.begin(), have.end(), c->sha256.begin(), c->sha256.end()) ? InsertOutcome::kDuplicate
                                                                                             : InsertOutcome::kConflict);
      continue;
    }
    insert.reset();
    insert.bind(1, c->item.item.item_id)
        .bind(2, c->item.item.ra_operator)
        .bind(3, c->kind)
        .bind(4, BytesView(c->der))
        .bind(5, BytesView(c->sha256.data(), c->sha256.size()))
        .bind(6, now)
        .bind(7, now);
    insert.run();
    out.push_back(InsertOutcome::kAccepted);
  }
  txn.commit();
  return out;
}

std::optional<RequestRow> Store::request(const std::string& id) {
  auto s = m_db.prepare(
      "SELECT id, ra_operator, kind, state, batch_id, serial, reason, certificate, received, updated FROM requests WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  RequestRow r;
  r.id = s.text(0);
  r.ra_operator = s.text(1);
  r.kind = s.text(2);
  r.state = s.text(3);
  if (!s.is_null(4)) r.batch_id = s.text(4);
  if (!s.is_null(5)) r.serial = s.text(5);
  if (!s.is_null(6)) r.reason = s.text(6);
  if (!s.is_null(7)) r.certificate = s.blob(7);
  r.received = s.integer(8);
  r.updated = s.integer(9);
  return r;
}

std::int64_t Store::count_state(const std::string& state) {
  auto s = m_db.prepare("SELECT count(*) FROM requests WHERE state = ?");
  s.bind(1, state);
  s.step();
  return s.integer(0);
}

void Store::add_ra_key(const std::string& name, BytesView spki, std::int64_t now) {
  auto s = m_db.prepare("INSERT INTO ra_keys(name, spki, added) VALUES (?,?,?) ON CONFLICT(name) DO UPDATE SET spki = excluded.spki");
  s.bind(1, name).bind(2, spki).bind(3, now);
  s.run();
}

RaRegistry Store::ra_keys() {
  RaRegistry out;
  auto s = m_db.prepare("SELECT name, spki FROM ra_keys");
  while (s.step()) out.emplace(s.text(0), pki::parse_public_key(s.blob_view(1)));
  return out;
}

void Store::event(std::int64_t now, const std::string& kind, const std::string& message) {
  auto s = m_db.prepare("INSERT INTO events(at, kind, message) VALUES (?,?,?)");
  s.bind(1, now).bind(2, kind).bind(3, message);
  s.run();
}

}  // namespace hanko::relay
