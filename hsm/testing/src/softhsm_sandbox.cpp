#include "hanko/hsm/testing/softhsm_sandbox.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace hanko::hsm::testing {

SoftHsmSandbox::SoftHsmSandbox() {
  std::string pattern = (std::filesystem::temp_directory_path() / "hanko-softhsm-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(),
                            "mkdtemp " + pattern + " (set TMPDIR to a writable folder)");
  }
  m_directory = buffer.data();
  std::filesystem::create_directory(m_directory / "tokens");
  const std::filesystem::path config = m_directory / "softhsm2.conf";
  std::ofstream(config) << "directories.tokendir = " << (m_directory / "tokens").string() << "\n"
                        << "objectstore.backend = file\n"
                        << "log.level = ERROR\n"
                        << "slots.removable = false\n";
  if (const char* previous = std::getenv("SOFTHSM2_CONF")) {
    m_had_previous = true;
    m_previous = previous;
  }
  ::setenv("SOFTHSM2_CONF", config.c_str(), 1);
}

SoftHsmSandbox::~SoftHsmSandbox() noexcept {
  if (m_had_previous) {
    ::setenv("SOFTHSM2_CONF", m_previous.c_str(), 1);
  } else {
    ::unsetenv("SOFTHSM2_CONF");
  }
  std::error_code ignored;
  std::filesystem::remove_all(m_directory, ignored);
}

}  // namespace hanko::hsm::testing
