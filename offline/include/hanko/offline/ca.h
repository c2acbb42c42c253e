#pragma once
// What the CA does, independent of where its keys are and of the clock: time, randomness and
// signers are passed in. Every operation either completes in the database or leaves it unchanged.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hanko/offline/ca_store.h"
#include "hanko/offline/profiles.h"
#include "hanko/pki/csr.h"
#include "hanko/transfer/batch.h"

namespace CryptoPP {
class RandomNumberGenerator;
}

namespace hanko::offline {

// Gives the signer for a key generation (the HSM key with the generation's label).
using SignerFor = std::function<pki::Signer&(const KeyGeneration&)>;

// A self-signed CA certificate: basicConstraints cA (critical), keyCertSign + cRLSign, SKI = AKI.
pki::CertificateTemplate self_signed_template(const pki::Name& subject, const pki::PublicKey& key,
                                              pki::Time not_before, pki::Time not_after,
                                              CryptoPP::RandomNumberGenerator& rng);

struct IssueRequest {
  pki::CertificationRequest csr;
  std::string profile;
  std::string partition_group;  // a named CRL partition (e.g. a municipality); empty: by size
  std::vector<std::pair<pki::Oid, std::string>> subject_data;  // JPKI basic four, as otherNames
  std::vector<pki::PolicyMapping> policy_mappings;             // cross-certificates only
  std::string requested_by = "operator";
  std::string batch_id;
  std::string decision = "approved at the signer console";
  // An older key generation that still signs its lists (R24) may certify the OCSP responder that
  // answers for its certificates (RFC 6960 4.2.2.2); nothing else. Empty: the current generation.
  std::optional<int> generation;
  // A renewal: the subject's valid certificate this one replaces. It is revoked (superseded) in
  // the transaction that records the new one, so the subject is never without one (R16 holds).
  std::optional<pki::Serial> replaces;
};

struct PlannedCertificate {
  pki::CertificateTemplate certificate;
  CertificateRecord record;  // everything but the DER
  std::string summary;       // what the operator reads before signing
  std::optional<pki::Serial> replaces;
};

// R50: one line for each role nobody holds that the CA cannot do without (once people are
// registered at all): CA administrator, operations manager, log inspector.
std::vector<std::string> unheld_roles(CaStore& store);

class Ca {
 public:
  Ca(CaStore& store, std::vector<Profile> profiles) : m_store(store), m_profiles(std::move(profiles)) {}

  CaStore& store() noexcept { return m_store; }
  // Who acts, for the audit log (R40: every entry names the person and role).
  void set_actor(std::string actor, std::string role) {
    m_actor = std::move(actor);
    m_role = std::move(role);
  }
  // Appends to the audit log (inside the caller's transaction when there is one).
  void audit(const std::string& type, const std::string& details, pki::Time now, const std::string& result = "success");
  const std::vector<Profile>& profiles() const noexcept { return m_profiles; }

  // Checks a request against its profile and the records (R16 duplicates, validity inside the
  // CA certificate) and lays the certificate out. `pending_subjects` holds subjects planned
  // earlier in the same batch. Throws PolicyError naming what is wrong; writes nothing.
  PlannedCertificate plan(const IssueRequest& request, pki::Time now, CryptoPP::RandomNumberGenerator& rng,
                          const std::vector<Bytes>& pending_subjects = {},
                          const std::map<std::string, int>& pending_partitions = {});

  // Signs every plan with the current generation's key, re-parses each certificate, verifies it
  // and compares its TBS with the plan, then records all of them in one transaction.
  std::vector<Bytes> issue(const std::vector<PlannedCertificate>& plans, pki::Signer& signer, pki::Time now);

  // Signs with several signers at once (one per token session and thread).
  std::vector<Bytes> issue(const std::vector<PlannedCertificate>& plans, const std::vector<pki::Signer*>& signers, pki::Time now);

