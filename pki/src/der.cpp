#include "hanko/pki/der.h"

#include <algorithm>
#include <cstring>

namespace hanko::pki::der {

namespace {

std::string field(std::string_view what) { return std::string(what); }

[[noreturn]] void fail(ErrorId id, std::string_view what, std::string_view detail) {
  throw ParseError(id, field(what) + ": " + std::string(detail));
}

std::string tag_text(Tag tag) {
  return "0x" + to_hex(BytesView(&tag, 1));
}

}  // namespace

bool Reader::peek(Tag tag) const noexcept { return !at_end() && m_data[m_pos] == tag; }

std::optional<Tag> Reader::peek_tag() const noexcept {
  if (at_end()) return std::nullopt;
  return m_data[m_pos];
}

Element Reader::read_any(std::string_view what) {
  const std::size_t start = m_pos;
  if (at_end()) fail(ErrorId::kTruncated, what, "missing (input ends here)");
  const Tag tag = m_data[m_pos++];
  if ((tag & 0x1F) == 0x1F) fail(ErrorId::kHighTagNumber, what, "multi-octet tag numbers are not DER for X.509");
  if (at_end()) fail(ErrorId::kTruncated, what, "truncated before its length");
  const std::uint8_t first = m_data[m_pos++];
  std::size_t length = 0;
  if (first < 0x80) {
    length = first;
  } else if (first == 0x80) {
    fail(ErrorId::kIndefiniteLength, what, "indefinite length (BER) is not allowed in DER");
  } else {
    const std::size_t count = first & 0x7F;
    if (count > 4) fail(ErrorId::kLengthTooLarge, what, "length uses more than 4 octets");
    if (remaining() < count) fail(ErrorId::kTruncated, what, "truncated inside its length");
    if (m_data[m_pos] == 0) fail(ErrorId::kNonMinimalLength, what, "length has a leading zero octet");
    for (std::size_t i = 0; i < count; ++i) length = length << 8 | m_data[m_pos++];
    if (length < 0x80) fail(ErrorId::kNonMinimalLength, what, "long-form length below 128 (DER needs short form)");
  }
  if (remaining() < length) {
    fail(ErrorId::kTruncated, what,
         "content of " + std::to_string(length) + " bytes runs past the end (" +
             std::to_string(remaining()) + " left)");
  }
  Element e;
  e.tag = tag;
  e.content = m_data.subspan(m_pos, length);
  m_pos += length;
  e.whole = m_data.subspan(start, m_pos - start);
  if ((tag & 0x20) == 0 && (tag == kSequence || tag == kSet)) {
    fail(ErrorId::kUnexpectedTag, what, "primitive SEQUENCE/SET");
  }
  return e;
}

Element Reader::read(Tag tag, std::string_view what) {
  if (at_end()) fail(ErrorId::kTruncated, what, "missing (input ends here)");
  if (m_data[m_pos] != tag) {
    fail(ErrorId::kUnexpectedTag, what,
         "expected tag " + tag_text(tag) + ", found " + tag_text(m_data[m_pos]));
  }
  return read_any(what);
}

std::optional<Element> Reader::read_optional(Tag tag, std::string_view what) {
  if (!peek(tag)) return std::nullopt;
  return read_any(what);
}

std::optional<Reader> Reader::enter_optional(Tag tag, std::string_view what) {
  if (!peek(tag)) return std::nullopt;
  return Reader(read_any(what).content);
}

Reader Reader::enter_set_of(Tag tag, std::string_view what) {
  const Element set = read(tag, what);
  Reader members(set.content);
  BytesView previous;
  while (!members.at_end()) {
    const Element e = members.read_any(what);
    if (!previous.empty() &&
        std::lexicographical_compare(e.whole.begin(), e.whole.end(), previous.begin(),
                                     previous.end())) {
      fail(ErrorId::kUnsortedSet, what, "SET OF members are not in DER (ascending) order");
    }
    previous = e.whole;
  }
  return Reader(set.content);
}

BytesView Reader::read_integer(Tag tag, std::string_view what) {
  const BytesView c = read(tag, what).content;
  if (c.empty()) fail(ErrorId::kEmptyInteger, what, "INTEGER has no content");
  if (c.size() > 1 && ((c[0] == 0x00 && (c[1] & 0x80) == 0) || (c[0] == 0xFF && (c[1] & 0x80)))) {
    fail(ErrorId::kNonMinimalInteger, what, "INTEGER is not minimally encoded");
  }
  return c;
}

BytesView Reader::read_positive_integer(Tag tag, std::string_view what) {
  const BytesView c = read_integer(tag, what);
  if (c[0] & 0x80) fail(ErrorId::kNegativeInteger, what, "must be positive, is negative");
  if (c.size() == 1 && c[0] == 0) fail(ErrorId::kNegativeInteger, what, "must be positive, is zero");
  return c;
}

std::int64_t Reader::read_small_integer(std::string_view what) {
  return read_small_integer(kInteger, what);
}

std::int64_t Reader::read_small_integer(Tag tag, std::string_view what) {
  const BytesView c = read_integer(tag, what);
  if (c.size() > 8) fail(ErrorId::kIntegerTooLarge, what, "value too large");
  std::uint64_t v = (c[0] & 0x80) ? ~std::uint64_t{0} : 0;
  for (std::uint8_t b : c) v = v << 8 | b;
  return static_cast<std::int64_t>(v);
}

bool Reader::read_boolean(std::string_view what) {
  const BytesView c = read(kBoolean, what).content;
  if (c.size() != 1 || (c[0] != 0x00 && c[0] != 0xFF)) {
    fail(ErrorId::kBadBoolean, what, "BOOLEAN must be one octet 00 or FF in DER");
  }
  return c[0] == 0xFF;
}

void Reader::read_null(std::string_view what) {
  if (!read(kNull, what).content.empty()) fail(ErrorId::kBadNull, what, "NULL with content");
}

BytesView Reader::read_bit_string_bytes(std::string_view what) {
  const BytesView c = read(kBitString, what).content;
  if (c.empty()) fail(ErrorId::kBadBitString, what, "BIT STRING without unused-bits octet");
  if (c[0] != 0) fail(ErrorId::kBadBitString, what, "BIT STRING must be whole octets here");
  return c.subspan(1);
}

std::uint32_t Reader::read_named_bits_tagged(Tag tag, std::string_view what) {
  const BytesView c = read(tag, what).content;
  if (c.empty()) fail(ErrorId::kBadBitString, what, "BIT STRING without unused-bits octet");
  const unsigned unused = c[0];
  if (unused > 7 || (c.size() == 1 && unused != 0)) {
    fail(ErrorId::kBadBitString, what, "bad unused-bits count");
  }
  if (c.size() > 5) fail(ErrorId::kBadBitString, what, "too many named bits");
  if (c.size() > 1) {
    const std::uint8_t last = c.back();
    if (last & ((1u << unused) - 1)) fail(ErrorId::kBadBitString, what, "unused bits are not zero");
    // DER (X.690 11.2.2): trailing zero bits of a named-bit list are removed.
    if ((last & (1u << unused)) == 0) {
      fail(ErrorId::kBadBitString, what, "named-bit list has trailing zero bits (not DER)");
    }
  }
  std::uint32_t mask = 0;
  for (std::size_t i = 1; i < c.size(); ++i) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      if (c[i] & (0x80u >> bit)) mask |= 1u << ((i - 1) * 8 + bit);
    }
  }
  return mask;
}

