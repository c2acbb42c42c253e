#include "hanko/hsm/secret.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "hanko/hsm/error.h"

namespace hanko::hsm {

Secret::Secret(BytesView bytes) : m_bytes(bytes.data(), bytes.size()) {}

Secret::Secret(std::string_view text) : Secret(hanko::view(text)) {}

Secret::Secret(Secret&& other) noexcept { m_bytes.swap(other.m_bytes); }

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    m_bytes.swap(other.m_bytes);
    other.m_bytes.CleanNew(0);  // wipes what we held before
  }
  return *this;
}

Secret read_secret_from_fd(int fd) {
  // One byte more than allowed, to tell "exactly at the limit" from "too long".
  CryptoPP::SecByteBlock buffer(kMaxSecretSize + 1);
  std::size_t size = 0;
  bool newline = false;
  while (size < buffer.size()) {
    std::uint8_t byte = 0;
    const ssize_t n = ::read(fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw Error(Reason::SecretInput, "cannot read the secret from file descriptor " +
                                           std::to_string(fd) + ": " + std::strerror(errno) +
                                           "; check that the descriptor is open for reading");
    }
    if (n == 0) break;
    if (byte == '\n') {
      newline = true;
      break;
    }
    buffer[size++] = byte;
    byte = 0;
  }
  if (newline && size > 0 && buffer[size - 1] == '\r') --size;
  if (size > kMaxSecretSize) {
    throw Error(Reason::SecretInput, "the secret on file descriptor " + std::to_string(fd) +
                                         " is longer than " + std::to_string(kMaxSecretSize) +
                                         " bytes; pass only the PIN, one per line");
  }
  if (size == 0) {
    throw Error(Reason::SecretInput, "the secret on file descriptor " + std::to_string(fd) +
                                         " is empty; write the PIN followed by a newline");
  }
  return Secret(BytesView(buffer.data(), size));
}

namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : m_fd(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() noexcept {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const noexcept { return m_fd; }

 private:
  int m_fd;
};

// Turns echo off for its lifetime, so an exception while reading cannot leave the terminal mute.
class EchoOff {
 public:
  explicit EchoOff(int fd) : m_fd(fd) {
    m_active = ::tcgetattr(fd, &m_saved) == 0;
    if (!m_active) return;
    termios quiet = m_saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the user still sees the line end
    m_active = ::tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    if (!m_active) {
      throw Error(Reason::SecretInput, std::string("cannot turn terminal echo off: ") +
                                           std::strerror(errno) +
                                           "; pass the secret through a file descriptor instead");
    }
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  ~EchoOff() noexcept {
    if (m_active) ::tcsetattr(m_fd, TCSAFLUSH, &m_saved);
  }

 private:
  int m_fd;
  termios m_saved{};
  bool m_active = false;
};

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the prompt is a courtesy; reading decides success
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

Secret prompt_secret(std::string_view prompt) {
  const FileDescriptor tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (tty.get() < 0) {
    throw Error(Reason::SecretInput,
                "cannot open /dev/tty to ask for '" + std::string(prompt) +
                    "': " + std::strerror(errno) +
                    "; run from a terminal or pass the secret through a file descriptor");
  }
  write_all(tty.get(), prompt);
  const EchoOff echo_off(tty.get());
  return read_secret_from_fd(tty.get());
}

Secret prompt_new_secret(std::string_view prompt) {
  std::string ask(prompt);
  for (int attempt = 0; attempt < 3; ++attempt) {
    Secret first = prompt_secret(ask);
    const Secret again = prompt_secret("Again, to confirm: ");
    const BytesView a = first.view(), b = again.view();
    if (a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin())) return first;
    ask = "The two entries differ. " + std::string(prompt);
  }
  throw Error(Reason::SecretInput, "the two entries of '" + std::string(prompt) + "' differed three times; nothing was changed");
}

}  // namespace hanko::hsm
