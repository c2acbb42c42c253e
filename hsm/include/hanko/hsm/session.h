#pragma once
// A PKCS#11 session: login, key pairs on the token, and signing.
#include <p11-kit/pkcs11.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hanko/hsm/key_types.h"
#include "hanko/hsm/module.h"
#include "hanko/hsm/secret.h"
#include "hanko/pki/bytes.h"

namespace hanko::hsm {

// Handles of a key pair on the token. Both halves carry the same CKA_LABEL and CKA_ID.
// Handles belong to the session that found them and may become invalid after a logout.
struct KeyPair {
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  std::string label;
  Bytes id;
  KeyType type = KeyType::Rsa2048;
};

// Whether a new key pair may ever leave the token. kWrapWithTrustedOnly: the private key is
// SENSITIVE and EXTRACTABLE but also WRAP_WITH_TRUSTED, so it leaves only wrapped under a key the
// security officer marked trusted (the backup wrapping key), never in the clear (R7).
enum class KeyBackup { kNever, kWrapWithTrustedOnly };

// The public half of a key pair as PKCS#11 holds it, enough to recreate the public key object
// after the private key was unwrapped elsewhere. RSA: modulus and exponent; EC: CKA_EC_POINT
// exactly as the module stored it (SoftHSMv2: a DER OCTET STRING around 04 || X || Y).
struct PublicComponents {
  KeyType type = KeyType::Rsa2048;
  Bytes modulus;
  Bytes public_exponent;
  Bytes ec_point;
};

// One PKCS#11 session on a token. Move-only; the destructor logs out (if this session logged
// in) and closes the session without throwing.
//
// Threads: PKCS#11 sessions must not be used by two threads at once. Give each thread its own
// Session; they may share one Module. Logins are counted per token across sessions, so sessions
// may log in and be destroyed in any order.
class Session {
 public:
  Session(const Module& module, CK_SLOT_ID slot, bool read_write);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  ~Session() noexcept;

  CK_SESSION_HANDLE handle() const noexcept { return m_handle; }
  CK_SLOT_ID slot() const noexcept { return m_slot; }
  const std::string& token_label() const noexcept { return m_token_label; }

  // PKCS#11 keeps one login per token for the whole process. When another Session of this
  // process is already logged in, the module answers CKR_USER_ALREADY_LOGGED_IN without checking
  // the PIN; this session then shares that login (it is authorised anyway) and counts itself in.
  void login_user(const Secret& pin);
  // Security officer login, needed only to set the user PIN.
  void login_so(const Secret& pin);
  void logout();
  bool logged_in() const noexcept { return m_logged_in; }
  // Sets the user PIN; needs login_so and a read-write session.
  void init_user_pin(const Secret& pin);
  // Changes the PIN of the user logged in on this read-write session (C_SetPIN).
  void set_pin(const Secret& old_pin, const Secret& new_pin);

  // Generates a non-extractable signing key pair on the token (read-write session, user login).
  // CKA_ID is 16 random bytes from the token: it must be set at creation, because the private
  // key is created with CKA_MODIFIABLE false. Throws Error(Reason::KeyExists) without creating
  // anything when an object with this label exists.
  // With KeyBackup::kWrapWithTrustedOnly the private key can later be wrapped under a trusted
  // key (wrap_private_key) and nothing else.
  KeyPair generate_key_pair(KeyType type, std::string_view label,
                            KeyBackup backup = KeyBackup::kNever);
  // Whether the pair was generated with KeyBackup::kWrapWithTrustedOnly.
  bool backup_allowed(const KeyPair& key);
  std::optional<KeyPair> find_key_pair(std::string_view label);
  // Like find_key_pair, but throws Error(Reason::KeyNotFound) naming the label and token.
  KeyPair key_pair(std::string_view label);
  // Labels of all keys visible in this session, sorted, each once.
  std::vector<std::string> key_labels();
  void destroy_key_pair(const KeyPair& key);

  // DER SubjectPublicKeyInfo of the public key (EC keys with the curve as a named OID).
  Bytes public_key_info(const KeyPair& key);

  PublicComponents public_components(const KeyPair& key);

