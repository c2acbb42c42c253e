#pragma once
// Errors of the transfer library. Everything read from the other side of the air gap is hostile:
// parsers and importers return a Result with a stable error id and a message a person can act on.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hanko::transfer {

enum class ErrorId {
  kMalformed,           // not the DER grammar of a bundle (truncated, wrong tag, trailing bytes)
  kUnsupportedVersion,  // bundle or frame format version we do not know
  kLimitExceeded,       // a field, count or declared size above its limit
  kBadManifest,         // manifest and parts disagree (count, size, SHA-256, names)
  kUnknownSigner,       // signed by a key that is not trusted
  kBadSignature,        // the signature does not verify
  kWrongDirection,      // a result bundle where a request was expected, or the reverse
  kReplay,              // a bundle id or sequence number already imported
  kOutOfSequence,       // sequence number is not last + 1 (bundles missing)
  kBadFileName,         // file name disagrees with the bundle inside (renamed file)
  kPartialFile,         // an interrupted export (temporary file) or a truncated bundle
  kBadFrame,            // a QR frame whose header or checksum is wrong
  kNotEnoughFrames,     // the frames seen do not yet rebuild the bundle
  kCorruptRebuild,      // the rebuilt bytes do not match the digest the frames announced
  kIo,                  // the file system refused
};

std::string_view error_id_name(ErrorId id);

class TransferError : public std::runtime_error {
 public:
  TransferError(ErrorId id, const std::string& message) : std::runtime_error(message), m_id(id) {}
  ErrorId id() const noexcept { return m_id; }

 private:
  ErrorId m_id;
};

// A value, or an error id and message.
template <class T>
class Result {
 public:
  Result(T value) : m_value(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(ErrorId id, std::string message) : m_error(id), m_message(std::move(message)) {}

  explicit operator bool() const noexcept { return m_value.has_value(); }
  bool ok() const noexcept { return m_value.has_value(); }
  const T& value() const& {
    if (!ok()) throw TransferError(m_error, m_message);
    return *m_value;
  }
  T&& value() && {
    if (!ok()) throw TransferError(m_error, m_message);
    return std::move(*m_value);
  }
  const T* operator->() const { return &value(); }
  const T& operator*() const { return value(); }
  ErrorId error() const noexcept { return m_error; }
  const std::string& message() const noexcept { return m_message; }

 private:
  std::optional<T> m_value;
  ErrorId m_error = ErrorId::kMalformed;
  std::string m_message;
};

// Runs a throwing function and turns TransferError into a Result error.
template <class F>
auto catch_transfer(F&& f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const TransferError& e) {
    return {e.id(), e.what()};
  }
}

}  // namespace hanko::transfer
