// Signatures per second through hanko::hsm::Session::sign against a plain C_SignInit/C_Sign loop
// on the same SoftHSMv2 token key, to keep the wrapper's overhead visible (target: within 5%).
// Also measures where large messages are best hashed (token or here), which sets Session's
// 64 KiB switch. Runs on a private temporary token; needs no configuration.
//
//   build/bench/hsm/bench_hsm_sign --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <cryptopp/sha.h>

#include <algorithm>
#include <cstdio>

#include "hanko/hsm/error.h"
#include "hanko/hsm/module.h"
#include "hanko/hsm/session.h"
#include "hanko/hsm/testing/softhsm_sandbox.h"

namespace hanko::hsm {
namespace {

constexpr std::string_view kRsaLabel = "bench-rsa2048";
constexpr std::string_view kEcLabel = "bench-p256";
constexpr std::size_t kUpdatePiece = 1024 * 1024;

Secret user_pin() { return Secret(std::string_view("bench-user-pin")); }

// One token with one RSA-2048 and one P-256 key for the whole run. Destroyed after the
// benchmarks, in reverse order: sessions, module, then the sandbox folder.
struct Token {
  testing::SoftHsmSandbox sandbox;
  Module module;
  CK_SLOT_ID slot = 0;

  Token() {
    slot = module.init_token(module.first_free_slot().value(), Secret(std::string_view("bench-so")),
                             "hanko bench", user_pin());
    Session session(module, slot, true);
    session.login_user(user_pin());
    session.generate_key_pair(KeyType::Rsa2048, kRsaLabel);
    session.generate_key_pair(KeyType::EcP256, kEcLabel);
  }
};
Token* g_token = nullptr;

// Each benchmark thread opens its own logged-in session, as production code must.
struct ThreadSession {
  Session session{g_token->module, g_token->slot, false};
  KeyPair key;
  explicit ThreadSession(std::string_view label) {
    session.login_user(user_pin());
    key = session.key_pair(label);
  }
};

Bytes message_of(std::size_t size) {
  Bytes message(size);
  for (std::size_t i = 0; i < size; ++i) message[i] = static_cast<std::uint8_t>(i * 131 + 17);
  return message;
}

void finish(benchmark::State& state) { state.SetItemsProcessed(state.iterations()); }

// The baseline: exactly the PKCS#11 calls a hand-written signer makes, nothing else.
void raw_sign_loop(benchmark::State& state, std::string_view label, CK_MECHANISM_TYPE type,
                   BytesView input) {
  ThreadSession t(label);
  CK_FUNCTION_LIST_PTR f = g_token->module.functions();
  CK_MECHANISM mechanism{type, nullptr, 0};
  Bytes data(input.begin(), input.end());
  std::uint8_t signature[512];
  for (auto _ : state) {
    CK_ULONG size = sizeof signature;
    if (f->C_SignInit(t.session.handle(), &mechanism, t.key.private_key) != CKR_OK ||
        f->C_Sign(t.session.handle(), data.data(), data.size(), signature, &size) != CKR_OK) {
      state.SkipWithError("raw C_SignInit/C_Sign failed");
      break;
    }
    benchmark::DoNotOptimize(signature);
  }
  finish(state);
}

void hanko_sign_loop(benchmark::State& state, std::string_view label, SignMechanism mechanism,
                     BytesView message) {
  ThreadSession t(label);
  for (auto _ : state) {
    Bytes signature = t.session.sign(t.key, mechanism, message);
    benchmark::DoNotOptimize(signature);
  }
  finish(state);
}

void BM_RsaPkcs1Sha256_Raw(benchmark::State& state) {
  raw_sign_loop(state, kRsaLabel, CKM_SHA256_RSA_PKCS,
                message_of(static_cast<std::size_t>(state.range(0))));
}
void BM_RsaPkcs1Sha256_Hanko(benchmark::State& state) {
  hanko_sign_loop(state, kRsaLabel, SignMechanism::RsaPkcs1Sha256,
                  message_of(static_cast<std::size_t>(state.range(0))));
}

// Raw signs a ready 32-byte digest; hanko hashes a 100-byte message, signs and converts to DER:
// the whole job a caller gets from Session::sign.
void BM_EcdsaP256_Raw(benchmark::State& state) {
  raw_sign_loop(state, kEcLabel, CKM_ECDSA, message_of(32));
}
void BM_EcdsaP256Sha256_Hanko(benchmark::State& state) {
  hanko_sign_loop(state, kEcLabel, SignMechanism::EcdsaSha256, message_of(100));
}

BENCHMARK(BM_RsaPkcs1Sha256_Raw)->Arg(32)->Arg(100)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_RsaPkcs1Sha256_Hanko)->Arg(32)->Arg(100)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_EcdsaP256_Raw)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_EcdsaP256Sha256_Hanko)->Threads(1)->Threads(2)->UseRealTime();

