#include "hanko/offline/audit.h"

#include <sqlite3.h>

#include <map>

#include "hanko/pki/algorithm.h"
#include "hanko/pki/der.h"

namespace hanko::offline {

using namespace hanko::pki;

namespace {

std::int64_t seconds(Time t) { return t.time_since_epoch().count(); }
Time from_seconds(std::int64_t s) { return Time(std::chrono::seconds(s)); }

AuditEntry read_entry(const sql::Statement& s) {
  AuditEntry e;
  e.sequence = s.integer(0);
  e.time = from_seconds(s.integer(1));
  e.event = {s.text(2), s.text(3), s.text(4), s.text(5), s.text(7)};
  e.system = s.text(6);
  e.previous_hash = s.blob(8);
  e.hash = s.blob(9);
  return e;
}

constexpr const char* kColumns = "sequence, time, type, result, actor, role, system, details, previous_hash, hash";

// CheckpointContent ::= SEQUENCE { sequence INTEGER, head OCTET STRING (SIZE (32)), time GeneralizedTime }
Bytes checkpoint_content(std::int64_t sequence, BytesView head, Time time) {
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.integer(sequence);
    s.octet_string(head);
    write_generalized_time(s, time);
  });
  return std::move(w).take();
}

}  // namespace

Bytes AuditLog::entry_hash(BytesView previous_hash, std::int64_t sequence, Time time, const AuditEvent& event,
                           const std::string& system) {
  // A DER encoding of the fields: unambiguous, unlike a concatenation of strings.
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.octet_string(previous_hash);
    s.integer(sequence);
    s.integer(seconds(time));
    for (const std::string* field : {&event.type, &event.result, &event.actor, &event.role, &system, &event.details}) {
      s.octet_string(view(*field));
    }
  });
  return digest(HashAlgorithm::kSha256, w.bytes());
}

AuditEntry AuditLog::append(const AuditEvent& event, Time now) {
  const bool own_transaction = sqlite3_get_autocommit(m_db.handle()) != 0;
  std::optional<sql::Transaction> txn;
  if (own_transaction) txn.emplace(m_db);
  AuditEntry e;
  const auto last = head();
  e.sequence = last ? last->sequence + 1 : 1;
  e.previous_hash = last ? last->hash : Bytes(32, 0);
  e.time = now;
  e.event = event;
  e.system = m_system;
  e.hash = entry_hash(e.previous_hash, e.sequence, now, event, m_system);
  m_db.prepare("INSERT INTO audit VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
      .bind(1, e.sequence)
      .bind(2, seconds(now))
      .bind(3, event.type)
      .bind(4, event.result)
      .bind(5, event.actor)
      .bind(6, event.role)
      .bind(7, m_system)
      .bind(8, event.details)
      .bind(9, BytesView(e.previous_hash))
      .bind(10, BytesView(e.hash))
      .run();
  if (txn) txn->commit();
  return e;
}

std::optional<AuditEntry> AuditLog::head() {
  sql::Statement s = m_db.prepare((std::string("SELECT ") + kColumns + " FROM audit ORDER BY sequence DESC LIMIT 1").c_str());
  if (!s.step()) return std::nullopt;
  return read_entry(s);
}

std::vector<AuditEntry> AuditLog::entries(std::int64_t from, std::int64_t to) {
  sql::Statement s = m_db.prepare((std::string("SELECT ") + kColumns + " FROM audit WHERE sequence BETWEEN ?1 AND ?2 ORDER BY sequence").c_str());
  s.bind(1, from).bind(2, to);
  std::vector<AuditEntry> out;
  while (s.step()) out.push_back(read_entry(s));
  return out;
}

AuditCheckpoint AuditLog::checkpoint(Signer& audit_key, Time now) {
  const auto last = head();
  if (!last) throw std::runtime_error("the audit log is empty; nothing to checkpoint");
  AuditCheckpoint c;
  c.sequence = last->sequence;
  c.head = last->hash;
  c.time = now;
  const Bytes content = checkpoint_content(c.sequence, c.head, now);
  const Bytes signature = audit_key.sign(content);
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.raw(content);
    write_algorithm_identifier(s, audit_key.algorithm());
    s.bit_string(signature);
  });
  c.der = std::move(w).take();
  parse_checkpoint(c.der);  // what we store must read back
  if (!verify_signature(audit_key.public_key(), audit_key.algorithm(), content, signature)) {
    throw std::runtime_error("the audit checkpoint does not verify with the audit key");
  }
  m_db.prepare("INSERT OR REPLACE INTO audit_checkpoints VALUES (?1, ?2)").bind(1, c.sequence).bind(2, BytesView(c.der)).run();
  return c;
}

