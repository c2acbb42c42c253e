#pragma once
// Errors of the PKCS#11 layer: one type, so callers catch hanko::hsm::Error and print what().
#include <p11-kit/pkcs11.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace hanko::hsm {

// Why an operation failed. Pkcs11 means a module call returned an error code (see rv() and
// call()); every other reason is detected by hanko itself and carries rv() == CKR_GENERAL_ERROR.
enum class Reason {
  Pkcs11,
  ModuleLoad,         // dlopen or C_GetFunctionList failed
  TokenNotFound,      // no token with that label
  TokenAmbiguous,     // several tokens with that label
  TokenLabelInvalid,  // empty, too long, or already used
  KeyExists,          // a key with that label is already on the token
  KeyNotFound,        // no key with that label
  KeyIncomplete,      // only one half of a key pair is visible, or several share a label
  KeyUnsupported,     // key type or size hanko does not handle
  MechanismMismatch,  // signing mechanism does not fit the key type
  InvalidArgument,    // e.g. a digest of the wrong length
  SecretInput,        // a PIN could not be read or is empty / too long
};

class Error : public std::runtime_error {
 public:
  // A PKCS#11 function failed: the message is "<call>: <CKR_NAME>" plus a hint for common codes.
  Error(std::string_view call, CK_RV rv);
  // A failure detected by hanko: the message must name the thing and say what to do.
  Error(Reason reason, const std::string& message);

  Reason reason() const noexcept { return m_reason; }
  CK_RV rv() const noexcept { return m_rv; }
  // The PKCS#11 function that failed, e.g. "C_Login"; empty for hanko-level errors.
  const std::string& call() const noexcept { return m_call; }

 private:
  Reason m_reason;
  CK_RV m_rv;
  std::string m_call;
};

// "CKR_PIN_INCORRECT"; unknown codes give "CKR_VENDOR_DEFINED" or "unknown CK_RV".
std::string_view rv_name(CK_RV rv) noexcept;

// "CKA_MODULUS" for the attributes hanko reads; "CKA_0x…" otherwise.
std::string attribute_name(CK_ATTRIBUTE_TYPE type);

// Throws Error(call, rv) unless rv is CKR_OK. The one way hanko checks a PKCS#11 return value.
inline void check_rv(std::string_view call, CK_RV rv) {
  if (rv != CKR_OK) throw Error(call, rv);
}

}  // namespace hanko::hsm