// Large messages (a big CRL): where should the hashing happen?
// TokenHash: one C_Sign with CKM_SHA256_RSA_PKCS over the whole message.
void BM_RsaLarge_TokenHash(benchmark::State& state) {
  raw_sign_loop(state, kRsaLabel, CKM_SHA256_RSA_PKCS,
                message_of(static_cast<std::size_t>(state.range(0))));
}

// TokenUpdate: C_SignUpdate in 1 MiB pieces, then C_SignFinal.
void BM_RsaLarge_TokenUpdate(benchmark::State& state) {
  ThreadSession t(kRsaLabel);
  CK_FUNCTION_LIST_PTR f = g_token->module.functions();
  CK_MECHANISM mechanism{CKM_SHA256_RSA_PKCS, nullptr, 0};
  Bytes message = message_of(static_cast<std::size_t>(state.range(0)));
  std::uint8_t signature[512];
  for (auto _ : state) {
    CK_RV rv = f->C_SignInit(t.session.handle(), &mechanism, t.key.private_key);
    for (std::size_t at = 0; rv == CKR_OK && at < message.size(); at += kUpdatePiece) {
      rv = f->C_SignUpdate(t.session.handle(), message.data() + at,
                           std::min(kUpdatePiece, message.size() - at));
    }
    CK_ULONG size = sizeof signature;
    if (rv != CKR_OK || f->C_SignFinal(t.session.handle(), signature, &size) != CKR_OK) {
      state.SkipWithError("C_SignUpdate/C_SignFinal failed");
      break;
    }
  }
  finish(state);
}

// LocalHash: SHA-256 with Crypto++ here, the DigestInfo signed with CKM_RSA_PKCS by the token.
void BM_RsaLarge_LocalHash(benchmark::State& state) {
  ThreadSession t(kRsaLabel);
  const Bytes message = message_of(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    Bytes digest(CryptoPP::SHA256::DIGESTSIZE);
    CryptoPP::SHA256().CalculateDigest(digest.data(), message.data(), message.size());
    Bytes signature = t.session.sign_digest(t.key, SignMechanism::RsaPkcs1Sha256, digest);
    benchmark::DoNotOptimize(signature);
  }
  finish(state);
}

constexpr std::int64_t kKiB = 1024;
BENCHMARK(BM_RsaLarge_TokenHash)
    ->Arg(16 * kKiB)
    ->Arg(64 * kKiB)
    ->Arg(1024 * kKiB)
    ->Arg(35 * 1024 * kKiB)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_RsaLarge_TokenUpdate)
    ->Arg(35 * 1024 * kKiB)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_RsaLarge_LocalHash)
    ->Arg(16 * kKiB)
    ->Arg(64 * kKiB)
    ->Arg(1024 * kKiB)
    ->Arg(35 * 1024 * kKiB)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace hanko::hsm

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    hanko::hsm::Token token;
    hanko::hsm::g_token = &token;
    benchmark::RunSpecifiedBenchmarks();
    hanko::hsm::g_token = nullptr;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_hsm_sign: %s\n", error.what());
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
