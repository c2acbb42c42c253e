#include "hanko/offline/archive.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "hanko/common/files.h"
#include "hanko/offline/backup.h"
#include "hanko/offline/people.h"
#include "hanko/pki/certificate.h"
#include "hanko/pki/crl.h"
#include "hanko/pki/der.h"

namespace hanko::offline {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kManifest = "MANIFEST";
constexpr std::size_t kMaxManifest = 16u << 20;

std::string clean(std::string v) {
  for (char& c : v) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return v;
}

std::string time_text(std::optional<std::int64_t> seconds) {
  return seconds ? pki::format_time(pki::Time(std::chrono::seconds(*seconds))) : "";
}

// Appends DER objects one after another: any DER reader walks such a file object by object.
class DerFile {
 public:
  explicit DerFile(const fs::path& path) : m_out(path, std::ios::binary | std::ios::trunc) {
    if (!m_out) throw ArchiveError("cannot write '" + path.string() + "'");
  }
  std::uint64_t add(BytesView der) {
    const std::uint64_t offset = m_offset;
    m_out.write(reinterpret_cast<const char*>(der.data()), static_cast<std::streamsize>(der.size()));
    m_offset += der.size();
    return offset;
  }
  void close() {
    m_out.close();
    if (!m_out) throw ArchiveError("writing failed (disk full?)");
  }

 private:
  std::ofstream m_out;
  std::uint64_t m_offset = 0;
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw ArchiveError("cannot write '" + path.string() + "' (disk full?)");
}

// The DER objects of a concatenated file, each checked to be one whole, minimal DER TLV.
std::vector<BytesView> split_der(BytesView data, const std::string& what) {
  std::vector<BytesView> out;
  std::size_t at = 0;
  while (at < data.size()) {
    const BytesView rest = data.subspan(at);
    // Tag and length, by hand (definite lengths only, as DER demands).
    if (rest.size() < 2 || rest[0] != 0x30) throw ArchiveError(what + ": object at offset " + std::to_string(at) + " is not a SEQUENCE");
    std::size_t length = rest[1], header = 2;
    if (length & 0x80) {
      const std::size_t n = length & 0x7f;
      if (n == 0 || n > 4 || rest.size() < 2 + n) throw ArchiveError(what + ": bad length at offset " + std::to_string(at));
      length = 0;
      for (std::size_t i = 0; i < n; ++i) length = (length << 8) | rest[2 + i];
      header += n;
    }
    if (rest.size() < header + length) throw ArchiveError(what + ": object at offset " + std::to_string(at) + " is cut short");
    out.push_back(rest.subspan(0, header + length));
    at += header + length;
  }
  return out;
}

struct ParsedManifest {
  std::string signed_text;
  std::string identity, subject, created;
  std::map<std::string, std::pair<std::string, std::uint64_t>> files;  // name -> sha256, size
  std::string algorithm;
  Bytes spki, signature;
};

ParsedManifest parse_manifest(const std::string& text) {
  ParsedManifest m;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  std::size_t consumed = 0;
  bool signature_seen = false;
  while (std::getline(in, line)) {
    ++number;
    const auto fail = [&](const std::string& why) { return ArchiveError("MANIFEST line " + std::to_string(number) + ": " + why); };
    if (signature_seen) throw fail("text after the signature");
    if (number == 1) {
      if (line != "hanko archive volume 1") throw fail("not a hanko archive volume (or a newer version)");
    } else if (line.rfind("ca ", 0) == 0) {
      m.identity = line.substr(3);
    } else if (line.rfind("subject ", 0) == 0) {
      m.subject = line.substr(8);
    } else if (line.rfind("created ", 0) == 0) {
      m.created = line.substr(8);
    } else if (line.rfind("audit ", 0) == 0) {
    } else if (line.rfind("file ", 0) == 0) {
      std::istringstream f(line.substr(5));
      std::string digest, name;
      std::uint64_t size = 0;
      if (!(f >> digest >> size) || !std::getline(f >> std::ws, name) || digest.size() != 64 || name.empty() ||
          name.find("..") != std::string::npos || name.front() == '/') {
        throw fail("expected 'file SHA256 SIZE NAME'");
      }
      if (!m.files.emplace(name, std::make_pair(digest, size)).second) throw fail("'" + name + "' listed twice");
    } else if (line.rfind("signature ", 0) == 0) {
      std::istringstream f(line.substr(10));
      std::string spki, signature;
      if (!(f >> m.algorithm >> spki >> signature)) throw fail("expected 'signature ALGORITHM SPKI SIGNATURE'");
      try {
        m.spki = from_hex(spki);
        m.signature = from_hex(signature);
      } catch (const std::exception&) {
        throw fail("bad hex in the signature");
      }
      m.signed_text = text.substr(0, consumed);
      signature_seen = true;
    } else {
      throw fail("unknown line");
    }
    consumed += line.size() + 1;
  }
  if (!signature_seen) throw ArchiveError("MANIFEST is not signed (cut short?)");
  return m;
}

}  // namespace

