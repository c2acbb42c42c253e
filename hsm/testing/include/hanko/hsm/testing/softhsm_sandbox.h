#pragma once
// Test and benchmark support: a private SoftHSMv2 token directory in a fresh temporary folder.
// Not part of the product library (it touches the environment, which libraries must not).
#include <filesystem>
#include <string>

namespace hanko::hsm::testing {

// Creates <tmp>/hanko-softhsm-XXXXXX/{softhsm2.conf,tokens/} and points SOFTHSM2_CONF at it, so
// a Module created afterwards sees only this sandbox's tokens. The destructor restores the
// previous SOFTHSM2_CONF and removes the folder. SoftHSMv2 reads the variable in C_Initialize:
// create the sandbox before the Module and destroy it after.
class SoftHsmSandbox {
 public:
  SoftHsmSandbox();
  SoftHsmSandbox(const SoftHsmSandbox&) = delete;
  SoftHsmSandbox& operator=(const SoftHsmSandbox&) = delete;
  ~SoftHsmSandbox() noexcept;

  const std::filesystem::path& directory() const noexcept { return m_directory; }

 private:
  std::filesystem::path m_directory;
  bool m_had_previous = false;
  std::string m_previous;
};

}  // namespace hanko::hsm::testing
