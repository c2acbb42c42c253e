// Signer benchmarks with the CA key (RSA-2048) in a fresh SoftHSMv2 token.
//   bench_ca issue N SESSIONS   issue N certificates through Ca::issue with SESSIONS token sessions,
//                               against a raw C_SignInit/C_Sign loop on the same key in the same run
//   bench_ca crl N              a fullCRL of N revoked certificates read from the CA database
//   bench_ca audit N            verify an audit log of N entries (hash chain and checkpoints)
// Prints one line of key=value figures; peak_rss_mb is the whole process.
#include <sys/resource.h>

#include <cryptopp/eccrypto.h>
#include <cryptopp/oids.h>
#include <cryptopp/osrng.h>
#include <cryptopp/queue.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "hanko/hsm/pki_signer.h"
#include "hanko/hsm/testing/softhsm_sandbox.h"
#include "hanko/offline/ca.h"
#include "hanko/offline/database_key.h"

using namespace hanko;
using Clock = std::chrono::steady_clock;

namespace {

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Raw PKCS#11 signatures per second on the same key: one session per thread, 2 seconds.
double raw_rate(hsm::Module& module, CK_SLOT_ID slot, const std::string& label, int threads) {
  std::atomic<long> count{0};
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      hsm::Session session(module, slot, false);
      const hsm::KeyPair key = session.key_pair(label);
      CK_FUNCTION_LIST_PTR f = module.functions();
      CK_MECHANISM mechanism{CKM_SHA256_RSA_PKCS, nullptr, 0};
      std::uint8_t data[600] = {1};  // about the size of a TBSCertificate
      std::uint8_t signature[512];
      long local = 0;
      while (Clock::now() < deadline) {
        CK_ULONG length = sizeof signature;
        f->C_SignInit(session.handle(), &mechanism, key.private_key);
        f->C_Sign(session.handle(), data, sizeof data, signature, &length);
        ++local;
      }
      count += local;
    });
  }
  for (auto& w : workers) w.join();
  return static_cast<double>(count) / 2.0;
}

pki::CertificationRequest synthetic_request(int i, const std::vector<pki::PublicKey>& keys) {
  pki::CertificationRequest r;
  r.subject = pki::Name::build({{pki::oid::kCountryName, "JP"}, {pki::oid::kCommonName, "利用者" + std::to_string(i)}});
  r.public_key = keys[static_cast<std::size_t>(i) % keys.size()];
  r.signature_algorithm = pki::SignatureAlgorithm::kEcdsaSha256;
  return r;
}