bool AuditLog::signed_by(const AuditCheckpoint& c, const PublicKey& audit_key) {
  der::Reader top(c.der);
  der::Reader s = top.enter_sequence("AuditCheckpoint");
  const der::Element content = s.read(der::kSequence, "content");
  const SignatureAlgorithm algorithm = read_algorithm_identifier(s, "signatureAlgorithm");
  const BytesView signature = s.read_bit_string_bytes("signature");
  return verify_signature(audit_key, algorithm, content.whole, signature);
}

AuditCheckpoint AuditLog::parse_checkpoint(BytesView der) {
  der::Reader top(der);
  der::Reader s = top.enter_sequence("AuditCheckpoint");
  top.expect_end("AuditCheckpoint");
  der::Reader content = s.enter_sequence("content");
  AuditCheckpoint c;
  c.sequence = content.read_small_integer("sequence");
  const BytesView head = content.read_octet_string("head");
  if (head.size() != 32) throw ParseError(ErrorId::kBadString, "head: must be 32 bytes");
  c.head.assign(head.begin(), head.end());
  c.time = read_generalized_time(content, "time");
  content.expect_end("content");
  read_algorithm_identifier(s, "signatureAlgorithm");
  s.read_bit_string_bytes("signature");
  s.expect_end("AuditCheckpoint");
  c.der.assign(der.begin(), der.end());
  return c;
}

std::vector<AuditCheckpoint> AuditLog::checkpoints() {
  sql::Statement s = m_db.prepare("SELECT der FROM audit_checkpoints ORDER BY sequence");
  std::vector<AuditCheckpoint> out;
  while (s.step()) out.push_back(parse_checkpoint(s.blob_view(0)));
  return out;
}

AuditLog::Verification AuditLog::verify(const PublicKey& audit_key, const std::vector<AuditCheckpoint>& exported) {
  Verification v;
  const auto fail = [&](const std::string& why) {
    v.problem = why;
    return v;
  };
  // Checkpoint signatures first: they say what the chain must contain.
  std::vector<AuditCheckpoint> all;
  try {
    all = checkpoints();
  } catch (const ParseError& e) {
    return fail(std::string("a stored checkpoint is damaged: ") + e.what());
  }
  all.insert(all.end(), exported.begin(), exported.end());
  for (const AuditCheckpoint& c : all) {
    if (!signed_by(c, audit_key)) return fail("checkpoint at entry " + std::to_string(c.sequence) + " is not signed by the audit key");
  }
  std::map<std::int64_t, Bytes> expected;
  for (const AuditCheckpoint& c : all) expected[c.sequence] = c.head;
  Bytes previous(32, 0);
  std::int64_t sequence = 0;
  sql::Statement s = m_db.prepare((std::string("SELECT ") + kColumns + " FROM audit ORDER BY sequence").c_str());
  while (s.step()) {
    const AuditEntry e = read_entry(s);
    ++sequence;
    if (e.sequence != sequence) return fail("entry " + std::to_string(sequence) + " is missing (the next one is " + std::to_string(e.sequence) + ")");
    if (e.previous_hash != previous) return fail("entry " + std::to_string(sequence) + " does not follow its predecessor (deleted, inserted or reordered entries)");
    if (entry_hash(previous, e.sequence, e.time, e.event, e.system) != e.hash) {
      return fail("entry " + std::to_string(sequence) + " was changed after it was written");
    }
    if (const auto it = expected.find(sequence); it != expected.end() && it->second != e.hash) {
      return fail("entry " + std::to_string(sequence) + " differs from the signed checkpoint");
    }
    previous = e.hash;
  }
  v.entries = sequence;
  v.checkpoints = static_cast<std::int64_t>(all.size());
  for (const auto& [at, head] : expected) {
    if (at > sequence) {
      return fail("the log ends at entry " + std::to_string(sequence) + " but a signed checkpoint covers entry " +
                  std::to_string(at) + ": entries were cut off the end");
    }
  }
  v.ok = true;
  return v;
}

}  // namespace hanko::offline
