// Transcripts come back from witnesses' media and are checked by people who did not write them;
// scripts, plans and site bindings are reviewed text. None may crash the signer.
#include <string>

#include "hanko/offline/ceremony.h"
#include "hanko/offline/profiles.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)hanko::offline::check_transcript(text);
  try {
    (void)hanko::offline::Script::parse(text);
  } catch (const hanko::offline::CeremonyError&) {
  }
  try {
    const auto plan = hanko::offline::Settings::parse(text, "plan");
    (void)hanko::offline::plan_people(plan);
  } catch (const hanko::offline::CeremonyError&) {
  } catch (const hanko::offline::PolicyError&) {
  }
  return 0;
}
