#include "hanko/hsm/module.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "hanko/hsm/error.h"
#include "hanko/hsm/session.h"
#include "padded_text.h"

namespace hanko::hsm {

const char kDefaultModulePath[] = HANKO_DEFAULT_PKCS11_MODULE;

namespace {

std::string dl_error() {
  const char* message = ::dlerror();
  return message != nullptr ? message : "unknown dynamic loader error";
}

}  // namespace

Module::Module(const std::string& path) : m_path(path), m_logins(new LoginRegistry) {
  // dlopen("") would return the main program, which then "is not a PKCS#11 module".
  if (path.empty()) {
    throw Error(Reason::ModuleLoad,
                "no PKCS#11 module path given; set the module path in the configuration (default " +
                    std::string(kDefaultModulePath) + ")");
  }
  // RTLD_LOCAL keeps the module's own OpenSSL/Botan symbols from clashing with ours.
  m_library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (m_library == nullptr) {
    throw Error(Reason::ModuleLoad, "cannot load PKCS#11 module '" + path + "': " + dl_error() +
                                        "; check the module path in the configuration");
  }
  try {
    ::dlerror();
    void* symbol = ::dlsym(m_library, "C_GetFunctionList");
    if (symbol == nullptr) {
      throw Error(Reason::ModuleLoad, "'" + path +
                                          "' is not a PKCS#11 module (it has no C_GetFunctionList)"
                                          "; check the module path in the configuration");
    }
    CK_C_GetFunctionList get_function_list = nullptr;
    static_assert(sizeof get_function_list == sizeof symbol);
    std::memcpy(&get_function_list, &symbol, sizeof symbol);  // object to function pointer
    check_rv("C_GetFunctionList", get_function_list(&m_functions));
    if (m_functions == nullptr) {
      throw Error(Reason::ModuleLoad, "'" + path +
                                          "' returned no PKCS#11 function list"
                                          "; check that the module is intact");
    }
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    check_rv("C_Initialize", m_functions->C_Initialize(&args));
  } catch (...) {
    m_functions = nullptr;  // never finalise what we did not initialise
    ::dlclose(m_library);
    m_library = nullptr;
    throw;
  }
}

Module::Module(Module&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_library(std::exchange(other.m_library, nullptr)),
      m_functions(std::exchange(other.m_functions, nullptr)),
      m_logins(std::move(other.m_logins)) {}

Module& Module::operator=(Module&& other) noexcept {
  if (this != &other) {
    release();
    m_path = std::move(other.m_path);
    m_library = std::exchange(other.m_library, nullptr);
    m_functions = std::exchange(other.m_functions, nullptr);
    m_logins = std::move(other.m_logins);
  }
  return *this;
}

Module::~Module() noexcept { release(); }

void Module::release() noexcept {
  if (m_functions != nullptr) m_functions->C_Finalize(nullptr);
  if (m_library != nullptr) ::dlclose(m_library);
  m_functions = nullptr;
  m_library = nullptr;
}

std::vector<SlotInfo> Module::slots(bool with_token_only) const {
  const CK_BBOOL token_present = with_token_only ? CK_TRUE : CK_FALSE;
  // The slot list can change between the two calls; retry on CKR_BUFFER_TOO_SMALL.
  std::vector<CK_SLOT_ID> ids;
  CK_RV rv = CKR_BUFFER_TOO_SMALL;
  while (rv == CKR_BUFFER_TOO_SMALL) {
    CK_ULONG count = 0;
    check_rv("C_GetSlotList", m_functions->C_GetSlotList(token_present, nullptr, &count));
    ids.resize(count);
    rv = m_functions->C_GetSlotList(token_present, ids.data(), &count);
    ids.resize(count);
  }
  check_rv("C_GetSlotList", rv);

  std::vector<SlotInfo> result;
  result.reserve(ids.size());
  for (const CK_SLOT_ID id : ids) {
    CK_SLOT_INFO slot{};
    check_rv("C_GetSlotInfo", m_functions->C_GetSlotInfo(id, &slot));
    SlotInfo info;
    info.id = id;
    info.description = trimmed(slot.slotDescription);
    info.token_present = (slot.flags & CKF_TOKEN_PRESENT) != 0;
    if (info.token_present) {
      CK_TOKEN_INFO token{};
      check_rv("C_GetTokenInfo", m_functions->C_GetTokenInfo(id, &token));
      info.token_initialized = (token.flags & CKF_TOKEN_INITIALIZED) != 0;
      info.token_label = trimmed(token.label);
      info.serial = trimmed(token.serialNumber);
      info.model = trimmed(token.model);
      info.manufacturer = trimmed(token.manufacturerID);
    }
    result.push_back(std::move(info));
  }
  return result;
}

CK_SLOT_ID Module::find_token(std::string_view label) const {
  std::vector<CK_SLOT_ID> found;
  std::string known;
  for (const SlotInfo& slot : slots(true)) {
    if (!slot.token_initialized) continue;
    if (slot.token_label == label) found.push_back(slot.id);
    known += (known.empty() ? "'" : ", '") + slot.token_label + "'";
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    throw Error(Reason::TokenNotFound, "no token labelled '" + std::string(label) +
                                           "' in module '" + m_path +
                                           "' (tokens: " + (known.empty() ? "none" : known) +
                                           "); check the token label or initialise the token");
  }
  throw Error(Reason::TokenAmbiguous, std::to_string(found.size()) + " tokens are labelled '" +
                                          std::string(label) + "' in module '" + m_path +
                                          "'; relabel or remove all but one");
}

std::optional<CK_SLOT_ID> Module::first_free_slot() const {
  for (const SlotInfo& slot : slots(true)) {
    if (!slot.token_initialized) return slot.id;
  }
  return std::nullopt;
}

CK_SLOT_ID Module::init_token(CK_SLOT_ID slot, const Secret& so_pin, std::string_view label,
                              const Secret& user_pin) {
  if (label.empty() || label.size() > kMaxTokenLabelSize) {
    throw Error(Reason::TokenLabelInvalid, "token label '" + std::string(label) + "' has " +
                                               std::to_string(label.size()) + " bytes; use 1 to " +
                                               std::to_string(kMaxTokenLabelSize) + " bytes");
  }
  // The new token is found again by its label, so the label must be unique.
  for (const SlotInfo& other : slots(true)) {
    if (other.token_initialized && other.token_label == label && other.id != slot) {
      throw Error(Reason::TokenLabelInvalid,
                  "a token labelled '" + std::string(label) + "' already exists in slot " +
                      std::to_string(other.id) + "; choose another label");
    }
  }
  unsigned char padded[kMaxTokenLabelSize];
  std::memset(padded, ' ', sizeof padded);
  std::memcpy(padded, label.data(), label.size());
  check_rv("C_InitToken", m_functions->C_InitToken(slot, const_cast<CK_UTF8CHAR*>(so_pin.data()),
                                                   so_pin.size(), padded));

  const CK_SLOT_ID new_slot = find_token(label);
  Session session(*this, new_slot, true);
  session.login_so(so_pin);
  session.init_user_pin(user_pin);
  session.logout();
  return new_slot;
}

}  // namespace hanko::hsm