  // A request batch, checked item by item before anything is signed: the RA operator's
  // signature against the RA keys registered here, proof of possession, profile limits,
  // duplicates (R16) and revocation targets. A bad item is refused on its own; a replayed batch
  // is refused whole. Nothing is written.
  struct BatchPlan {
    Bytes batch_id;
    Bytes request_digest;
    std::vector<PlannedCertificate> certificates;
    std::vector<std::size_t> certificate_items;  // item index of each planned certificate
    std::vector<std::pair<std::size_t, transfer::RevokeAction>> revocations;
    std::vector<transfer::ItemResult> results;             // one per item; refusals filled in here
    std::string summary;                         // what the operator reads before approving
    std::size_t refused = 0;
  };
  BatchPlan plan_batch(const transfer::RequestBatch& batch, BytesView batch_der, pki::Time now,
                       CryptoPP::RandomNumberGenerator& rng);
  // Signs and records the whole plan in one transaction, then the lists the revocations need.
  transfer::ResultBatch execute_batch(BatchPlan& plan, const std::vector<pki::Signer*>& signers, pki::Time now,
                            const SignerFor& signer_for);

  // R22 reasons only; refuses certificateHold. Records the revocation and returns the scopes of
  // the lists that must be reissued now (R21).
  std::vector<std::string> revoke(const pki::Serial& serial, pki::ReasonCode reason, pki::Time now,
                                  std::optional<pki::Time> invalidity_date);

  // Every list of every generation whose key may still sign (partitions, ARL, fullCRL).
  std::vector<std::string> all_scopes();
  // The signable lists that carry `record`'s revocation: its partition (or ARL) and the fullCRL
  // of every generation, which are complete for the whole name.
  std::vector<std::string> scopes_covering(const CertificateRecord& record);
  // Signs the named lists with `this_update` (a schedule passes future times) and stores them.
  std::vector<StoredCrl> make_lists(const std::vector<std::string>& scopes, pki::Time this_update,
                                    pki::Time now, const SignerFor& signer_for);

  // R11, R12: a new generation with `new_signer`'s key, its self-signed certificate (same name)
  // and the NewWithOld / OldWithNew link certificates. Returns the three certificates.
  struct Rollover {
    Bytes self_signed, new_with_old, old_with_new;
    int generation = 0;
  };
  Rollover rollover(const std::string& new_key_label, pki::Signer& old_signer, pki::Signer& new_signer,
                    pki::Time now, CryptoPP::RandomNumberGenerator& rng);

  // R25: revoke everything the generation signed with cACompromise and mark its key compromised.
  // Returns the scopes whose final lists must be signed (before the key is refused).
  std::vector<std::string> compromise(int generation, pki::Time now);
  // R26: revoke everything (cessationOfOperation); issuance stops, lists continue.
  std::vector<std::string> terminate(pki::Time now);

  // R13: takes in the certificate a Bridge CA issued for one of our keys. It must name us, carry
  // our key, be a CA certificate and verify with the key of a Bridge CA we cross-certified.
  CrossPair import_cross_certificate(BytesView der, pki::Time now);

  // Warnings for the operator: key life shorter than the longest profile (R11), lists due.
  std::vector<std::string> warnings(pki::Time now);
  // The number the next list of this scope will carry (reads only).
  std::uint64_t next_crl_number(const std::string& scope);

  static std::string scope_name(int generation, const std::string& list);  // "g1-CRL1", "g1-arl"
  // The reverse: throws PolicyError (or std::invalid_argument/out_of_range) for another name.
  struct ScopeParts {
    int generation = 0;
    CaStore::ListKind kind = CaStore::ListKind::kFull;
    std::string partition;
  };
  static ScopeParts parse_scope(const std::string& scope);

 private:
  const Profile& profile(std::string_view name) const { return find_profile(m_profiles, name); }
  std::vector<Bytes> sign_and_check(const std::vector<PlannedCertificate>& plans, const std::vector<pki::Signer*>& signers);
  void record_certificates(const std::vector<PlannedCertificate>& plans, const std::vector<Bytes>& ders, pki::Time now);

  CaStore& m_store;
  std::vector<Profile> m_profiles;
  std::string m_actor = "unidentified operator";
  std::string m_role = "CA administrator";
};

pki::ReasonCode check_revocation_reason(std::string_view name);
// CertificatePair ::= SEQUENCE { issuedToThisCA [0] Certificate OPTIONAL,
//                                issuedByThisCA [1] Certificate OPTIONAL }  (X.509, RFC 4523)
Bytes encode_certificate_pair(const CrossPair& pair);
// Refuses a signer whose public key is not the generation's.
void check_signer_matches(const KeyGeneration& generation, const pki::Signer& signer);

}  // namespace hanko::offline
