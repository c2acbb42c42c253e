#pragma once
// Errors of the pki library. Parsers report an ErrorId (stable, listed in tests) and a message a
// person can act on; builders throw BuildError.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hanko::pki {

enum class ErrorId {
  kTruncated,             // content runs past the end of its container
  kIndefiniteLength,      // BER indefinite length (0x80)
  kNonMinimalLength,      // long form where short would do, or leading zero length octets
  kLengthTooLarge,        // more than 4 length octets
  kHighTagNumber,         // multi-byte tag numbers are never used by X.509
  kUnexpectedTag,         // a different element stands where the grammar wants another
  kTrailingBytes,         // bytes left after the outermost element or inside a container
  kNonMinimalInteger,     // leading 0x00 or 0xFF octet in an INTEGER
  kNegativeInteger,       // a negative value where only positive ones are allowed
  kEmptyInteger,          // INTEGER with no content octets
  kIntegerTooLarge,       // does not fit the field (serial > 20 octets, version > 2 ...)
  kBadBoolean,            // BOOLEAN content other than 00 or FF
  kExplicitDefault,       // a DEFAULT value written out (DER forbids it)
  kBadBitString,          // unused-bit count wrong or unused bits not zero
  kBadOid,                // malformed OBJECT IDENTIFIER
  kBadString,             // string content not valid for its type (UTF-8, Printable, IA5)
  kBadTime,               // malformed UTCTime or GeneralizedTime, or the wrong one for the year
  kUnsortedSet,           // SET OF elements not in DER order
  kEmptySequence,         // SEQUENCE SIZE (1..MAX) left empty
  kBadNull,               // NULL with content
  kUnsupportedVersion,    // version other than the ones we accept
  kUnsupportedAlgorithm,  // signature or key algorithm we do not accept
  kBadAlgorithmParameters,
  kBadPublicKey,          // key does not decode or fails validation
  kWeakKey,               // key smaller than allowed
  kBadSignature,          // signature does not verify
  kAlgorithmMismatch,     // outer and inner signature algorithm differ
  kDuplicateExtension,
  kBadExtension,          // extension value does not match its grammar
  kUnknownCriticalExtension,
  kBadName,
  kBadCrl,
};

std::string_view error_id_name(ErrorId id);

class ParseError : public std::runtime_error {
 public:
  ParseError(ErrorId id, const std::string& message)
      : std::runtime_error(message), m_id(id) {}
  ErrorId id() const noexcept { return m_id; }

 private:
  ErrorId m_id;
};

class BuildError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The result of parsing untrusted bytes: a value, or an error id and message.
template <class T>
class Parsed {
 public:
  Parsed(T value) : m_value(std::move(value)) {}  // NOLINT: implicit on purpose
  Parsed(ErrorId id, std::string message) : m_error(id), m_message(std::move(message)) {}

  explicit operator bool() const noexcept { return m_ok(); }
  bool ok() const noexcept { return m_ok(); }
  const T& value() const& {
    if (!m_ok()) throw ParseError(m_error, m_message);
    return *m_value;
  }
  T&& value() && {
    if (!m_ok()) throw ParseError(m_error, m_message);
    return std::move(*m_value);
  }
  const T* operator->() const { return &value(); }
  const T& operator*() const { return value(); }
  ErrorId error() const noexcept { return m_error; }
  const std::string& message() const noexcept { return m_message; }

 private:
  bool m_ok() const noexcept { return m_value.has_value(); }
  std::optional<T> m_value;
  ErrorId m_error = ErrorId::kTruncated;
  std::string m_message;
};

// Runs a throwing parser and turns ParseError into a Parsed error.
template <class F>
auto catch_parse(F&& parse) -> Parsed<decltype(parse())> {
  try {
    return parse();
  } catch (const ParseError& e) {
    return {e.id(), e.what()};
  }
}

}  // namespace hanko::pki
