#include "hanko/offline/reconcile.h"

#include <algorithm>
#include <sstream>

#include "hanko/offline/archive.h"
#include "hanko/offline/audit.h"
#include "hanko/offline/ca.h"
#include "hanko/offline/command.h"
#include "hanko/pki/algorithm.h"
#include "hanko/pki/pem.h"
#include "hanko/transfer/batch.h"
#include "hanko/transfer/bundle.h"

namespace hanko::offline {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxListFile = 1u << 30;  // a fullCRL of millions of entries stays far below

struct GenerationKey {
  int number = 0;
  pki::Name subject;
  pki::PublicKey key;
};

std::vector<GenerationKey> generation_keys(CaStore& store) {
  std::vector<GenerationKey> out;
  for (const KeyGeneration& g : store.generations()) {
    const auto cert = pki::parse_certificate(g.certificate);
    if (cert) out.push_back({g.number, cert->subject, cert->public_key});
  }
  return out;
}

std::optional<pki::PublicKey> key_file(const fs::path& path) {
  if (!fs::exists(path)) return std::nullopt;
  return pki::parse_public_key(read_der_or_pem(path.string(), "PUBLIC KEY"));
}

// "g1-CRL1" from an address made from a "{scope}" template; nothing when no template matches.
std::optional<std::string> scope_of_url(const CaConfig& config, const std::string& url) {
  for (const std::string& t : config.crl_urls) {
    const auto at = t.find("{scope}");
    if (at == std::string::npos) continue;
    const std::string prefix = t.substr(0, at), suffix = t.substr(at + 7);
    if (url.size() > prefix.size() + suffix.size() && url.compare(0, prefix.size(), prefix) == 0 &&
        url.compare(url.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return url.substr(prefix.size(), url.size() - prefix.size() - suffix.size());
    }
  }
  return std::nullopt;
}

// {generation, partition} from "g<N>-<partition>"; nothing for lists that are not partitions.
std::optional<std::pair<int, std::string>> partition_of_scope(const std::string& scope) {
  try {
    const Ca::ScopeParts p = Ca::parse_scope(scope);
    if (p.kind != CaStore::ListKind::kPartition || p.generation < 1) return std::nullopt;
    return std::make_pair(p.generation, p.partition);
  } catch (const std::exception&) {
    return std::nullopt;  // an address of a template the CA does not use for its lists
  }
}

std::optional<std::string> first_scope(const CaConfig& config, const pki::GeneralNames& names) {
  for (const pki::GeneralName& n : names) {
    if (n.kind != pki::GeneralName::Kind::kUri) continue;
    if (auto scope = scope_of_url(config, n.text)) return scope;
  }
  return std::nullopt;
}

// A field of a revocation known only when every list that says anything of it agrees.
template <class T>
class Agreed {
 public:
  void see(const T& v) {
    if (m_conflict) return;
    if (!m_value) {
      m_value = v;
    } else if (*m_value != v) {
      m_conflict = true;
    }
  }
  std::optional<T> get() const { return m_conflict ? std::nullopt : m_value; }

 private:
  std::optional<T> m_value;
  bool m_conflict = false;
};

// Where a revocation was seen (a million of these for a large fullCRL: kept small).
struct Sighting {
  pki::RevokedCertificate entry;
  Agreed<int> generation;
  Agreed<std::string> kind, partition;
  std::uint32_t source = 0;  // the first list that carried it (index into the list names)
};

class Examiner {
 public:
  Examiner(CaStore& store, const std::function<void(const std::string&)>& progress)
      : m_store(store), m_progress(progress), m_generations(generation_keys(store)) {
    m_transport = key_file(store.dir() / "transport.spki");
    m_audit = key_file(store.dir() / "audit.spki");
  }

  void file(const fs::path& path, std::vector<Reconciliation::NotProven>& not_proven) {
    const std::string name = path.string();
    try {
      if (path.extension() == ".hkb") {
        bundle(read_file(path, transfer::kMaxBundleSize), name, not_proven);
      } else if (path.extension() == ".crl") {
        Bytes der = read_file(path, kMaxListFile);
        if (pki::looks_like_pem(der)) {
          der = pki::pem_decode(std::string_view(reinterpret_cast<const char*>(der.data()), der.size()), "X509 CRL");
        }
        list(der, name, not_proven);
      }
    } catch (const std::exception& e) {
      not_proven.push_back({name, e.what()});
    }
  }

  // An archive volume (R43) of the lost signer, newer than the set: every certificate and list it
  // holds, once the volume verifies under this CA's audit key.
  void volume(const fs::path& folder, std::vector<Reconciliation::NotProven>& not_proven) {
    const std::string name = folder.string();
    try {
      verify_archive(folder, read_file(m_store.dir() / "audit.spki", 1 << 16));
      const ArchiveContent content = read_archive_content(folder);
      ++volumes;
      for (const Bytes& c : content.certificates) certificate(c, "", "archive volume " + folder.filename().string(), name, not_proven);
      for (const Bytes& l : content.lists) list(l, name + "/lists.der", not_proven);
    } catch (const std::exception& e) {
      not_proven.push_back({name, std::string("an archive volume that does not verify under this CA's audit key: ") + e.what()});
    }
  }

  void bundle(const Bytes& der, const std::string& name, std::vector<Reconciliation::NotProven>& not_proven) {
    if (!m_transport) {
      not_proven.push_back({name, "the set holds no transport key (transport.spki) to check result bundles with"});
      return;
    }
    const auto opened = transfer::open_bundle(der, {*m_transport});
    if (!opened) {
      not_proven.push_back({name, "not a result bundle of this signer [" + std::string(transfer::error_id_name(opened.error())) + "]: " +
                                      opened.message()});
      return;
    }
    if (opened->direction != transfer::Direction::kResult) {
      not_proven.push_back({name, "a request bundle, not a result bundle"});
      return;
    }
    const std::string digest = to_hex(opened->sha256);
    if (!m_bundle_digests.insert(digest).second) return;  // the same bundle twice (relay archive and medium)
    if (const auto seen = m_sequence_digest.find(opened->sequence); seen != m_sequence_digest.end()) {
      not_proven.push_back({name, "a second, different result bundle with sequence " + std::to_string(opened->sequence) +
                                      " (the signer signs each sequence once): kept apart, not taken in"});
      return;
    }
    m_sequence_digest[opened->sequence] = digest;
    ++bundles;
    sequences.insert(opened->sequence);
    const std::string source = "result bundle " + std::to_string(opened->sequence);
    for (std::size_t i = 0; i < opened->manifest.size(); ++i) {
      const std::string& part = opened->manifest[i].name;
      const Bytes& content = opened->parts[i];
      if (part == "result-batch.der") {
        result_batch(content, name, source, not_proven);
      } else if (part.size() > 4 && part.compare(part.size() - 4, 4, ".crl") == 0) {
        list(content, name + ":" + part, not_proven);
      } else if (part == "audit-checkpoint.der") {
        try {
          const AuditCheckpoint c = AuditLog::parse_checkpoint(content);
          if (m_audit && AuditLog::signed_by(c, *m_audit)) {
            audit_sequence = std::max(audit_sequence, c.sequence);
          } else {
            not_proven.push_back({name + ":" + part, "an audit checkpoint not signed by this CA's audit key"});
          }
        } catch (const std::exception& e) {
          not_proven.push_back({name + ":" + part, std::string("a damaged audit checkpoint: ") + e.what()});
        }
      }
    }
  }

  void result_batch(const Bytes& der, const std::string& name, const std::string& source,
                    std::vector<Reconciliation::NotProven>& not_proven) {
    transfer::ResultBatch result;
    try {
      result = transfer::parse_result_batch(der);
    } catch (const std::exception& e) {
      not_proven.push_back({name + ":result-batch.der", e.what()});
      return;
    }
    const std::string id = to_hex(result.batch_id);
    int issued = 0, refused = 0;
    for (const transfer::ItemResult& r : result.results) {
      issued += r.status == transfer::ItemStatus::kIssued;
      refused += r.status == transfer::ItemStatus::kRefused;
      if (r.status == transfer::ItemStatus::kIssued && !r.certificate.empty()) {
        certificate(r.certificate, id, source + ", batch " + id, name, not_proven);
      }
    }
    for (const Bytes& l : result.lists) list(l, name + ":result-batch.der", not_proven);
    if (m_batch_ids.insert(id).second && !m_store.batch_seen(id)) {
      batches.push_back({id, result.processed, static_cast<int>(result.results.size()), issued, refused, der});
    }
  }

  void certificate(const Bytes& der, const std::string& batch_id, const std::string& source, const std::string& name,
                   std::vector<Reconciliation::NotProven>& not_proven) {
    const auto cert = pki::parse_certificate(der);
    if (!cert) {
      not_proven.push_back({name, "a damaged certificate in batch " + batch_id + ": " + cert.message()});
      return;
    }
    if (const auto seen = m_certificate_index.find(cert->serial); seen != m_certificate_index.end()) {
      if (certificates[seen->second].der != der) not_proven.push_back({name, "two different certificates with serial " + cert->serial.hex()});
      return;
    }
    const GenerationKey* signer = nullptr;
    for (const GenerationKey& g : m_generations) {
      if (g.subject == cert->issuer && pki::verify_certificate_signature(*cert, g.key)) signer = &g;
    }
    if (!signer) {
      not_proven.push_back({name, "certificate " + cert->serial.hex() + " is not signed by any key of this CA in the set"});
      return;
    }
    if (const std::optional<CertificateRecord> known = m_store.find(cert->serial)) {
      if (known->der != der) not_proven.push_back({name, "certificate " + cert->serial.hex() + " differs from the one the set holds"});
      ++certificates_known;
      return;
    }
    CertificateRecord r;
    r.serial = cert->serial;
    r.generation = signer->number;
    r.kind = !cert->is_ca() ? CertificateKind::kSubscriber : cert->is_self_issued() ? CertificateKind::kLink : CertificateKind::kCross;
    r.profile = "(taken in from evidence)";
    r.subject = cert->subject.to_string();
    r.subject_der = cert->subject.der();
    r.not_before = cert->not_before;
    r.not_after = cert->not_after;
    if (r.kind == CertificateKind::kSubscriber) r.partition = partition_for(*cert, signer->number);
    r.der = der;
    r.requested_by = "(unknown: taken in from evidence)";
    r.batch_id = batch_id;
    r.decision = "issued by the lost signer after the backup; taken in from " + source;
    m_certificate_index[r.serial] = certificates.size();
    certificates.push_back(std::move(r));
  }

  void list(const Bytes& der, const std::string& name, std::vector<Reconciliation::NotProven>& not_proven) {
    if (!m_list_digests.insert(to_hex(pki::digest(pki::HashAlgorithm::kSha256, der))).second) return;
    const auto crl = pki::parse_crl(der);
    if (!crl) {
      not_proven.push_back({name, "a damaged list: " + crl.message()});
      return;
    }
    const GenerationKey* signer = nullptr;
    bool our_name = false;
    for (const GenerationKey& g : m_generations) {
      if (g.subject != crl->issuer) continue;
      our_name = true;
      if (pki::verify_crl_signature(*crl, g.key)) signer = &g;
    }
    if (!signer) {
      not_proven.push_back({name, our_name ? "a list of this CA's name signed by no key in the set (a key generation made after the backup?)"
                                           : "a list of another issuer (" + crl->issuer.to_string() + ")"});
      return;
    }
    ++lists;
    if (crl->crl_number && *crl->crl_number > highest_number) {
      highest_number = *crl->crl_number;
      highest_list = name;
    }
    // What the list says of its scope (its issuingDistributionPoint), for revocations whose
    // certificate no evidence holds.
    std::optional<int> generation;
    std::optional<std::string> kind, partition;
    if (const pki::Extension* e = crl->extension(pki::oid::kIssuingDistributionPoint)) {
      const pki::IssuingDistributionPoint idp = pki::decode_issuing_distribution_point(e->value);
      if (idp.only_ca_certs) kind = "ca";
      if (idp.only_user_certs) kind = "subscriber";
      if (const auto scope = first_scope(m_store.config(), idp.full_name)) {
        generation = signer->number;
        if (const auto p = partition_of_scope(*scope)) {
          generation = p->first;
          partition = p->second;
          kind = "subscriber";
        }
      }
    }
    const std::size_t before = m_sightings.size();
    const auto source = static_cast<std::uint32_t>(m_list_names.size());
    m_list_names.push_back(name);
    for (const pki::RevokedCertificate& entry : crl->entries) {
      auto [it, fresh] = m_sightings.try_emplace(entry.serial);
      Sighting& s = it->second;
      if (fresh) {
        s.entry = entry;
        s.source = source;
      }
      if (generation) s.generation.see(*generation);
      if (kind) s.kind.see(*kind);
      if (partition) s.partition.see(*partition);
    }
    if (m_progress && crl->entries.size() > 100000) {
      m_progress("  list " + name + ": " + std::to_string(crl->entries.size()) + " entries, " + std::to_string(m_sightings.size() - before) +
                 " not seen before");
    }
  }

  // After every file: each revocation is of a certificate the set holds (taken in if the set has
  // it valid), of one the evidence holds, or of one nobody here holds (kept on the lists anyway).
  void settle(std::vector<pki::RevokedCertificate>& revocations, std::vector<CaStore::RevocationWithoutCertificate>& without,
              std::size_t& known) {
    for (auto& [serial, s] : m_sightings) {
      if (m_certificate_index.count(serial)) {
        revocations.push_back(s.entry);
        continue;
      }
      const CaStore::SerialState state = m_store.serial_state(serial);
      if (state == CaStore::SerialState::kRevoked) {
        ++known;
      } else if (state == CaStore::SerialState::kValid) {
        revocations.push_back(s.entry);
      } else {
        CaStore::RevocationWithoutCertificate r;
        r.entry = s.entry;
        r.generation = s.generation.get();
        r.kind = s.kind.get();
        r.partition = r.kind == std::optional<std::string>("subscriber") ? s.partition.get() : std::nullopt;
        r.source = "list " + m_list_names[s.source];
        without.push_back(std::move(r));
      }
    }
  }

  std::size_t bundles = 0, lists = 0, volumes = 0, certificates_known = 0;
  std::set<std::uint64_t> sequences;
  std::vector<CertificateRecord> certificates;
  std::vector<Reconciliation::Batch> batches;
  std::uint64_t highest_number = 0;
  std::string highest_list;
  std::int64_t audit_sequence = 0;

 private:
  // The partition its CRLDP names; else (lists without an address of their own cover every
  // subscriber) the generation's newest partition.
  std::string partition_for(const pki::Certificate& cert, int generation) {
    if (const pki::Extension* e = cert.extension(pki::oid::kCrlDistributionPoints)) {
      for (const pki::DistributionPoint& p : pki::decode_crl_distribution_points(e->value)) {
        if (const auto scope = first_scope(m_store.config(), p.full_name)) {
          if (const auto part = partition_of_scope(*scope); part && part->first == generation) return part->second;
        }
      }
    }
    const std::vector<std::string> existing = m_store.partitions(generation);
    return existing.empty() ? "CRL1" : existing.back();
  }

  CaStore& m_store;
  const std::function<void(const std::string&)>& m_progress;
  std::vector<GenerationKey> m_generations;
  std::optional<pki::PublicKey> m_transport, m_audit;
  std::set<std::string> m_bundle_digests, m_list_digests, m_batch_ids;
  std::map<std::uint64_t, std::string> m_sequence_digest;
  std::map<pki::Serial, std::size_t> m_certificate_index;
  std::map<pki::Serial, Sighting> m_sightings;
  std::vector<std::string> m_list_names;
};

// Evidence is untrusted: what it makes us print (names, parser messages) is shown only as
// printable text, never as raw bytes for the terminal to interpret.
std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = n > 0 && i + n <= text.size() && (n > 1 || (c >= 0x20 && c != 0x7f));
    for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

std::string range_text(const std::vector<std::uint64_t>& numbers) {
  std::string out;
  for (std::size_t i = 0; i < numbers.size();) {
    std::size_t j = i;
    while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(numbers[i]) + (j > i ? "-" + std::to_string(numbers[j]) : "");
    i = j + 1;
  }
  return out;
}

}  // namespace

Reconciliation Reconciliation::examine(CaStore& store, const std::vector<fs::path>& folders,
                                       const std::function<void(const std::string&)>& progress) {
  Reconciliation r;
  r.m_set_result_sequence = store.result_sequence();
  r.m_set_highest_number = store.highest_crl_number();
  const std::optional<AuditEntry> head = store.audit().head();
  r.m_set_audit_sequence = head ? head->sequence : 0;
  Examiner examiner(store, progress);
  for (const fs::path& folder : folders) {
    if (!fs::is_directory(folder)) throw std::runtime_error("evidence folder '" + folder.string() + "' does not exist or is not a folder");
    std::vector<fs::path> files, volumes;
    if (is_archive_volume(folder)) volumes.push_back(folder);
    for (const fs::directory_entry& e : fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied)) {
      if (e.is_regular_file() && (e.path().extension() == ".hkb" || e.path().extension() == ".crl")) files.push_back(e.path());
      if (e.is_directory() && is_archive_volume(e.path())) volumes.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::sort(volumes.begin(), volumes.end());
    for (const fs::path& v : volumes) {
      if (progress) progress("  archive volume " + v.string() + ": checking every file and signature");
      examiner.volume(v, r.m_not_proven);
    }
    std::size_t done = 0;
    for (const fs::path& f : files) {
      examiner.file(f, r.m_not_proven);
      if (progress && ++done % 1000 == 0) progress("  " + std::to_string(done) + " of " + std::to_string(files.size()) + " files in " + folder.string());
    }
    ++r.m_folders;
  }
  r.m_bundles = examiner.bundles;
  r.m_volumes = examiner.volumes;
  r.m_lists = examiner.lists;
  r.m_sequences = examiner.sequences;
  r.m_certificates = std::move(examiner.certificates);
  r.m_certificates_known = examiner.certificates_known;
  r.m_batches = std::move(examiner.batches);
  examiner.settle(r.m_revocations, r.m_without_certificate, r.m_revocations_known);
  r.m_highest_number = std::max(r.m_set_highest_number, examiner.highest_number);
  if (examiner.highest_number > r.m_set_highest_number) r.m_highest_list = examiner.highest_list;
  r.m_evidence_audit_sequence = examiner.audit_sequence;
  return r;
}

std::string Reconciliation::missing_sequences() const {
  const std::uint64_t newest = m_sequences.empty() ? 0 : *m_sequences.rbegin();
  std::vector<std::uint64_t> missing;
  for (std::uint64_t s = m_set_result_sequence + 1; s < newest; ++s) {
    if (!m_sequences.count(s)) missing.push_back(s);
  }
  return range_text(missing);
}

std::string Reconciliation::summary(std::uint64_t margin) const {
  std::ostringstream o;
  if (m_folders == 0) {
    o << "evidence: none given. What the lost signer did after this backup CANNOT be known here:\n"
         "  certificates it issued are unknown to this CA (revoke refuses them), revocations it made are NOT on the next lists,\n"
         "  batches it processed would be signed again if offered, and CRL numbers it used are guessed (margin " << margin << ").\n"
         "  Evidence is the relay's result bundles (state/archive/*.hkb) and published lists (*.crl): give them with --evidence.\n";
  } else {
    o << "evidence: " << m_bundles << " result bundle(s), " << m_volumes << " archive volume(s) and " << m_lists << " list(s) verified, from "
      << m_folders << " folder(s)\n";
    const std::uint64_t newest = m_sequences.empty() ? 0 : *m_sequences.rbegin();
    if (newest <= m_set_result_sequence) {
      o << "  result bundles: none newer than the last this CA knows (" << m_set_result_sequence
        << "); if the lost signer signed batches after the backup, their results are missing from the evidence\n";
    } else {
      const std::string missing = missing_sequences();
      o << "  result bundles after the backup: " << m_set_result_sequence + 1 << "-" << newest;
      if (missing.empty()) {
        o << ", none missing in between\n";
      } else {
        o << "; MISSING " << missing << " (withheld or lost: what they carried cannot be known; ask the relay "
          << "operator and every medium for them)\n";
      }
    }
    o << "  withheld newest bundles leave no gap here: the restored signer's next bundle is sequence " << std::max(newest, m_set_result_sequence) + 1
      << ", and a relay that imported that number already refuses it as a replay: that refusal is the alarm\n";
    o << "  certificates issued after the backup, taken in: " << m_certificates.size() << " (each verified against the CA key; "
      << m_certificates_known << " already in the set)\n";
    o << "  batches processed after the backup, taken in: " << m_batches.size() << " (offered again, they are refused)\n";
    o << "  revocations taken in: " << m_revocations.size() << " (" << m_revocations_known << " already in the set)";
    if (!m_without_certificate.empty()) {
      o << "; " << m_without_certificate.size() << " of certificates no evidence holds, kept on every list that may cover them";
    }
    o << "\n";
    if (m_evidence_audit_sequence > m_set_audit_sequence) {
      o << "  audit log: the lost signer's reached entry " << m_evidence_audit_sequence << " (signed checkpoint); the set holds "
        << m_set_audit_sequence << ": entries " << m_set_audit_sequence + 1 << "-" << m_evidence_audit_sequence << " are lost with it\n";
    }
  }
  o << "  CRL numbers: the highest ever seen is " << m_highest_number
    << (m_highest_list.empty() ? std::string(" (in the set)") : " (" + printable(m_highest_list) + ")") << "; every list continues at "
    << next_crl_number(margin) << "\n";
  if (!m_not_proven.empty()) {
    o << "  NOT proven, not taken in (" << m_not_proven.size() << "):\n";
    std::size_t shown = 0;
    for (const NotProven& n : m_not_proven) {
      if (++shown > 20) {
        o << "    ... and " << m_not_proven.size() - 20 << " more\n";
        break;
      }
      o << "    " << printable(n.file) << ": " << printable(n.reason) << "\n";
    }
  }
  return o.str();
}

std::string Reconciliation::audit_details(std::uint64_t margin) const {
  std::ostringstream o;
  if (m_folders == 0) {
    o << "no evidence (confirmed); ";
  } else {
    o << "evidence: " << m_bundles << " result bundles, " << m_lists << " lists; taken in " << m_certificates.size() << " certificates, "
      << m_batches.size() << " batches, " << m_revocations.size() + m_without_certificate.size() << " revocations ("
      << m_without_certificate.size() << " without certificate); " << m_not_proven.size() << " files not proven; ";
  }
  o << "lists continue at " << next_crl_number(margin);
  return o.str();
}

void Reconciliation::apply(CaStore& store, std::uint64_t margin) const {
  for (const CertificateRecord& c : m_certificates) store.insert(c);
  for (const Batch& b : m_batches) {
    store.record_batch(b.id_hex, b.processed, b.items, b.issued, b.refused);
    store.record_batch_result(b.id_hex, b.result_der);
  }
  for (const pki::RevokedCertificate& r : m_revocations) {
    store.mark_revoked(r.serial, r.revocation_date, r.reason.value_or(pki::ReasonCode::kUnspecified), r.invalidity_date);
  }
  for (const CaStore::RevocationWithoutCertificate& r : m_without_certificate) store.add_revocation_without_certificate(r);
  if (!m_sequences.empty()) store.raise_result_sequence(*m_sequences.rbegin());
  store.raise_crl_numbers(m_highest_number + margin);
}

}  // namespace hanko::offline