ArchiveSummary write_archive(CaStore& store, const fs::path& volume, pki::Signer& audit_key, pki::Time now) {
  if (fs::exists(volume)) throw ArchiveError("'" + volume.string() + "' already exists; archive volumes are never overwritten");
  const fs::path partial = volume.parent_path() / ("." + volume.filename().string() + ".partial");
  fs::remove_all(partial);
  fs::create_directories(partial);
  ArchiveSummary summary;
  sql::Database& db = store.db();

  for (const char* f : {"ca.conf", "profiles.conf", "audit.spki"}) {
    if (fs::exists(store.dir() / f)) fs::copy_file(store.dir() / f, partial / f);
  }
  {  // key generations
    DerFile der(partial / "generations.der");
    std::string tsv = "# number\tkey label\talgorithm\tstatus\tcreated\tsubject\tSHA-256\n";
    for (const KeyGeneration& g : store.generations()) {
      der.add(g.certificate);
      const auto cert = pki::parse_certificate(g.certificate);
      tsv += std::to_string(g.number) + "\t" + clean(g.key_label) + "\t" + std::string(pki::signature_algorithm_name(g.algorithm)) + "\t" +
             std::string(generation_status_name(g.status)) + "\t" + pki::format_time(g.created) + "\t" + clean(cert ? cert->subject.to_string() : "?") + "\t" +
             to_hex(pki::digest(pki::HashAlgorithm::kSha256, g.certificate)) + "\n";
    }
    der.close();
    write_text(partial / "generations.tsv", tsv);
  }
  {  // every certificate, with who asked for it, the decision and its revocation
    DerFile der(partial / "certificates.der");
    std::ofstream tsv(partial / "certificates.tsv", std::ios::binary | std::ios::trunc);
    tsv << "# serial\tsigning generation\tkind\tprofile\tsubject\tnotBefore\tnotAfter\tpartition\trequested by\tbatch\tdecision\t"
           "revoked at\treason\tinvalidity date\toffset\tSHA-256\n";
    sql::Statement s = db.prepare(
        "SELECT serial, generation, kind, profile, subject, not_before, not_after, partition, requested_by, batch_id, decision, "
        "revoked_at, reason, invalidity, der FROM certificates ORDER BY not_before, serial");
    while (s.step()) {
      const BytesView cert = s.blob_view(14);
      const std::uint64_t offset = der.add(cert);
      std::string reason;
      if (!s.is_null(12)) reason = std::string(pki::reason_name(static_cast<pki::ReasonCode>(s.integer(12))));
      tsv << to_hex(s.blob_view(0)) << '\t' << s.integer(1) << '\t' << clean(s.text(2)) << '\t' << clean(s.text(3)) << '\t'
          << clean(s.text(4)) << '\t' << time_text(s.integer(5)) << '\t' << time_text(s.integer(6)) << '\t' << clean(s.text(7)) << '\t'
          << clean(s.text(8)) << '\t' << clean(s.text(9)) << '\t' << clean(s.text(10)) << '\t' << time_text(s.optional_integer(11)) << '\t'
          << reason << '\t' << time_text(s.optional_integer(13)) << '\t' << offset << '\t'
          << to_hex(pki::digest(pki::HashAlgorithm::kSha256, cert)) << '\n';
      ++summary.certificates;
    }
    der.close();
    tsv.close();
    if (!tsv) throw ArchiveError("cannot write certificates.tsv (disk full?)");
  }
  {  // every list ever signed
    DerFile der(partial / "lists.der");
    std::string tsv = "# scope\tCRL number\tthisUpdate\tnextUpdate\toffset\tSHA-256\n";
    sql::Statement s = db.prepare("SELECT scope, number, this_update, next_update, der FROM crls ORDER BY scope, number");
    while (s.step()) {
      const std::uint64_t offset = der.add(s.blob_view(4));
      tsv += clean(s.text(0)) + "\t" + std::to_string(s.integer(1)) + "\t" + time_text(s.integer(2)) + "\t" + time_text(s.integer(3)) + "\t" +
             std::to_string(offset) + "\t" + to_hex(pki::digest(pki::HashAlgorithm::kSha256, s.blob_view(4))) + "\n";
      ++summary.lists;
    }
    der.close();
    write_text(partial / "lists.tsv", tsv);
  }
  {  // batches, RA keys, cross-certificates received, people
    std::string tsv = "# batch id\tprocessed\titems\tissued\trefused\n";
    sql::Statement b = db.prepare("SELECT batch_id, processed, items, issued, refused FROM batches ORDER BY processed, batch_id");
    while (b.step()) {
      tsv += clean(b.text(0)) + "\t" + time_text(b.integer(1)) + "\t" + std::to_string(b.integer(2)) + "\t" + std::to_string(b.integer(3)) +
             "\t" + std::to_string(b.integer(4)) + "\n";
    }
    write_text(partial / "batches.tsv", tsv);
    tsv = "# RA operator\tactive\tregistered\tSubjectPublicKeyInfo (hex)\n";
    sql::Statement r = db.prepare("SELECT name, active, registered, spki FROM ra_keys ORDER BY registered, name");
    while (r.step()) {
      tsv += clean(r.text(0)) + "\t" + (r.integer(1) ? "yes" : "no") + "\t" + time_text(r.integer(2)) + "\t" + to_hex(r.blob_view(3)) + "\n";
    }
    write_text(partial / "ra-keys.tsv", tsv);
    DerFile cross(partial / "cross-received.der");
    sql::Statement c = db.prepare("SELECT der FROM cross_received ORDER BY imported");
    while (c.step()) cross.add(c.blob_view(0));
    cross.close();
    tsv = "# person\troles\tenrolled\tcredential\n";
    PeopleRegistry registry(db);
    for (const Person& p : registry.list()) {
      tsv += clean(p.name) + "\t" + roles_text(p.roles) + "\t" + pki::format_time(p.enrolled) + "\t" +
             (p.has_passphrase ? "passphrase (verifier kept on the signer only)" : "sealed share") + "\n";
    }
    write_text(partial / "people.tsv", tsv);
  }
  {  // the audit log, every field of the chain, and its signed checkpoints
    std::ofstream out(partial / "audit.jsonl", std::ios::binary | std::ios::trunc);
    for (const AuditEntry& e : store.audit().entries()) {
      out << json{{"sequence", e.sequence}, {"time", e.time.time_since_epoch().count()}, {"type", e.event.type},
                  {"result", e.event.result}, {"actor", e.event.actor}, {"role", e.event.role}, {"system", e.system},
                  {"details", e.event.details}, {"previous_hash", to_hex(e.previous_hash)}, {"hash", to_hex(e.hash)}}
                 .dump()
          << '\n';
      ++summary.audit_entries;
    }
    out.close();
    if (!out) throw ArchiveError("cannot write audit.jsonl (disk full?)");
    DerFile checkpoints(partial / "audit-checkpoints.der");
    for (const AuditCheckpoint& c : store.audit().checkpoints()) checkpoints.add(c.der);
    checkpoints.close();
  }

  const auto head = store.audit().head();
  const auto first = pki::parse_certificate(store.generation(1).certificate);
  std::string manifest = "hanko archive volume 1\nca " + store.identity() + "\nsubject " + clean(first ? first->subject.to_string() : "?") +
                         "\ncreated " + pki::format_time(now) + "\naudit " + std::to_string(head ? head->sequence : 0) + " " +
                         (head ? to_hex(head->hash) : std::string(64, '0')) + "\n";
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(partial)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const backup::FileRecord r = backup::describe_file(partial, name);
    manifest += "file " + to_hex(r.sha256) + " " + std::to_string(r.size) + " " + name + "\n";
    summary.bytes += r.size;
    ++summary.files;
  }
  const Bytes signature = audit_key.sign(BytesView(reinterpret_cast<const std::uint8_t*>(manifest.data()), manifest.size()));
  manifest += "signature " + std::string(pki::signature_algorithm_name(audit_key.algorithm())) + " " + to_hex(audit_key.public_key().spki) +
              " " + to_hex(signature) + "\n";
  write_text(partial / kManifest, manifest);
  backup::publish_folder(partial, volume);
  summary.identity = store.identity();
  summary.subject = first ? first->subject.to_string() : "?";
  summary.created = pki::format_time(now);
  return summary;
}

