#pragma once
// Strict DER: a reader that refuses everything BER allows and DER does not, and a writer that
// only produces DER (minimal lengths and integers, sorted SET OF).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hanko/pki/bytes.h"
#include "hanko/pki/error.h"

namespace hanko::pki::der {

// Single-octet tags: X.509 uses no tag number above 30.
using Tag = std::uint8_t;
inline constexpr Tag kBoolean = 0x01;
inline constexpr Tag kInteger = 0x02;
inline constexpr Tag kBitString = 0x03;
inline constexpr Tag kOctetString = 0x04;
inline constexpr Tag kNull = 0x05;
inline constexpr Tag kOid = 0x06;
inline constexpr Tag kEnumerated = 0x0A;
inline constexpr Tag kUtf8String = 0x0C;
inline constexpr Tag kPrintableString = 0x13;
inline constexpr Tag kTeletexString = 0x14;
inline constexpr Tag kIa5String = 0x16;
inline constexpr Tag kUtcTime = 0x17;
inline constexpr Tag kGeneralizedTime = 0x18;
inline constexpr Tag kUniversalString = 0x1C;
inline constexpr Tag kBmpString = 0x1E;
inline constexpr Tag kSequence = 0x30;
inline constexpr Tag kSet = 0x31;

inline constexpr Tag context(unsigned number) { return static_cast<Tag>(0x80 | number); }
inline constexpr Tag context_constructed(unsigned number) {
  return static_cast<Tag>(0xA0 | number);
}

// One element as it stands in the input.
struct Element {
  Tag tag = 0;
  BytesView content;  // the value octets
  BytesView whole;    // tag + length + value
};

// Reads DER from a non-owning view. Every read checks the grammar and throws ParseError with an
// id and a message naming `what` (the field being read) so errors point at the culprit.
class Reader {
 public:
  explicit Reader(BytesView data) : m_data(data) {}

  bool at_end() const noexcept { return m_pos == m_data.size(); }
  bool peek(Tag tag) const noexcept;
  std::optional<Tag> peek_tag() const noexcept;
  std::size_t remaining() const noexcept { return m_data.size() - m_pos; }

  Element read_any(std::string_view what);
  Element read(Tag tag, std::string_view what);
  std::optional<Element> read_optional(Tag tag, std::string_view what);

  Reader enter(Tag tag, std::string_view what) { return Reader(read(tag, what).content); }
  std::optional<Reader> enter_optional(Tag tag, std::string_view what);
  Reader enter_sequence(std::string_view what) { return enter(kSequence, what); }
  // Enters a SET OF and checks that its elements are in DER order.
  Reader enter_set_of(std::string_view what) { return enter_set_of(kSet, what); }
  Reader enter_set_of(Tag tag, std::string_view what);

  // Integers. `read_integer` returns the two's-complement content after checking minimality.
  BytesView read_integer(std::string_view what) { return read_integer(kInteger, what); }
  BytesView read_integer(Tag tag, std::string_view what);
  BytesView read_positive_integer(std::string_view what) { return read_positive_integer(kInteger, what); }
  BytesView read_positive_integer(Tag tag, std::string_view what);  // > 0
  std::int64_t read_small_integer(std::string_view what);  // fits int64
  std::int64_t read_small_integer(Tag tag, std::string_view what);
  bool read_boolean(std::string_view what);
  void read_null(std::string_view what);
  // Returns the content of a BIT STRING that must have no unused bits.
  BytesView read_bit_string_bytes(std::string_view what);
  // Returns a named-bit BIT STRING (DER: trailing zero bits removed) as a bit mask, bit 0 first.
  std::uint32_t read_named_bits(std::string_view what) { return read_named_bits_tagged(kBitString, what); }
  std::uint32_t read_named_bits_tagged(Tag tag, std::string_view what);
  BytesView read_octet_string(std::string_view what) { return read(kOctetString, what).content; }

  void expect_end(std::string_view what) const;

 private:
  BytesView m_data;
  std::size_t m_pos = 0;
};

// Checks a complete DER element with no trailing bytes and returns it.
Element read_single(BytesView data, std::string_view what);

// Builds DER into a growing buffer. Constructed elements take a callback that writes their
// content; the length is filled in afterwards.
class Writer {
 public:
  using Body = std::function<void(Writer&)>;

  Writer() = default;
  explicit Writer(std::size_t reserve) { m_out.reserve(reserve); }

  Writer& constructed(Tag tag, const Body& body);
  Writer& sequence(const Body& body) { return constructed(kSequence, body); }
  Writer& explicit_tag(unsigned number, const Body& body) {
    return constructed(context_constructed(number), body);
  }
  // SET OF: members are encoded separately and written in ascending order of their encodings.
  Writer& set_of(std::vector<Bytes> members, Tag tag = kSet);

  Writer& primitive(Tag tag, BytesView content);
  Writer& raw(BytesView der);  // an already encoded element, copied verbatim

  Writer& integer(std::int64_t value, Tag tag = kInteger);
  // A non-negative integer given as unsigned big-endian magnitude (leading zeros allowed).
  Writer& unsigned_integer(BytesView magnitude, Tag tag = kInteger);
  Writer& boolean(bool value);
  Writer& null();
  Writer& octet_string(BytesView content) { return primitive(kOctetString, content); }
  Writer& bit_string(BytesView bytes);  // no unused bits
  Writer& named_bits(std::uint32_t mask, Tag tag = kBitString);
  Writer& utf8_string(std::string_view s) { return primitive(kUtf8String, view(s)); }
  Writer& ia5_string(std::string_view s, Tag tag = kIa5String);
  Writer& printable_string(std::string_view s);

  const Bytes& bytes() const& noexcept { return m_out; }
  Bytes&& take() && noexcept { return std::move(m_out); }
  Bytes take() & { return std::move(m_out); }
  std::size_t size() const noexcept { return m_out.size(); }

 private:
  void put_header(Tag tag, std::size_t length);
  Bytes m_out;
};

// Convenience: encode one element with a body.
Bytes encode(const Writer::Body& body);
Bytes encode_sequence(const Writer::Body& body);

bool is_printable_string(std::string_view s) noexcept;
bool is_ia5_string(std::string_view s) noexcept;
bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace hanko::pki::der
