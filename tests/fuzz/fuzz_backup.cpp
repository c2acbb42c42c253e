// What the backup center reads before anything is authenticated: backup manifests (the set being
// restored and every other set beside it on the medium), destruction notices and custodians'
// sealed shares (files, or pages photographed back). None may crash the signer.
#include <string>

#include "hanko/offline/backup.h"
#include "hanko/offline/custody.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)hanko::offline::backup::Manifest::parse(text);
  } catch (const hanko::offline::backup::BackupError&) {
  }
  try {
    (void)hanko::offline::backup::DestructionNotice::parse(text);
  } catch (const hanko::offline::backup::BackupError&) {
  }
  try {
    (void)hanko::offline::read_share_header(hanko::BytesView(data, size));
  } catch (const hanko::offline::CustodyError&) {
  }
  return 0;
}