bool is_archive_volume(const fs::path& folder) {
  if (!fs::is_regular_file(folder / kManifest)) return false;
  std::ifstream in(folder / kManifest, std::ios::binary);
  std::string first;
  std::getline(in, first);
  return first == "hanko archive volume 1";
}

ArchiveContent read_archive_content(const fs::path& volume) {
  ArchiveContent out;
  const Bytes certificates = read_file(volume / "certificates.der", 1u << 30);
  for (BytesView der : split_der(certificates, "certificates.der")) out.certificates.emplace_back(der.begin(), der.end());
  const Bytes lists = read_file(volume / "lists.der", 1u << 30);
  for (BytesView der : split_der(lists, "lists.der")) out.lists.emplace_back(der.begin(), der.end());
  return out;
}

ArchiveSummary verify_archive(const fs::path& volume, const std::optional<Bytes>& audit_spki) {
  if (!fs::is_directory(volume)) throw ArchiveError("'" + volume.string() + "' is not an archive volume folder");
  std::string text;
  try {
    text = read_text_file(volume / kManifest, kMaxManifest);
  } catch (const FileError& e) {
    throw ArchiveError(std::string("the volume's MANIFEST cannot be read: ") + e.what());
  }
  const ParsedManifest m = parse_manifest(text);
  // Signed by the key the volume names, which must be the CA's audit key.
  const Bytes volume_spki = fs::exists(volume / "audit.spki") ? read_file(volume / "audit.spki", 1 << 16) : Bytes{};
  if (m.spki != volume_spki) throw ArchiveError("the MANIFEST is signed by a key other than the volume's audit key");
  if (audit_spki && *audit_spki != m.spki) throw ArchiveError("the MANIFEST is signed by a key other than this CA's audit key");
  try {
    const pki::PublicKey key = pki::parse_public_key(m.spki);
    const auto algorithm = pki::parse_signature_algorithm_name(m.algorithm);
    if (!algorithm || !pki::verify_signature(key, *algorithm, BytesView(reinterpret_cast<const std::uint8_t*>(m.signed_text.data()), m.signed_text.size()),
                                             m.signature)) {
      throw ArchiveError("the MANIFEST's signature does not verify: the volume was changed");
    }
  } catch (const pki::ParseError& e) {
    throw ArchiveError(std::string("the MANIFEST's signing key is unreadable: ") + e.what());
  }
  // Every file as listed, nothing more.
  ArchiveSummary summary;
  for (const auto& e : fs::directory_iterator(volume)) {
    const std::string name = e.path().filename().string();
    if (name != kManifest && !m.files.count(name)) throw ArchiveError("'" + name + "' is in the volume but not in its MANIFEST");
  }
  for (const auto& [name, expected] : m.files) {
    if (!fs::exists(volume / name)) throw ArchiveError("'" + name + "' is missing from the volume");
    const backup::FileRecord r = backup::describe_file(volume, name);
    if (r.size != expected.second || to_hex(r.sha256) != expected.first) {
      throw ArchiveError("'" + name + "' differs from the MANIFEST (unreadable sectors or a change): restore it from another copy");
    }
    summary.bytes += r.size;
    ++summary.files;
  }
  // Readability: every object parses strictly and verifies with its generation's key.
  std::map<int, pki::PublicKey> generation_keys;
  {
    const Bytes data = read_file(volume / "generations.der", 1u << 30);
    int number = 0;
    for (BytesView der : split_der(data, "generations.der")) {
      const auto cert = pki::parse_certificate(der);
      if (!cert) throw ArchiveError("generations.der: certificate " + std::to_string(number + 1) + " does not parse: " + cert.message());
      generation_keys.emplace(++number, cert->public_key);
    }
    if (generation_keys.empty()) throw ArchiveError("generations.der holds no certificate");
  }
  {
    const Bytes data = read_file(volume / "certificates.der", 1u << 30);
    std::istringstream index(read_text_file(volume / "certificates.tsv", 1u << 30));
    std::string line;
    std::vector<int> signing;
    while (std::getline(index, line)) {
      if (line.empty() || line[0] == '#') continue;
      const auto tab = line.find('\t');
      signing.push_back(std::atoi(line.c_str() + tab + 1));
    }
    const std::vector<BytesView> certs = split_der(data, "certificates.der");
    if (certs.size() != signing.size()) throw ArchiveError("certificates.der and certificates.tsv disagree on the count");
    for (std::size_t i = 0; i < certs.size(); ++i) {
      const auto cert = pki::parse_certificate(certs[i]);
      if (!cert) throw ArchiveError("certificates.der: certificate " + std::to_string(i + 1) + " does not parse: " + cert.message());
      const auto key = generation_keys.find(signing[i]);
      if (key == generation_keys.end() || !pki::verify_certificate_signature(*cert, key->second)) {
        throw ArchiveError("certificate " + cert->serial.hex() + " does not verify with generation " + std::to_string(signing[i]));
      }
      ++summary.certificates;
    }
  }
  {
    const Bytes data = read_file(volume / "lists.der", 1u << 30);
    for (BytesView der : split_der(data, "lists.der")) {
      const auto crl = pki::parse_crl(der);
      if (!crl) throw ArchiveError("lists.der: list " + std::to_string(summary.lists + 1) + " does not parse: " + crl.message());
      const bool verifies = std::any_of(generation_keys.begin(), generation_keys.end(),
                                        [&](const auto& g) { return pki::verify_crl_signature(*crl, g.second); });
      if (!verifies) throw ArchiveError("list " + std::to_string(summary.lists + 1) + " (number " +
                                        std::to_string(crl->crl_number.value_or(0)) + ") is signed by none of the CA's keys");
      ++summary.lists;
    }
  }
  {  // the audit chain recomputed from its fields, reaching every checkpoint
    std::istringstream in(read_text_file(volume / "audit.jsonl", 1u << 30));
    std::string line;
    Bytes previous(32, 0);
    std::map<std::int64_t, Bytes> heads;
    while (std::getline(in, line)) {
      json e;
      try {
        e = json::parse(line);
        AuditEvent event{e.at("type"), e.at("result"), e.at("actor"), e.at("role"), e.at("details")};
        const std::int64_t sequence = e.at("sequence");
        const pki::Time time{std::chrono::seconds(e.at("time").get<std::int64_t>())};
        if (sequence != summary.audit_entries + 1 || to_hex(previous) != e.at("previous_hash").get<std::string>()) {
          throw ArchiveError("audit entry " + std::to_string(summary.audit_entries + 1) + " does not follow the one before it");
        }
        previous = AuditLog::entry_hash(previous, sequence, time, event, e.at("system"));
        if (to_hex(previous) != e.at("hash").get<std::string>()) {
          throw ArchiveError("audit entry " + std::to_string(sequence) + " was changed (its hash does not match its fields)");
        }
        heads[sequence] = previous;
      } catch (const json::exception&) {
        throw ArchiveError("audit.jsonl line " + std::to_string(summary.audit_entries + 1) + " is not an audit entry");
      }
      ++summary.audit_entries;
    }
    const Bytes data = read_file(volume / "audit-checkpoints.der", 1u << 30);
    for (BytesView der : split_der(data, "audit-checkpoints.der")) {
      AuditCheckpoint c;
      try {
        c = AuditLog::parse_checkpoint(der);
      } catch (const pki::ParseError& e) {
        throw ArchiveError(std::string("a checkpoint does not parse: ") + e.what());
      }
      const auto it = heads.find(c.sequence);
      if (it == heads.end() || it->second != c.head) {
        throw ArchiveError("the audit log in the volume does not reach its checkpoint at entry " + std::to_string(c.sequence));
      }
    }
  }
  summary.identity = m.identity;
  summary.subject = m.subject;
  summary.created = m.created;
  return summary;
}

ArchiveSummary copy_archive(const fs::path& from, const fs::path& to) {
  verify_archive(from, std::nullopt);
  if (fs::exists(to)) throw ArchiveError("'" + to.string() + "' already exists");
  const fs::path partial = to.parent_path() / ("." + to.filename().string() + ".partial");
  fs::remove_all(partial);
  fs::create_directories(partial);
  for (const auto& e : fs::directory_iterator(from)) {
    const Bytes data = read_file(e.path(), 1u << 30);
    write_file_atomic(partial / e.path().filename(), data, 0644);
    if (read_file(partial / e.path().filename(), 1u << 30) != data) {
      throw ArchiveError("'" + e.path().filename().string() + "' reads back differently from the new media: the media is bad");
    }
  }
  backup::publish_folder(partial, to);
  return verify_archive(to, std::nullopt);
}

}  // namespace hanko::offline
