#pragma once
// Reconciliation at restore (issue 27). A backup is always older than the CA it saves. What the
// lost signer did after it left evidence outside, signed by keys the relay does not hold:
//   result bundles (transport key): the certificates of each batch, the batch ids, the lists of
//                  the day and the newest audit checkpoint (audit key);
//   lists (CA key): every revocation and every CRL number the world has seen;
//   archive volumes (audit key, R43): every certificate and every list up to the volume's day.
// The restore reads that evidence, checks every signature against the keys of the backup set,
// shows what it will take in and what it cannot prove, and then takes in what is proven, so that
// nothing goes backwards: no revocation is lost, no CRL number is reused, no batch is signed
// twice, the result bundles' sequence continues where the relay expects it. A compromised relay
// can withhold evidence but cannot forge it; withholding shows as gaps in the sequence.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hanko/offline/ca_store.h"

namespace hanko::offline {

class Reconciliation {
 public:
  // Reads every result bundle (*.hkb) and list (*.crl, DER or PEM) under the folders (searched
  // recursively) and checks each against the store's keys. Reads only; a file that cannot be
  // proven is reported, never taken in. `progress` gets a line now and then for long reads.
  static Reconciliation examine(CaStore& store, const std::vector<std::filesystem::path>& folders,
                                const std::function<void(const std::string&)>& progress = {});

  bool found_anything() const { return m_bundles + m_lists + m_volumes > 0; }
  // What the custodians read before they approve: counts, gaps, and what cannot be proven.
  std::string summary(std::uint64_t crl_number_margin) const;
  // One line for the audit log.
  std::string audit_details(std::uint64_t crl_number_margin) const;
  // Takes in what is proven, within the caller's transaction. Every list continues above the
  // highest number the set or the evidence knows, plus the margin.
  void apply(CaStore& store, std::uint64_t crl_number_margin) const;
  // The result bundles missing between the set and the newest evidence ("9, 12-14"); empty: none.
  std::string missing_sequences() const;
  bool examined_evidence() const { return m_folders > 0; }
  std::uint64_t next_crl_number(std::uint64_t crl_number_margin) const { return m_highest_number + crl_number_margin + 1; }

  struct NotProven {
    std::string file;
    std::string reason;
  };

  // A batch the lost signer processed, from its result: recorded so a replay is refused.
  struct Batch {
    std::string id_hex;
    pki::Time processed{};
    int items = 0, issued = 0, refused = 0;
    Bytes result_der;
  };

 private:

  std::size_t m_bundles = 0, m_lists = 0, m_volumes = 0, m_folders = 0;
  std::uint64_t m_set_result_sequence = 0;  // the last result bundle the set knows
  std::set<std::uint64_t> m_sequences;      // of the verified result bundles
  std::vector<CertificateRecord> m_certificates;  // issued after the backup, proven
  std::size_t m_certificates_known = 0;
  std::vector<Batch> m_batches;                    // processed after the backup
  std::vector<pki::RevokedCertificate> m_revocations;  // of certificates the set or evidence holds, not yet revoked there
  std::vector<CaStore::RevocationWithoutCertificate> m_without_certificate;
  std::size_t m_revocations_known = 0;
  std::uint64_t m_set_highest_number = 0;
  std::uint64_t m_highest_number = 0;  // of the set and the evidence
  std::string m_highest_list;          // which list carried it
  std::int64_t m_set_audit_sequence = 0;
  std::int64_t m_evidence_audit_sequence = 0;
  std::vector<NotProven> m_not_proven;
};

}  // namespace hanko::offline