  // --- backup by wrapping (R7) ---------------------------------------------------------------
  // An AES-256 key from `value` that wraps and does nothing else: CKA_TRUSTED, CKA_PRIVATE false
  // (PKCS#11 lets only the security officer create trusted keys, and only public ones), WRAP
  // true, every other capability false, MODIFIABLE false (SoftHSMv2 turns ENCRYPT/DECRYPT on by
  // default; DECRYPT with CKM_AES_ECB would then recover a wrapped key). Needs login_so.
  CK_OBJECT_HANDLE create_wrapping_key(std::string_view label, const Secret& value);
  // An AES-256 key from `value` that unwraps and does nothing else: private (user login),
  // UNWRAP true, every other capability false, and a CKA_UNWRAP_TEMPLATE that forces every
  // unwrapped key to be PRIVATE, SENSITIVE, EXTRACTABLE and WRAP_WITH_TRUSTED. `on_token` false
  // makes a session object that vanishes with the session.
  CK_OBJECT_HANDLE create_unwrapping_key(std::string_view label, const Secret& value, bool on_token);
  // A private generic-secret key from `value` for CKM_SHA256_HMAC (SIGN and VERIFY only).
  CK_OBJECT_HANDLE create_mac_key(std::string_view label, const Secret& value);
  // The one secret key with this label, if any (look it up again after each login).
  std::optional<CK_OBJECT_HANDLE> find_secret_key(std::string_view label);
  // HMAC-SHA256 computed in the token.
  Bytes hmac_sha256(CK_OBJECT_HANDLE key, BytesView data);
  // The private key wrapped with CKM_AES_KEY_WRAP_PAD (RFC 5649) as PKCS#8. The module refuses
  // (CKR_KEY_NOT_WRAPPABLE) unless the wrapping key is trusted, or (CKR_KEY_UNEXTRACTABLE) when
  // the key was generated with KeyBackup::kNever.
  Bytes wrap_private_key(CK_OBJECT_HANDLE wrapping_key, const KeyPair& key);
  // Recreates a key pair from a wrapped private key and its public components: both halves on
  // the token with `label` and `id`, signing only, the private key again wrappable only under a
  // trusted key. Throws Error(KeyExists) when the label is taken; leaves nothing on failure.
  KeyPair unwrap_key_pair(CK_OBJECT_HANDLE unwrapping_key, BytesView wrapped,
                          const PublicComponents& public_key, std::string_view label, BytesView id);
  void destroy_object(CK_OBJECT_HANDLE object);

  // Signs data. RSA: the raw signature (PKCS#1 v1.5 or PSS). ECDSA: DER SEQUENCE { r, s }.
  // Throws Error(Reason::MechanismMismatch) when the mechanism does not fit the key.
  Bytes sign(const KeyPair& key, SignMechanism mechanism, BytesView data);
  // Signs a digest the caller computed with the mechanism's hash (e.g. while streaming a large
  // CRL). Throws Error(Reason::InvalidArgument) when the digest has the wrong length.
  Bytes sign_digest(const KeyPair& key, SignMechanism mechanism, BytesView digest);

  // Raw attribute access (two-pass C_GetAttributeValue), e.g. to audit key properties.
  Bytes attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
  bool bool_attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);

 private:
  void login(CK_USER_TYPE user, const Secret& pin);
  // Leaves this session's share of the token login; returns C_Logout's result if it was last.
  CK_RV end_login() noexcept;
  void release() noexcept;
  std::vector<CK_OBJECT_HANDLE> find_objects(const std::vector<CK_ATTRIBUTE>& pattern);
  KeyType key_type_of(CK_OBJECT_HANDLE public_key);
  Bytes sign_raw(const KeyPair& key, CK_MECHANISM& mechanism, BytesView input);

  CK_FUNCTION_LIST_PTR m_functions = nullptr;
  Module::LoginRegistry* m_logins = nullptr;
  CK_SESSION_HANDLE m_handle = CK_INVALID_HANDLE;
  CK_SLOT_ID m_slot = 0;
  std::string m_token_label;
  bool m_logged_in = false;
};

}  // namespace hanko::hsm
