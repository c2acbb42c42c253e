#include <gtest/gtest.h>

#include "hanko/pki/name.h"
#include "hanko/pki/time.h"

using namespace hanko;
using namespace hanko::pki;

TEST(Name, JapaneseRoundTripsByteExact) {
  const Name n = Name::parse_text("/C=JP/ST=熊本県/O=Kumamoto Prefecture/CN=山田太郎");
  const Name back = Name::from_der(n.der());
  EXPECT_EQ(back.der(), n.der());
  EXPECT_EQ(back.to_string(), "C=JP, ST=熊本県, O=Kumamoto Prefecture, CN=山田太郎");
  EXPECT_EQ(back.rdns()[0][0].string_tag, der::kPrintableString);
  EXPECT_EQ(back.rdns()[1][0].string_tag, der::kUtf8String);
  EXPECT_EQ(*back.first(oid::kCommonName), "山田太郎");
}

TEST(Name, RefusesBadText) {
  EXPECT_THROW(Name::parse_text("CN=x"), BuildError);
  EXPECT_THROW(Name::parse_text("/XX=1"), BuildError);
  EXPECT_THROW(Name::parse_text("/C=Japan"), BuildError);
  EXPECT_THROW(Name::parse_text("/CN="), BuildError);
}

TEST(Name, KeepsForeignEncodingsVerbatim) {
  // CN as a BMPString: not what we write, but an issuer name is copied byte for byte.
  const Bytes der = from_hex("300F310D300B06035504031E0430B430C0");
  const Name n = Name::from_der(der);
  EXPECT_EQ(n.der(), der);
}

TEST(Name, RefusesInvalidStrings) {
  // PrintableString with '@'
  const Bytes der = from_hex("300D310B300906035504061302" "4A40");
  EXPECT_THROW(Name::from_der(der), ParseError);
}

TEST(Time, UtcTimeThrough2049GeneralizedFrom2050) {
  der::Writer w;
  write_time(w, parse_time_text("2049-12-31T23:59:59Z"));
  write_time(w, parse_time_text("2050-01-01T00:00:00Z"));
  EXPECT_EQ(to_string(w.bytes()), std::string("\x17\x0d") + "491231235959Z" + "\x18\x0f" + "20500101000000Z");
  der::Reader r(w.bytes());
  EXPECT_EQ(format_time(read_time(r, "a")), "2049-12-31 23:59:59 UTC");
  EXPECT_EQ(format_time(read_time(r, "b")), "2050-01-01 00:00:00 UTC");
}

TEST(Time, RefusesWrongChoiceAndFractions) {
  der::Writer w;
  write_generalized_time(w, parse_time_text("2030-01-01"));
  der::Reader r(w.bytes());
  EXPECT_THROW(read_time(r, "t"), ParseError);
  for (const char* bad : {"\x17\x0b" "3001010000Z", "\x17\x0d" "300101000000+", "\x18\x11" "20500101000000.5Z",
                          "\x17\x0d" "301301000000Z"}) {
    der::Reader br(view(bad));
    EXPECT_THROW(read_time(br, "t"), ParseError) << bad + 2;
  }
}

TEST(Time, CalendarArithmetic) {
  EXPECT_EQ(format_time(add_years(parse_time_text("2024-02-29T12:00:00Z"), 1)), "2025-02-28 12:00:00 UTC");
  EXPECT_EQ(format_time(add_years(parse_time_text("2026-11-22"), 10)), "2036-11-22 00:00:00 UTC");
  EXPECT_THROW(parse_time_text("2026-02-30"), BuildError);
}
