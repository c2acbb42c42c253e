#include "hanko/hsm/error.h"

#include <cstdio>

namespace hanko::hsm {

std::string_view rv_name(CK_RV rv) noexcept {
  switch (rv) {
    case CKR_OK: return "CKR_OK";
    case CKR_CANCEL: return "CKR_CANCEL";
    case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
    case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    case CKR_NO_EVENT: return "CKR_NO_EVENT";
    case CKR_NEED_TO_CREATE_THREADS: return "CKR_NEED_TO_CREATE_THREADS";
    case CKR_CANT_LOCK: return "CKR_CANT_LOCK";
    case CKR_ATTRIBUTE_READ_ONLY: return "CKR_ATTRIBUTE_READ_ONLY";
    case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_ACTION_PROHIBITED: return "CKR_ACTION_PROHIBITED";
    case CKR_DATA_INVALID: return "CKR_DATA_INVALID";
    case CKR_DATA_LEN_RANGE: return "CKR_DATA_LEN_RANGE";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_ENCRYPTED_DATA_INVALID: return "CKR_ENCRYPTED_DATA_INVALID";
    case CKR_ENCRYPTED_DATA_LEN_RANGE: return "CKR_ENCRYPTED_DATA_LEN_RANGE";
    case CKR_FUNCTION_CANCELED: return "CKR_FUNCTION_CANCELED";
    case CKR_FUNCTION_NOT_PARALLEL: return "CKR_FUNCTION_NOT_PARALLEL";
    case CKR_FUNCTION_NOT_SUPPORTED: return "CKR_FUNCTION_NOT_SUPPORTED";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_KEY_SIZE_RANGE: return "CKR_KEY_SIZE_RANGE";
    case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_KEY_NOT_NEEDED: return "CKR_KEY_NOT_NEEDED";
    case CKR_KEY_CHANGED: return "CKR_KEY_CHANGED";
    case CKR_KEY_NEEDED: return "CKR_KEY_NEEDED";
    case CKR_KEY_INDIGESTIBLE: return "CKR_KEY_INDIGESTIBLE";
    case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
    case CKR_KEY_NOT_WRAPPABLE: return "CKR_KEY_NOT_WRAPPABLE";
    case CKR_KEY_UNEXTRACTABLE: return "CKR_KEY_UNEXTRACTABLE";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_OPERATION_ACTIVE: return "CKR_OPERATION_ACTIVE";
    case CKR_OPERATION_NOT_INITIALIZED: return "CKR_OPERATION_NOT_INITIALIZED";
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_INVALID: return "CKR_PIN_INVALID";
    case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
    case CKR_PIN_EXPIRED: return "CKR_PIN_EXPIRED";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_SESSION_CLOSED: return "CKR_SESSION_CLOSED";
    case CKR_SESSION_COUNT: return "CKR_SESSION_COUNT";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_SESSION_PARALLEL_NOT_SUPPORTED: return "CKR_SESSION_PARALLEL_NOT_SUPPORTED";
    case CKR_SESSION_READ_ONLY: return "CKR_SESSION_READ_ONLY";
    case CKR_SESSION_EXISTS: return "CKR_SESSION_EXISTS";
    case CKR_SESSION_READ_ONLY_EXISTS: return "CKR_SESSION_READ_ONLY_EXISTS";
    case CKR_SESSION_READ_WRITE_SO_EXISTS: return "CKR_SESSION_READ_WRITE_SO_EXISTS";
    case CKR_SIGNATURE_INVALID: return "CKR_SIGNATURE_INVALID";
    case CKR_SIGNATURE_LEN_RANGE: return "CKR_SIGNATURE_LEN_RANGE";
    case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED: return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED";
    case CKR_UNWRAPPING_KEY_SIZE_RANGE: return "CKR_UNWRAPPING_KEY_SIZE_RANGE";
    case CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT: return "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT";
    case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_USER_TYPE_INVALID: return "CKR_USER_TYPE_INVALID";
    case CKR_USER_ANOTHER_ALREADY_LOGGED_IN: return "CKR_USER_ANOTHER_ALREADY_LOGGED_IN";
    case CKR_USER_TOO_MANY_TYPES: return "CKR_USER_TOO_MANY_TYPES";
    case CKR_WRAPPED_KEY_INVALID: return "CKR_WRAPPED_KEY_INVALID";
    case CKR_WRAPPED_KEY_LEN_RANGE: return "CKR_WRAPPED_KEY_LEN_RANGE";
    case CKR_WRAPPING_KEY_HANDLE_INVALID: return "CKR_WRAPPING_KEY_HANDLE_INVALID";
    case CKR_WRAPPING_KEY_SIZE_RANGE: return "CKR_WRAPPING_KEY_SIZE_RANGE";
    case CKR_WRAPPING_KEY_TYPE_INCONSISTENT: return "CKR_WRAPPING_KEY_TYPE_INCONSISTENT";
    case CKR_RANDOM_SEED_NOT_SUPPORTED: return "CKR_RANDOM_SEED_NOT_SUPPORTED";
    case CKR_RANDOM_NO_RNG: return "CKR_RANDOM_NO_RNG";
    case CKR_DOMAIN_PARAMS_INVALID: return "CKR_DOMAIN_PARAMS_INVALID";
    case CKR_CURVE_NOT_SUPPORTED: return "CKR_CURVE_NOT_SUPPORTED";
    case CKR_BUFFER_TOO_SMALL: return "CKR_BUFFER_TOO_SMALL";
    case CKR_SAVED_STATE_INVALID: return "CKR_SAVED_STATE_INVALID";
    case CKR_INFORMATION_SENSITIVE: return "CKR_INFORMATION_SENSITIVE";
    case CKR_STATE_UNSAVEABLE: return "CKR_STATE_UNSAVEABLE";
    case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_CRYPTOKI_ALREADY_INITIALIZED: return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
    case CKR_MUTEX_BAD: return "CKR_MUTEX_BAD";
    case CKR_MUTEX_NOT_LOCKED: return "CKR_MUTEX_NOT_LOCKED";
    case CKR_NEW_PIN_MODE: return "CKR_NEW_PIN_MODE";
    case CKR_NEXT_OTP: return "CKR_NEXT_OTP";
    case CKR_EXCEEDED_MAX_ITERATIONS: return "CKR_EXCEEDED_MAX_ITERATIONS";
    case CKR_FIPS_SELF_TEST_FAILED: return "CKR_FIPS_SELF_TEST_FAILED";
    case CKR_LIBRARY_LOAD_FAILED: return "CKR_LIBRARY_LOAD_FAILED";
    case CKR_PIN_TOO_WEAK: return "CKR_PIN_TOO_WEAK";
    case CKR_PUBLIC_KEY_INVALID: return "CKR_PUBLIC_KEY_INVALID";
    case CKR_FUNCTION_REJECTED: return "CKR_FUNCTION_REJECTED";
    default: break;
  }
  return rv >= CKR_VENDOR_DEFINED ? "CKR_VENDOR_DEFINED" : "unknown CK_RV";
}

namespace {

// What the operator should do next for the codes people actually meet.
std::string_view hint(CK_RV rv) noexcept {
  switch (rv) {
    case CKR_PIN_INCORRECT: return "check the user PIN; the token locks after repeated failures";
    case CKR_PIN_LOCKED:
      return "the PIN is locked after too many failures; the security officer must reset it";
    case CKR_PIN_LEN_RANGE:
      return "the PIN is too short or too long for this token (SoftHSMv2: 4 to 255 bytes)";
    case CKR_TOKEN_NOT_PRESENT:
      return "insert the token or check the slot; slot ids can change after C_InitToken";
    case CKR_TOKEN_NOT_RECOGNIZED:
      return "the token is not usable by this module; check the module path";
    case CKR_TOKEN_WRITE_PROTECTED: return "the token is read-only; check its write protection";
    case CKR_USER_NOT_LOGGED_IN: return "log in with the user PIN before using private keys";
    case CKR_USER_PIN_NOT_INITIALIZED:
      return "the token has no user PIN yet; initialise the token (SO) and set the user PIN";
    case CKR_USER_ALREADY_LOGGED_IN:
      return "this session is already logged in; log out first to change the user type";
    case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
      return "another user type is logged in on this token; log it out first";
    case CKR_SESSION_READ_ONLY: return "open a read-write session to create or destroy objects";
    case CKR_SLOT_ID_INVALID: return "the slot does not exist; list the slots and pick one";
    case CKR_ATTRIBUTE_SENSITIVE:
      return "the attribute is secret and the token will not reveal it (this is intended)";
    case CKR_KEY_TYPE_INCONSISTENT:
      return "the mechanism does not fit this key type; pick a matching mechanism";
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
      return "the key's attributes forbid this use (e.g. CKA_SIGN is false); use a signing key";
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
      return "the handle is stale (private key handles die with a logout); look the key up again";
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
      return "the session was closed by the module or token; open a new Session";
    case CKR_MECHANISM_INVALID:
      return "this token does not offer the mechanism; check the token's mechanism list";
    case CKR_CRYPTOKI_ALREADY_INITIALIZED:
      return "the module is already loaded and initialised in this process; reuse that Module";
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return "the module was finalised; keep the Module alive while sessions exist";
    case CKR_DEVICE_MEMORY: return "the token is full; delete unused objects";
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
      return "check the token connection (and for SoftHSMv2 the token directory permissions)";
    default: return {};
  }
}

std::string pkcs11_message(std::string_view call, CK_RV rv) {
  std::string message(call);
  message += ": ";
  const std::string_view name = rv_name(rv);
  if (name == "unknown CK_RV" || name == "CKR_VENDOR_DEFINED") {
    char hex[32];
    std::snprintf(hex, sizeof hex, "CK_RV 0x%08lX", static_cast<unsigned long>(rv));
    message += hex;
  } else {
    message += name;
  }
  if (const std::string_view h = hint(rv); !h.empty()) {
    message += "; ";
    message += h;
  }
  return message;
}

}  // namespace

Error::Error(std::string_view call, CK_RV rv)
    : std::runtime_error(pkcs11_message(call, rv)),
      m_reason(Reason::Pkcs11),
      m_rv(rv),
      m_call(call) {}

Error::Error(Reason reason, const std::string& message)
    : std::runtime_error(message), m_reason(reason), m_rv(CKR_GENERAL_ERROR) {}

std::string attribute_name(CK_ATTRIBUTE_TYPE type) {
  switch (type) {
    case CKA_CLASS: return "CKA_CLASS";
    case CKA_TOKEN: return "CKA_TOKEN";
    case CKA_PRIVATE: return "CKA_PRIVATE";
    case CKA_LABEL: return "CKA_LABEL";
    case CKA_ID: return "CKA_ID";
    case CKA_KEY_TYPE: return "CKA_KEY_TYPE";
    case CKA_SENSITIVE: return "CKA_SENSITIVE";
    case CKA_EXTRACTABLE: return "CKA_EXTRACTABLE";
    case CKA_MODIFIABLE: return "CKA_MODIFIABLE";
    case CKA_SIGN: return "CKA_SIGN";
    case CKA_VERIFY: return "CKA_VERIFY";
    case CKA_ENCRYPT: return "CKA_ENCRYPT";
    case CKA_DECRYPT: return "CKA_DECRYPT";
    case CKA_WRAP: return "CKA_WRAP";
    case CKA_UNWRAP: return "CKA_UNWRAP";
    case CKA_DERIVE: return "CKA_DERIVE";
    case CKA_MODULUS: return "CKA_MODULUS";
    case CKA_MODULUS_BITS: return "CKA_MODULUS_BITS";
    case CKA_PUBLIC_EXPONENT: return "CKA_PUBLIC_EXPONENT";
    case CKA_PRIVATE_EXPONENT: return "CKA_PRIVATE_EXPONENT";
    case CKA_EC_PARAMS: return "CKA_EC_PARAMS";
    case CKA_EC_POINT: return "CKA_EC_POINT";
    case CKA_VALUE: return "CKA_VALUE";
    default: break;
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "CKA_0x%08lX", static_cast<unsigned long>(type));
  return hex;
}

}  // namespace hanko::hsm