std::vector<pki::PublicKey> subscriber_keys(int count) {
  CryptoPP::AutoSeededRandomPool rng;
  std::vector<pki::PublicKey> out;
  for (int i = 0; i < count; ++i) {
    CryptoPP::ECDSA<CryptoPP::ECP, CryptoPP::SHA256>::PrivateKey k;
    k.Initialize(rng, CryptoPP::ASN1::secp256r1());
    CryptoPP::ECDSA<CryptoPP::ECP, CryptoPP::SHA256>::PublicKey p;
    k.MakePublicKey(p);
    p.AccessGroupParameters().SetEncodeAsOID(true);
    CryptoPP::ByteQueue q;
    p.DEREncode(q);
    Bytes der(q.CurrentSize());
    q.Get(der.data(), der.size());
    out.push_back(pki::parse_public_key(der));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_ca issue N SESSIONS | bench_ca crl N | bench_ca audit N, each [encrypted] (R42)\n");
    return 2;
  }
  const std::string mode = argv[1];
  const int n = std::stoi(argv[2]);
  const bool encrypted = std::string(argv[argc - 1]) == "encrypted";  // or "plain"
  const char* const db_kind = encrypted ? "encrypted-db" : "plain-db";
  const int sessions = argc > 3 && std::isdigit(static_cast<unsigned char>(argv[3][0])) ? std::stoi(argv[3]) : 1;
  hsm::testing::SoftHsmSandbox sandbox;
  const std::filesystem::path state = sandbox.directory() / "ca";
  {
    hsm::Module module;
    const hsm::Secret so("BenchSo1234"), pin("BenchUser1234");
    const CK_SLOT_ID slot = module.init_token(*module.first_free_slot(), so, "bench", pin);
    hsm::Session session(module, slot, true);
    session.login_user(pin);
    const hsm::KeyPair key = session.generate_key_pair(hsm::KeyType::Rsa2048, "ca");
    hsm::PkiSigner signer(session, key, pki::SignatureAlgorithm::kRsaPkcs1Sha256);
    CryptoPP::AutoSeededRandomPool rng;
    const pki::Time now = pki::parse_time_text("2026-11-22T00:00:00Z");

    offline::CaConfig config;
    config.module = module.path();
    config.token = "bench";
    config.crl_urls = {"http://127.0.0.1:8080/{scope}.crl"};
    if (encrypted) {
      config.database_key = "ca-database";
      offline::create_database_token_key(session, config.database_key);
      offline::DatabaseKeys::remember(config, offline::database_key(session, config.database_key));
    }
    offline::KeyGeneration g;
    g.number = 1;
    g.key_label = "ca";
    g.algorithm = signer.algorithm();
    g.created = now;
    const pki::CertificateTemplate t = offline::self_signed_template(
        pki::Name::parse_text("/C=JP/O=Hanko Bench/CN=Bench CA"), signer.public_key(), now, pki::add_years(now, 10), rng);
    g.certificate = pki::sign_certificate(t, signer);
    offline::CertificateRecord self;
    self.serial = t.serial;
    self.generation = 1;
    self.kind = offline::CertificateKind::kSelfSigned;
    self.subject = t.subject.to_string();
    self.subject_der = t.subject.der();
    self.not_before = t.not_before;
    self.not_after = t.not_after;
    self.der = g.certificate;
    offline::CaStore::create(state, config, g, self, now);
    offline::CaStore store(state);
    offline::Ca ca(store, offline::parse_profiles(offline::default_profiles_text()));

    if (mode == "audit") {
      // N audit entries, then one full verification (hash chain + checkpoint signatures).
      offline::AuditLog& log = store.audit();
      const auto fill_start = Clock::now();
      {
        sql::Transaction txn(store.db());
        for (int i = 0; i < n; ++i) {
          log.append({"certificate.issue", "success", "bench", "CA administrator", "serial " + std::to_string(i)}, now);
          if (i % 100000 == 99999) log.checkpoint(signer, now);
        }
        txn.commit();
      }
      const double fill = seconds_since(fill_start);
      const auto start = Clock::now();
      const auto v = log.verify(signer.public_key());
      const double seconds = seconds_since(start);
      std::printf("%s audit entries=%lld append_s=%.2f verify_s=%.3f entries_per_s=%.0f ok=%d peak_rss_mb=%.1f\n",
                  db_kind, static_cast<long long>(v.entries), fill, seconds, static_cast<double>(v.entries) / seconds, v.ok ? 1 : 0, peak_rss_mb());
    } else if (mode == "issue") {
      const double raw = raw_rate(module, slot, "ca", sessions);
      const std::vector<pki::PublicKey> keys = subscriber_keys(16);
      std::vector<offline::PlannedCertificate> plans;
      plans.reserve(static_cast<std::size_t>(n));
      std::map<std::string, int> partitions;
      const auto plan_start = Clock::now();
      for (int i = 0; i < n; ++i) {
        offline::IssueRequest r;
        r.csr = synthetic_request(i, keys);
        r.profile = "ocsp-responder";  // no subject data needed; same signing work
        plans.push_back(ca.plan(r, now, rng, {}, partitions));
        ++partitions[plans.back().record.partition];
      }
      const double plan_seconds = seconds_since(plan_start);
      std::vector<std::unique_ptr<hsm::Session>> extra;
      std::vector<std::unique_ptr<hsm::PkiSigner>> extra_signers;
      std::vector<pki::Signer*> signers{&signer};
      for (int s = 1; s < sessions; ++s) {
        extra.push_back(std::make_unique<hsm::Session>(module, slot, false));
        extra_signers.push_back(std::make_unique<hsm::PkiSigner>(*extra.back(), extra.back()->key_pair("ca"), signer.algorithm()));
        signers.push_back(extra_signers.back().get());
      }
      const auto start = Clock::now();
      const auto ders = ca.issue(plans, signers, now);
      const double seconds = seconds_since(start);
      const double rate = n / seconds;
      std::printf("%s issue certificates=%d sessions=%d plan_s=%.2f issue_s=%.2f certs_per_s=%.0f raw_sign_per_s=%.0f fraction=%.2f peak_rss_mb=%.1f\n",
                  db_kind, n, sessions, plan_seconds, seconds, rate, raw, rate / raw, peak_rss_mb());
    } else {
      // N revoked subscriber certificates straight into the database (their DER is not needed
      // for a list), then one fullCRL read back from it.
      {
        sql::Transaction txn(store.db());
        sql::Statement insert = store.db().prepare(
            "INSERT INTO certificates VALUES (?1, 1, 'subscriber', 'p', 's', x'00', ?2, ?3, 'CRL1', x'00', 'bench', '', '', ?4, 1, NULL)");
        for (int i = 0; i < n; ++i) {
          const pki::Serial serial = pki::random_serial(rng);
          insert.bind(1, serial.magnitude())
              .bind(2, now.time_since_epoch().count())
              .bind(3, pki::add_years(now, 3).time_since_epoch().count())
              .bind(4, now.time_since_epoch().count())
              .run();
        }
        txn.commit();
      }
      const double rss_before = peak_rss_mb();
      offline::SignerFor signer_for = [&](const offline::KeyGeneration&) -> pki::Signer& { return signer; };
      const auto start = Clock::now();
      const auto lists = ca.make_lists({"g1-full"}, now, now, signer_for);
      const double seconds = seconds_since(start);
      std::printf("%s fullcrl entries=%d bytes=%zu seconds=%.3f peak_rss_mb=%.1f (before the list: %.1f)\n", db_kind, n,
                  lists.front().der.size(), seconds, peak_rss_mb(), rss_before);
    }
  }
  return 0;
}