void Reader::expect_end(std::string_view what) const {
  if (!at_end()) {
    fail(ErrorId::kTrailingBytes, what,
         std::to_string(remaining()) + " unexpected trailing byte(s)");
  }
}

Element read_single(BytesView data, std::string_view what) {
  Reader r(data);
  Element e = r.read_any(what);
  r.expect_end(what);
  return e;
}

// ---------------------------------------------------------------------------------------------

void Writer::put_header(Tag tag, std::size_t length) {
  m_out.push_back(tag);
  if (length < 0x80) {
    m_out.push_back(static_cast<std::uint8_t>(length));
    return;
  }
  std::uint8_t buf[8];
  int n = 0;
  for (std::size_t l = length; l != 0; l >>= 8) buf[n++] = static_cast<std::uint8_t>(l);
  m_out.push_back(static_cast<std::uint8_t>(0x80 | n));
  while (n > 0) m_out.push_back(buf[--n]);
}

Writer& Writer::constructed(Tag tag, const Body& body) {
  m_out.push_back(tag);
  const std::size_t length_at = m_out.size();
  m_out.push_back(0);  // short-form guess; widened below when the content is long
  body(*this);
  const std::size_t length = m_out.size() - length_at - 1;
  if (length < 0x80) {
    m_out[length_at] = static_cast<std::uint8_t>(length);
    return *this;
  }
  std::uint8_t buf[8];
  int n = 0;
  for (std::size_t l = length; l != 0; l >>= 8) buf[n++] = static_cast<std::uint8_t>(l);
  m_out[length_at] = static_cast<std::uint8_t>(0x80 | n);
  m_out.insert(m_out.begin() + static_cast<std::ptrdiff_t>(length_at) + 1, static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) m_out[length_at + 1 + static_cast<std::size_t>(i)] = buf[n - 1 - i];
  return *this;
}

