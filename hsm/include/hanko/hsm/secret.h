#pragma once
// PINs and other secrets: held in memory that is wiped when released, never in std::string.
// Secrets come from a file descriptor or the terminal, never from argv or the environment,
// where other users can read them (ps, /proc/<pid>/environ).
#include <cryptopp/secblock.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hanko/pki/bytes.h"

namespace hanko::hsm {

// Longest secret accepted from a descriptor or the terminal.
inline constexpr std::size_t kMaxSecretSize = 256;

// Move-only owner of secret bytes, zeroised on destruction. Deliberately has no operator<< and no
// conversion to a string, so a PIN cannot end up in a log line by accident.
class Secret {
 public:
  Secret() = default;
  explicit Secret(BytesView bytes);
  // For tests and fixed demo PINs; real PINs come from read_secret_from_fd or prompt_secret.
  explicit Secret(std::string_view text);

  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  ~Secret() = default;  // SecByteBlock wipes its memory

  const std::uint8_t* data() const noexcept { return m_bytes.data(); }
  std::size_t size() const noexcept { return m_bytes.size(); }
  bool empty() const noexcept { return m_bytes.empty(); }
  BytesView view() const noexcept { return {m_bytes.data(), m_bytes.size()}; }

 private:
  CryptoPP::SecByteBlock m_bytes;
};

// Reads one secret from fd: up to EOF or the first newline, without the newline ("\n" or "\r\n").
// Reads byte by byte so the rest of a pipe stays for the next secret (SO PIN, then user PIN).
// Does not close fd. Throws Error(Reason::SecretInput) if the secret is empty or over
// kMaxSecretSize bytes, or if reading fails.
Secret read_secret_from_fd(int fd);

// Asks on /dev/tty with echo off; the terminal settings are restored even when reading fails.
// Throws Error(Reason::SecretInput) when there is no terminal.
Secret prompt_secret(std::string_view prompt);
// For a new PIN or passphrase: asks twice and returns it when both entries agree; three
// disagreements throw Error(Reason::SecretInput).
Secret prompt_new_secret(std::string_view prompt);

}  // namespace hanko::hsm
