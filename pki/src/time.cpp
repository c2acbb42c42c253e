#include "hanko/pki/time.h"

#include <cstdio>

namespace hanko::pki {

namespace {
using namespace std::chrono;

struct Fields {
  int year;
  unsigned month, day, hour, minute, second;
};

Fields split(Time t) {
  const sys_days days = floor<std::chrono::days>(t);
  const year_month_day ymd{days};
  const hh_mm_ss hms{t - days};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), static_cast<unsigned>(hms.hours().count()),
          static_cast<unsigned>(hms.minutes().count()), static_cast<unsigned>(hms.seconds().count())};
}

std::optional<Time> join(const Fields& f) {
  const year_month_day ymd{year{f.year}, month{f.month}, day{f.day}};
  if (!ymd.ok() || f.hour > 23 || f.minute > 59 || f.second > 59) return std::nullopt;
  return sys_days{ymd} + hours{f.hour} + minutes{f.minute} + seconds{f.second};
}

bool digits(BytesView c, std::size_t from, std::size_t count, unsigned& out) {
  out = 0;
  for (std::size_t i = from; i < from + count; ++i) {
    if (c[i] < '0' || c[i] > '9') return false;
    out = out * 10 + (c[i] - '0');
  }
  return true;
}

[[noreturn]] void bad_time(std::string_view what, const std::string& detail) {
  throw ParseError(ErrorId::kBadTime, std::string(what) + ": " + detail);
}

Time decode(const der::Element& e, std::string_view what) {
  const BytesView c = e.content;
  Fields f{};
  unsigned y = 0;
  std::size_t at = 0;
  if (e.tag == der::kUtcTime) {
    // RFC 5280: YYMMDDHHMMSSZ, seconds present, Zulu.
    if (c.size() != 13 || c.back() != 'Z') bad_time(what, "UTCTime must be YYMMDDHHMMSSZ");
    if (!digits(c, 0, 2, y)) bad_time(what, "UTCTime year is not numeric");
    f.year = static_cast<int>(y < 50 ? 2000 + y : 1900 + y);
    at = 2;
  } else {
    // RFC 5280: YYYYMMDDHHMMSSZ, no fractional seconds.
    if (c.size() != 15 || c.back() != 'Z') bad_time(what, "GeneralizedTime must be YYYYMMDDHHMMSSZ");
    if (!digits(c, 0, 4, y)) bad_time(what, "GeneralizedTime year is not numeric");
    f.year = static_cast<int>(y);
    at = 4;
  }
  if (!digits(c, at, 2, f.month) || !digits(c, at + 2, 2, f.day) ||
      !digits(c, at + 4, 2, f.hour) || !digits(c, at + 6, 2, f.minute) ||
      !digits(c, at + 8, 2, f.second)) {
    bad_time(what, "time has non-numeric fields");
  }
  const auto t = join(f);
  if (!t) bad_time(what, "time names a date or time that does not exist");
  return *t;
}

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10 % 10);
  p[1] = static_cast<char>('0' + v % 10);
}
}  // namespace

void write_time(der::Writer& w, Time t) {
  const Fields f = split(t);
  if (f.year >= 1950 && f.year <= 2049) {
    char buf[13];
    put2(buf, static_cast<unsigned>(f.year % 100));
    put2(buf + 2, f.month);
    put2(buf + 4, f.day);
    put2(buf + 6, f.hour);
    put2(buf + 8, f.minute);
    put2(buf + 10, f.second);
    buf[12] = 'Z';
    w.primitive(der::kUtcTime, BytesView(reinterpret_cast<const std::uint8_t*>(buf), 13));
  } else {
    write_generalized_time(w, t);
  }
}

void write_generalized_time(der::Writer& w, Time t) {
  const Fields f = split(t);
  if (f.year < 0 || f.year > 9999) throw BuildError("year out of range for GeneralizedTime");
  char buf[15];
  put2(buf, static_cast<unsigned>(f.year / 100));
  put2(buf + 2, static_cast<unsigned>(f.year % 100));
  put2(buf + 4, f.month);
  put2(buf + 6, f.day);
  put2(buf + 8, f.hour);
  put2(buf + 10, f.minute);
  put2(buf + 12, f.second);
  buf[14] = 'Z';
  w.primitive(der::kGeneralizedTime, BytesView(reinterpret_cast<const std::uint8_t*>(buf), 15));
}

bool peek_time(const der::Reader& r) {
  return r.peek(der::kUtcTime) || r.peek(der::kGeneralizedTime);
}

Time read_time(der::Reader& r, std::string_view what, bool rfc5280_choice) {
  if (!peek_time(r)) {
    r.read(der::kUtcTime, what);  // throws the right "expected tag" error
  }
  const der::Element e = r.read_any(what);
  const Time t = decode(e, what);
  if (rfc5280_choice && e.tag == der::kGeneralizedTime) {
    const int year = split(t).year;
    if (year >= 1950 && year <= 2049) {
      bad_time(what, "GeneralizedTime used for a year before 2050 (RFC 5280 wants UTCTime)");
    }
  }
  return t;
}

Time read_generalized_time(der::Reader& r, std::string_view what) {
  return decode(r.read(der::kGeneralizedTime, what), what);
}

std::string format_time(Time t) {
  const Fields f = split(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02u:%02u:%02u UTC", f.year, f.month, f.day,
                f.hour, f.minute, f.second);
  return buf;
}

std::string format_time_rfc3339(Time t) {
  const Fields f = split(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02uZ", f.year, f.month, f.day, f.hour, f.minute, f.second);
  return buf;
}

Time parse_time_text(std::string_view text) {
  Fields f{};
  unsigned y = 0;
  const BytesView c = view(text);
  auto bad = [&] { return BuildError("cannot read time '" + std::string(text) +
                                     "'; write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"); };
  if (text.size() < 10 || !digits(c, 0, 4, y) || text[4] != '-' || !digits(c, 5, 2, f.month) ||
      text[7] != '-' || !digits(c, 8, 2, f.day)) {
    throw bad();
  }
  f.year = static_cast<int>(y);
  if (text.size() > 10) {
    if (text.size() < 19 || (text[10] != 'T' && text[10] != ' ') || !digits(c, 11, 2, f.hour) ||
        text[13] != ':' || !digits(c, 14, 2, f.minute) || text[16] != ':' ||
        !digits(c, 17, 2, f.second)) {
      throw bad();
    }
    const std::string_view rest = text.substr(19);
    if (!(rest.empty() || rest == "Z" || rest == " UTC")) throw bad();
  }
  const auto t = join(f);
  if (!t) throw bad();
  return *t;
}

Time add_years(Time t, int years) {
  const sys_days days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  ymd += std::chrono::years{years};
  if (!ymd.ok()) ymd = ymd.year() / ymd.month() / last;
  return sys_days{ymd} + (t - days);
}

Time add_days(Time t, int days) { return t + std::chrono::days{days}; }

}  // namespace hanko::pki