Writer& Writer::set_of(std::vector<Bytes> members, Tag tag) {
  std::sort(members.begin(), members.end());
  std::size_t length = 0;
  for (const Bytes& m : members) length += m.size();
  put_header(tag, length);
  for (const Bytes& m : members) m_out.insert(m_out.end(), m.begin(), m.end());
  return *this;
}

Writer& Writer::primitive(Tag tag, BytesView content) {
  put_header(tag, content.size());
  m_out.insert(m_out.end(), content.begin(), content.end());
  return *this;
}

Writer& Writer::raw(BytesView der) {
  m_out.insert(m_out.end(), der.begin(), der.end());
  return *this;
}

Writer& Writer::integer(std::int64_t value, Tag tag) {
  std::uint8_t buf[8];
  auto v = static_cast<std::uint64_t>(value);
  for (int i = 7; i >= 0; --i, v >>= 8) buf[i] = static_cast<std::uint8_t>(v);
  int start = 0;
  while (start < 7 && ((buf[start] == 0x00 && !(buf[start + 1] & 0x80)) ||
                       (buf[start] == 0xFF && (buf[start + 1] & 0x80)))) {
    ++start;
  }
  return primitive(tag, BytesView(buf + start, static_cast<std::size_t>(8 - start)));
}

Writer& Writer::unsigned_integer(BytesView magnitude, Tag tag) {
  std::size_t start = 0;
  while (start < magnitude.size() && magnitude[start] == 0) ++start;
  const BytesView digits = magnitude.subspan(start);
  if (digits.empty()) {
    const std::uint8_t zero = 0;
    return primitive(tag, BytesView(&zero, 1));
  }
  const bool pad = digits[0] & 0x80;
  put_header(tag, digits.size() + (pad ? 1 : 0));
  if (pad) m_out.push_back(0);
  m_out.insert(m_out.end(), digits.begin(), digits.end());
  return *this;
}

Writer& Writer::boolean(bool value) {
  const std::uint8_t v = value ? 0xFF : 0x00;
  return primitive(kBoolean, BytesView(&v, 1));
}

Writer& Writer::null() {
  put_header(kNull, 0);
  return *this;
}

Writer& Writer::bit_string(BytesView bytes) {
  put_header(kBitString, bytes.size() + 1);
  m_out.push_back(0);
  m_out.insert(m_out.end(), bytes.begin(), bytes.end());
  return *this;
}

Writer& Writer::named_bits(std::uint32_t mask, Tag tag) {
  // DER: the encoding stops at the last bit that is set (X.690 11.2.2).
  int highest = -1;
  for (int bit = 0; bit < 32; ++bit) {
    if (mask & (1u << bit)) highest = bit;
  }
  if (highest < 0) {
    const std::uint8_t empty = 0;
    return primitive(tag, BytesView(&empty, 1));
  }
  const std::size_t octets = static_cast<std::size_t>(highest / 8 + 1);
  Bytes content(octets + 1, 0);
  content[0] = static_cast<std::uint8_t>(7 - highest % 8);
  for (int bit = 0; bit <= highest; ++bit) {
    if (mask & (1u << bit)) content[1 + static_cast<std::size_t>(bit / 8)] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
  }
  return primitive(tag, content);
}

Writer& Writer::ia5_string(std::string_view s, Tag tag) {
  if (!is_ia5_string(s)) throw BuildError("not an IA5String (ASCII only): " + std::string(s));
  return primitive(tag, view(s));
}

Writer& Writer::printable_string(std::string_view s) {
  if (!is_printable_string(s)) {
    throw BuildError("not a PrintableString (A-Z a-z 0-9 space '()+,-./:=?): " + std::string(s));
  }
  return primitive(kPrintableString, view(s));
}

Bytes encode(const Writer::Body& body) {
  Writer w;
  body(w);
  return std::move(w).take();
}

Bytes encode_sequence(const Writer::Body& body) {
  Writer w;
  w.sequence(body);
  return std::move(w).take();
}

bool is_printable_string(std::string_view s) noexcept {
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    std::strchr(" '()+,-./:=?", c) != nullptr;
    if (!ok || c == '\0') return false;
  }
  return true;
}

bool is_ia5_string(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // sequence cut short
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace hanko::pki::der
