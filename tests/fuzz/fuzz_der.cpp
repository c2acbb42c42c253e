// Walks arbitrary DER with the strict reader, descending into every constructed element.
#include "hanko/pki/der.h"
#include "hanko/pki/name.h"
#include "hanko/pki/time.h"

namespace {
void walk(hanko::pki::der::Reader r, int depth) {
  while (!r.at_end()) {
    const auto e = r.read_any("fuzz");
    if ((e.tag & 0x20) && depth < 32) walk(hanko::pki::der::Reader(e.content), depth + 1);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hanko::BytesView input(data, size);
  try {
    walk(hanko::pki::der::Reader(input), 0);
  } catch (const hanko::pki::ParseError&) {
  }
  try {
    (void)hanko::pki::Name::from_der(input);
  } catch (const hanko::pki::ParseError&) {
  }
  try {
    hanko::pki::der::Reader r(input);
    (void)hanko::pki::read_time(r, "fuzz");
  } catch (const hanko::pki::ParseError&) {
  }
  return 0;
}
