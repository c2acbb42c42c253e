// Build + sign + verify a CRL with N entries, signed by an RSA-2048 key in a fresh SoftHSMv2
// token. Prints one line: entries, DER bytes, seconds, peak RSS in MB.
//   bench_crl N
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <cryptopp/osrng.h>

#include "hanko/hsm/module.h"
#include "hanko/hsm/pki_signer.h"
#include "hanko/hsm/session.h"
#include "hanko/pki/certificate.h"
#include "hanko/pki/crl.h"

using namespace hanko;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_crl ENTRIES\n");
    return 2;
  }
  const std::size_t count = std::stoul(argv[1]);
  char tmpl[] = "/tmp/hanko-bench-crl-XXXXXX";
  const std::filesystem::path dir = mkdtemp(tmpl);
  std::filesystem::create_directories(dir / "tokens");
  std::ofstream(dir / "softhsm2.conf") << "directories.tokendir = " << (dir / "tokens").string()
                                       << "\nobjectstore.backend = file\nlog.level = ERROR\n";
  setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
  {
    hsm::Module module;
    const hsm::Secret so("BenchSo1234"), pin("BenchUser1234");
    const CK_SLOT_ID slot = module.init_token(*module.first_free_slot(), so, "bench", pin);
    hsm::Session session(module, slot, true);
    session.login_user(pin);
    const hsm::KeyPair key = session.generate_key_pair(hsm::KeyType::Rsa2048, "crl");
    hsm::PkiSigner signer(session, key, pki::SignatureAlgorithm::kRsaPkcs1Sha256);

    CryptoPP::AutoSeededRandomPool rng;
    pki::CrlTemplate t;
    t.issuer = pki::Name::parse_text("/C=JP/O=Hanko Bench/CN=Bench CA");
    t.this_update = pki::parse_time_text("2026-11-22T00:00:00Z");
    t.next_update = t.this_update + std::chrono::hours(72);
    t.crl_number = 1;
    t.authority_key_id = pki::key_identifier(signer.public_key());
    t.revoked.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      t.revoked.push_back({pki::random_serial(rng), t.this_update - std::chrono::hours(1), std::nullopt, std::nullopt});
    }
    const auto start = std::chrono::steady_clock::now();
    const Bytes der = pki::sign_crl(t, signer);  // builds, signs in the token, re-parses, verifies
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("hanko  entries=%zu bytes=%zu seconds=%.3f peak_rss_mb=%.1f\n", count, der.size(), seconds,
                static_cast<double>(usage.ru_maxrss) / 1024.0);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
