#pragma once
// Times in certificates and CRLs (RFC 5280 4.1.2.5): whole seconds, UTC, UTCTime through 2049 and
// GeneralizedTime from 2050 on. The library never reads the clock: callers pass time in.
#include <chrono>
#include <string>

#include "hanko/pki/der.h"

namespace hanko::pki {

using Time = std::chrono::sys_seconds;

// Writes a validity/CRL time, choosing UTCTime or GeneralizedTime by year.
void write_time(der::Writer& w, Time t);
// Writes a GeneralizedTime always (invalidityDate, OCSP).
void write_generalized_time(der::Writer& w, Time t);

// Reads a time choice. With `rfc5280_choice` the encoding must match the year rule above.
Time read_time(der::Reader& r, std::string_view what, bool rfc5280_choice = true);
Time read_generalized_time(der::Reader& r, std::string_view what);
bool peek_time(const der::Reader& r);

// "2026-11-22 00:41:00 UTC"
std::string format_time(Time t);
// "2026-11-22T00:41:00Z" (RFC 3339), for JSON output.
std::string format_time_rfc3339(Time t);
// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DD HH:MM:SS"; throws BuildError.
Time parse_time_text(std::string_view text);

// Adds calendar years/months/days the way people count validity: the same day and time of the
// later year, the 28th for 29 February in a non-leap year.
Time add_years(Time t, int years);
Time add_days(Time t, int days);

}  // namespace hanko::pki
