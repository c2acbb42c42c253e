#pragma once
// Erasure code for QR sequences: a systematic random linear fountain code over GF(256).
//
// The message is cut into K source symbols of S bytes (the last one zero padded). Symbol ids
// 0..K-1 are the source symbols themselves; every id >= K is a repair symbol, the GF(256) linear
// combination of all K source symbols with coefficients drawn from a fixed generator seeded by
// (id, K). The code is rateless (ids up to 2^32), so a looping display can show fresh symbols and
// a receiver needs any K linearly independent symbols: with random dense coefficients over GF(256),
// K received symbols fail to rebuild with probability below 1/255, K+2 below 1/255^3. Decoding is
// incremental Gaussian elimination, O(K^2 S) in total, which bounds K (kMaxSymbols).
#include <cstdint>
#include <vector>

#include "hanko/pki/bytes.h"
#include "hanko/transfer/error.h"

namespace hanko::transfer {

inline constexpr std::size_t kMaxSymbols = 4096;
inline constexpr std::size_t kMaxSymbolSize = 4096;

// GF(256) with the polynomial x^8+x^4+x^3+x^2+1 (0x11D).
std::uint8_t gf_mul(std::uint8_t a, std::uint8_t b) noexcept;

// Coefficients of symbol `id` for a message of K symbols (unit vector for a source symbol).
std::vector<std::uint8_t> symbol_coefficients(std::uint32_t id, std::size_t k);

class ErasureEncoder {
 public:
  // Throws TransferError(kLimitExceeded) when the message needs more than kMaxSymbols symbols.
  ErasureEncoder(BytesView message, std::size_t symbol_size);
  std::size_t symbol_count() const noexcept { return m_k; }
  std::size_t symbol_size() const noexcept { return m_s; }
  Bytes symbol(std::uint32_t id) const;

 private:
  std::size_t m_k;
  std::size_t m_s;
  Bytes m_source;  // K*S bytes
};

class ErasureDecoder {
 public:
  // Throws TransferError(kLimitExceeded) for parameters out of limits or inconsistent with each
  // other (declared sizes are checked before anything is allocated).
  ErasureDecoder(std::size_t message_size, std::size_t symbol_count, std::size_t symbol_size);

  // Adds one symbol. Returns true if it raised the rank (it was new information). Symbols of the
  // wrong size are refused with kBadFrame.
  bool add(std::uint32_t id, BytesView symbol);
  std::size_t rank() const noexcept { return m_rank; }
  std::size_t symbol_count() const noexcept { return m_k; }
  bool complete() const noexcept { return m_rank == m_k; }
  // The rebuilt message; kNotEnoughFrames (saying how many more symbols) if not complete.
  Result<Bytes> message() const;

 private:
  std::size_t m_size;
  std::size_t m_k;
  std::size_t m_s;
  std::size_t m_rank = 0;
  // Row r holds a symbol whose coefficient vector has its leading 1 at column r (if m_has[r]).
  std::vector<Bytes> m_coef;
  std::vector<Bytes> m_data;
  std::vector<bool> m_has;
};

}  // namespace hanko::transfer
