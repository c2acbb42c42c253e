#include "hanko/transfer/erasure.h"

#include <algorithm>
#include <array>

namespace hanko::transfer {

namespace {

struct Tables {
  std::array<std::uint8_t, 512> exp{};
  std::array<std::uint8_t, 256> log{};
  std::array<std::uint8_t, 256> inv{};
  // mul[a][b]: a 64 KiB table makes a row operation one lookup per byte.
  std::array<std::array<std::uint8_t, 256>, 256> mul{};

  Tables() {
    unsigned x = 1;
    for (unsigned i = 0; i < 255; ++i) {
      exp[i] = static_cast<std::uint8_t>(x);
      log[x] = static_cast<std::uint8_t>(i);
      x <<= 1;
      if (x & 0x100) x ^= 0x11D;
    }
    for (unsigned i = 255; i < 512; ++i) exp[i] = exp[i - 255];
    for (unsigned a = 1; a < 256; ++a) {
      inv[a] = exp[255 - log[a]];
      for (unsigned b = 1; b < 256; ++b) mul[a][b] = exp[log[a] + log[b]];
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

// dst ^= c * src
void add_scaled(std::uint8_t* dst, const std::uint8_t* src, std::size_t n, std::uint8_t c) noexcept {
  if (c == 0) return;
  if (c == 1) {
    for (std::size_t i = 0; i < n; ++i) dst[i] ^= src[i];
    return;
  }
  const auto& row = tables().mul[c];
  for (std::size_t i = 0; i < n; ++i) dst[i] ^= row[src[i]];
}

void scale(std::uint8_t* dst, std::size_t n, std::uint8_t c) noexcept {
  const auto& row = tables().mul[c];
  for (std::size_t i = 0; i < n; ++i) dst[i] = row[dst[i]];
}

// SplitMix64: small, fast, fully specified; both sides must draw the same coefficients forever.
struct SplitMix {
  std::uint64_t state;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

[[noreturn]] void limit(const std::string& message) { throw TransferError(ErrorId::kLimitExceeded, message); }

}  // namespace

std::uint8_t gf_mul(std::uint8_t a, std::uint8_t b) noexcept { return tables().mul[a][b]; }

std::vector<std::uint8_t> symbol_coefficients(std::uint32_t id, std::size_t k) {
  std::vector<std::uint8_t> c(k, 0);
  if (id < k) {
    c[id] = 1;
    return c;
  }
  SplitMix rng{(static_cast<std::uint64_t>(id) << 32) ^ static_cast<std::uint64_t>(k) ^ 0x68616E6B6F514Bull};
  for (std::size_t i = 0; i < k; i += 8) {
    std::uint64_t v = rng.next();
    for (std::size_t j = i; j < std::min(k, i + 8); ++j, v >>= 8) c[j] = static_cast<std::uint8_t>(v);
  }
  return c;
}

ErasureEncoder::ErasureEncoder(BytesView message, std::size_t symbol_size) : m_s(symbol_size) {
  if (symbol_size == 0 || symbol_size > kMaxSymbolSize) limit("symbol size " + std::to_string(symbol_size) + " is out of range");
  m_k = std::max<std::size_t>(1, (message.size() + m_s - 1) / m_s);
  if (m_k > kMaxSymbols) {
    limit("the message needs " + std::to_string(m_k) + " symbols of " + std::to_string(m_s) + " bytes; at most " +
          std::to_string(kMaxSymbols) + " are allowed");
  }
  m_source.assign(m_k * m_s, 0);
  std::copy(message.begin(), message.end(), m_source.begin());
}

Bytes ErasureEncoder::symbol(std::uint32_t id) const {
  if (id < m_k) return Bytes(m_source.begin() + static_cast<std::ptrdiff_t>(id * m_s), m_source.begin() + static_cast<std::ptrdiff_t>((id + 1) * m_s));
  const auto coef = symbol_coefficients(id, m_k);
  Bytes out(m_s, 0);
  for (std::size_t i = 0; i < m_k; ++i) add_scaled(out.data(), m_source.data() + i * m_s, m_s, coef[i]);
  return out;
}

ErasureDecoder::ErasureDecoder(std::size_t message_size, std::size_t symbol_count, std::size_t symbol_size)
    : m_size(message_size), m_k(symbol_count), m_s(symbol_size) {
  if (m_s == 0 || m_s > kMaxSymbolSize) limit("symbol size " + std::to_string(m_s) + " is out of range");
  if (m_k == 0 || m_k > kMaxSymbols) limit("symbol count " + std::to_string(m_k) + " is out of range (1 to " + std::to_string(kMaxSymbols) + ")");
  // The declared size must be exactly what K symbols of S bytes carry: nothing else is allocated.
  if (m_size > m_k * m_s || (m_k > 1 && m_size <= (m_k - 1) * m_s)) {
    limit("declared size " + std::to_string(m_size) + " does not fit " + std::to_string(m_k) + " symbols of " + std::to_string(m_s) + " bytes");
  }
  m_coef.resize(m_k);
  m_data.resize(m_k);
  m_has.assign(m_k, false);
}

bool ErasureDecoder::add(std::uint32_t id, BytesView symbol) {
  if (symbol.size() != m_s) {
    throw TransferError(ErrorId::kBadFrame, "symbol of " + std::to_string(symbol.size()) + " bytes where " + std::to_string(m_s) + " are expected");
  }
  if (complete()) return false;
  // A source symbol whose row is free goes in without any arithmetic.
  if (id < m_k && !m_has[id]) {
    m_coef[id].assign(m_k, 0);
    m_coef[id][id] = 1;
    m_data[id].assign(symbol.begin(), symbol.end());
    m_has[id] = true;
    ++m_rank;
    return true;
  }
  Bytes coef = symbol_coefficients(id, m_k);
  Bytes data(symbol.begin(), symbol.end());
  // Forward elimination: rows are kept with a leading 1 at their own column, so clearing the
  // columns in ascending order leaves the new row with its first non-zero at a free column.
  for (std::size_t c = 0; c < m_k; ++c) {
    if (coef[c] == 0) continue;
    if (m_has[c]) {
      const std::uint8_t f = coef[c];
      add_scaled(coef.data() + c, m_coef[c].data() + c, m_k - c, f);
      add_scaled(data.data(), m_data[c].data(), m_s, f);
      continue;
    }
    const std::uint8_t inv = tables().inv[coef[c]];
    scale(coef.data() + c, m_k - c, inv);
    scale(data.data(), m_s, inv);
    m_coef[c] = std::move(coef);
    m_data[c] = std::move(data);
    m_has[c] = true;
    ++m_rank;
    return true;
  }
  return false;  // a combination of what we have
}

Result<Bytes> ErasureDecoder::message() const {
  if (!complete()) {
    return {ErrorId::kNotEnoughFrames, "not enough frames: " + std::to_string(m_rank) + " of " + std::to_string(m_k) +
                                           " symbols; at least " + std::to_string(m_k - m_rank) + " more distinct frames are needed"};
  }
  // Back substitution, last row first: row r only has non-zeros at columns >= r.
  std::vector<Bytes> data = m_data;
  for (std::size_t r = m_k; r-- > 0;) {
    const Bytes& coef = m_coef[r];
    for (std::size_t c = r + 1; c < m_k; ++c) add_scaled(data[r].data(), data[c].data(), m_s, coef[c]);
  }
  Bytes out;
  out.reserve(m_k * m_s);
  for (const Bytes& d : data) out.insert(out.end(), d.begin(), d.end());
  out.resize(m_size);
  return out;
}

}  // namespace hanko::transfer
