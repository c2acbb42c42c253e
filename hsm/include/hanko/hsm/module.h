#pragma once
// A loaded and initialised PKCS#11 module (e.g. SoftHSMv2 or a hardware HSM's library).
#include <p11-kit/pkcs11.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hanko/hsm/secret.h"

namespace hanko::hsm {

// Set at build time from the CMake cache variable HANKO_DEFAULT_PKCS11_MODULE.
extern const char kDefaultModulePath[];

// Longest token label PKCS#11 can store (CK_TOKEN_INFO::label is 32 blank-padded bytes).
inline constexpr std::size_t kMaxTokenLabelSize = 32;

struct SlotInfo {
  CK_SLOT_ID id = 0;
  std::string description;  // blank padding removed, as for the strings below
  bool token_present = false;
  bool token_initialized = false;
  std::string token_label;
  std::string serial;
  std::string model;
  std::string manufacturer;
};

// Owns one PKCS#11 library: dlopen, C_GetFunctionList and C_Initialize (with OS locking, so
// sessions may be used from several threads, one session per thread) on construction; C_Finalize
// and dlclose on destruction. Move-only. Every Session must be destroyed before its Module.
// A module can be initialised only once per process: a second Module for the same library fails
// with CKR_CRYPTOKI_ALREADY_INITIALIZED.
class Module {
 public:
  explicit Module(const std::string& path = kDefaultModulePath);
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&& other) noexcept;
  Module& operator=(Module&& other) noexcept;
  ~Module() noexcept;

  const std::string& path() const noexcept { return m_path; }
  // The raw function table, for benchmarks and tests that compare against plain PKCS#11.
  CK_FUNCTION_LIST_PTR functions() const noexcept { return m_functions; }

  std::vector<SlotInfo> slots(bool with_token_only = true) const;
  // The slot holding the initialised token with this label; throws if none or several.
  CK_SLOT_ID find_token(std::string_view label) const;
  // A slot whose token is present but not initialised, if any (SoftHSMv2 always keeps one).
  std::optional<CK_SLOT_ID> first_free_slot() const;

  // Initialises the token in slot (erasing it), sets its label and user PIN, and returns the
  // slot id where the token now lives: SoftHSMv2 moves a freshly initialised token to a new slot.
  // Refuses a label that is empty, over 32 bytes, or already used by another token.
  CK_SLOT_ID init_token(CK_SLOT_ID slot, const Secret& so_pin, std::string_view label,
                        const Secret& user_pin);

 private:
  friend class Session;

  // PKCS#11 login state is per token and process, shared by all sessions: the first C_Login
  // logs every session in and any C_Logout logs every session out. Sessions therefore count
  // their logins here, and only the last one to leave calls C_Logout. Heap-allocated so its
  // address survives moves of the Module.
  struct LoginRegistry {
    std::mutex mutex;
    std::map<CK_SLOT_ID, int> count;
  };

  void release() noexcept;

  std::string m_path;
  void* m_library = nullptr;
  CK_FUNCTION_LIST_PTR m_functions = nullptr;
  std::unique_ptr<LoginRegistry> m_logins;
};

}  // namespace hanko::hsm
