#include <gtest/gtest.h>

#include "hanko/pki/der.h"
#include "hanko/pki/extensions.h"
#include "hanko/pki/oid.h"

using namespace hanko;
using namespace hanko::pki;

namespace {

ErrorId error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ParseError& e) {
    return e.id();
  }
  ADD_FAILURE() << "no ParseError";
  return ErrorId::kBadCrl;
}

ErrorId read_error(const std::string& hex) {
  const Bytes b = from_hex(hex);
  return error_of([&] { der::read_single(b, "test"); });
}

}  // namespace

// One vector per rejected encoding (tests/data/der/README lists them too).
TEST(DerReader, RejectsIndefiniteLength) { EXPECT_EQ(read_error("3080020101 0000"), ErrorId::kIndefiniteLength); }
TEST(DerReader, RejectsNonMinimalLongForm) { EXPECT_EQ(read_error("30 81 03 020101"), ErrorId::kNonMinimalLength); }
TEST(DerReader, RejectsLeadingZeroLength) { EXPECT_EQ(read_error("30 82 0003 020101"), ErrorId::kNonMinimalLength); }
TEST(DerReader, RejectsTruncatedContent) { EXPECT_EQ(read_error("30 05 020101"), ErrorId::kTruncated); }
TEST(DerReader, RejectsTruncatedLength) { EXPECT_EQ(read_error("30 82 01"), ErrorId::kTruncated); }
TEST(DerReader, RejectsEmptyInput) { EXPECT_EQ(read_error(""), ErrorId::kTruncated); }
TEST(DerReader, RejectsTrailingBytes) { EXPECT_EQ(read_error("3003020101 00"), ErrorId::kTrailingBytes); }
TEST(DerReader, RejectsHugeLength) { EXPECT_EQ(read_error("30 85 0100000000"), ErrorId::kLengthTooLarge); }
TEST(DerReader, RejectsHighTagNumber) { EXPECT_EQ(read_error("1F 81 00 00"), ErrorId::kHighTagNumber); }

TEST(DerReader, RejectsNonMinimalIntegers) {
  for (const char* hex : {"02020001", "0202FF80", "0200"}) {
    const Bytes b = from_hex(hex);
    der::Reader r(b);
    const ErrorId id = error_of([&] { r.read_integer("i"); });
    EXPECT_TRUE(id == ErrorId::kNonMinimalInteger || id == ErrorId::kEmptyInteger) << hex;
  }
  const Bytes ok = from_hex("02020080");
  der::Reader r(ok);
  EXPECT_EQ(r.read_integer("i").size(), 2u);
}

TEST(DerReader, RejectsBerBooleans) {
  const Bytes b = from_hex("010101");
  der::Reader r(b);
  EXPECT_EQ(error_of([&] { r.read_boolean("b"); }), ErrorId::kBadBoolean);
}

TEST(DerReader, RejectsUnsortedSet) {
  const Bytes b = from_hex("3106 020102 020101");
  der::Reader r(b);
  EXPECT_EQ(error_of([&] { r.enter_set_of("s"); }), ErrorId::kUnsortedSet);
  const Bytes sorted = from_hex("3106 020101 020102");
  der::Reader r2(sorted);
  EXPECT_NO_THROW(r2.enter_set_of("s"));
}

TEST(DerReader, RejectsNamedBitsWithTrailingZeros) {
  // keyUsage digitalSignature encoded with a whole zero octet after it.
  const Bytes b = from_hex("0303008000");
  der::Reader r(b);
  EXPECT_EQ(error_of([&] { r.read_named_bits("ku"); }), ErrorId::kBadBitString);
  const Bytes good = from_hex("03020780");
  der::Reader r2(good);
  EXPECT_EQ(r2.read_named_bits("ku"), 1u);
}

TEST(DerReader, RejectsBadOids) {
  for (const char* hex : {"0600", "06028001", "060181"}) {
    const Bytes b = from_hex(hex);
    der::Reader r(b);
    EXPECT_EQ(error_of([&] { Oid::read(r, "oid"); }), ErrorId::kBadOid) << hex;
  }
}

TEST(DerWriter, WritesMinimalLengthsAndIntegers) {
  der::Writer w;
  w.sequence([](der::Writer& s) {
    s.integer(0);
    s.integer(127);
    s.integer(128);
    s.integer(-1);
    s.integer(-129);
  });
  EXPECT_EQ(to_hex(w.bytes()), "301102010002017F02020080" "0201FF0202FF7F");
}

TEST(DerWriter, LongContentUsesLongFormLength) {
  const Bytes content(300, 0xAB);
  der::Writer w;
  w.sequence([&](der::Writer& s) { s.octet_string(content); });
  const Bytes& out = w.bytes();
  EXPECT_EQ(to_hex(BytesView(out).first(8)), "308201300482012C");
  der::Reader r(out);
  der::Reader seq = r.enter_sequence("s");
  EXPECT_EQ(seq.read_octet_string("o").size(), 300u);
}

TEST(DerWriter, SortsSetOf) {
  der::Writer w;
  w.set_of({from_hex("020102"), from_hex("020101"), from_hex("0500")});
  EXPECT_EQ(to_hex(w.bytes()), "3108020101020102" "0500");
}

TEST(DerWriter, UnsignedIntegerAddsSignOctet) {
  der::Writer w;
  w.unsigned_integer(from_hex("0000FF01"));
  EXPECT_EQ(to_hex(w.bytes()), "020300FF01");
}

TEST(DerWriter, NamedBitsAreDer) {
  der::Writer w;
  w.named_bits(key_usage::kKeyCertSign | key_usage::kCrlSign);
  EXPECT_EQ(to_hex(w.bytes()), "03020106");
  der::Writer w2;
  w2.named_bits(key_usage::kDigitalSignature | key_usage::kNonRepudiation);
  EXPECT_EQ(to_hex(w2.bytes()), "030206C0");
}

TEST(Oid, RoundTripsText) {
  const Oid o("1.2.392.200149.8.5.5.1");
  EXPECT_EQ(o.to_string(), "1.2.392.200149.8.5.5.1");
  EXPECT_EQ(Oid("2.5.29.19").to_string(), "2.5.29.19");
  EXPECT_EQ(to_hex(Oid("1.2.840.113549.1.1.11").content()), "2A864886F70D01010B");
  EXPECT_THROW(Oid("1"), BuildError);
  EXPECT_THROW(Oid("3.1"), BuildError);
  EXPECT_THROW(Oid("1.2.03"), BuildError);
}

TEST(Serial, KeepsMagnitudeAndRefusesTooLong) {
  EXPECT_EQ(Serial(from_hex("000102")).hex(), "0102");
  EXPECT_THROW(Serial(Bytes(21, 1)), BuildError);
  const Bytes b = from_hex("0215" "01" "0102030405060708090A0B0C0D0E0F1011121314");
  der::Reader r(b);
  EXPECT_EQ(error_of([&] { Serial::read(r, "serial"); }), ErrorId::kIntegerTooLarge);
  const Bytes neg = from_hex("020180");
  der::Reader r2(neg);
  EXPECT_EQ(error_of([&] { Serial::read(r2, "serial"); }), ErrorId::kNegativeInteger);
}

TEST(Utf8, ValidatesStrictly) {
  EXPECT_TRUE(der::is_valid_utf8("熊本県"));
  EXPECT_FALSE(der::is_valid_utf8("\xC0\x80"));
  EXPECT_FALSE(der::is_valid_utf8("\xE7\x86"));
  EXPECT_FALSE(der::is_valid_utf8("\xED\xA0\x80"));
}
