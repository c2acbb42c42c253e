#include "hanko/hsm/session.h"

#include <cryptopp/sha.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "der.h"
#include "hanko/hsm/error.h"
#include "padded_text.h"

namespace hanko::hsm {

namespace {

// Above this size the message is hashed here and only the digest goes to the token. Measured with
// bench_hsm_sign (SoftHSMv2 2.6.1, RSA-2048): at 64 KiB both ways cost the same within noise
// (0.50 ms); at 1 MiB hashing here takes 1.0 ms against 1.9 ms for one C_Sign; for a 35 MiB CRL
// 20 ms against 58 ms (1 MiB C_SignUpdate pieces: 21 ms). Below it the token hashes, which keeps
// the whole mechanism inside the token for the common small to-be-signed structures.
constexpr std::size_t kTokenHashLimit = 64 * 1024;

// Random CKA_ID length; 16 bytes make collisions between key pairs practically impossible.
constexpr std::size_t kKeyIdSize = 16;

constexpr CK_BBOOL kTrue = CK_TRUE;
constexpr CK_BBOOL kFalse = CK_FALSE;
constexpr CK_ULONG kRsaPublicExponent = 65537;
constexpr std::uint8_t kRsaPublicExponentBytes[] = {0x01, 0x00, 0x01};
static_assert(kRsaPublicExponent == 0x010001);

// PKCS#11 templates take non-const pointers but the module only reads them for these calls.
CK_ATTRIBUTE make_attribute(CK_ATTRIBUTE_TYPE type, const void* value, std::size_t size) {
  return {type, const_cast<void*>(value), size};
}
template <typename T>
CK_ATTRIBUTE scalar_attribute(CK_ATTRIBUTE_TYPE type, const T& value) {
  return make_attribute(type, &value, sizeof value);
}
CK_ATTRIBUTE bytes_attribute(CK_ATTRIBUTE_TYPE type, BytesView value) {
  return make_attribute(type, value.data(), value.size());
}
CK_ATTRIBUTE text_attribute(CK_ATTRIBUTE_TYPE type, std::string_view value) {
  return make_attribute(type, value.data(), value.size());
}

// C_FindObjectsInit ... C_FindObjectsFinal, with Final guaranteed (an unfinished search blocks
// every other operation on the session).
class ObjectFinder {
 public:
  ObjectFinder(CK_FUNCTION_LIST_PTR functions, CK_SESSION_HANDLE session,
               const std::vector<CK_ATTRIBUTE>& pattern)
      : m_functions(functions), m_session(session) {
    check_rv("C_FindObjectsInit",
             functions->C_FindObjectsInit(session, const_cast<CK_ATTRIBUTE*>(pattern.data()),
                                          pattern.size()));
  }
  ObjectFinder(const ObjectFinder&) = delete;
  ObjectFinder& operator=(const ObjectFinder&) = delete;
  ~ObjectFinder() noexcept { m_functions->C_FindObjectsFinal(m_session); }

  std::vector<CK_OBJECT_HANDLE> all() {
    std::vector<CK_OBJECT_HANDLE> found;
    CK_OBJECT_HANDLE batch[64];
    for (;;) {
      CK_ULONG count = 0;
      check_rv("C_FindObjects", m_functions->C_FindObjects(m_session, batch, 64, &count));
      found.insert(found.end(), batch, batch + count);
      if (count < 64) return found;
    }
  }

 private:
  CK_FUNCTION_LIST_PTR m_functions;
  CK_SESSION_HANDLE m_session;
};

struct KeyShape {
  CK_KEY_TYPE key_type;
  CK_ULONG modulus_bits;  // RSA only
  BytesView ec_params;    // EC only
  std::size_t signature_size;
};

KeyShape shape(KeyType type) {
  switch (type) {
    case KeyType::Rsa2048: return {CKK_RSA, 2048, {}, 256};
    case KeyType::Rsa3072: return {CKK_RSA, 3072, {}, 384};
    case KeyType::Rsa4096: return {CKK_RSA, 4096, {}, 512};
    case KeyType::EcP256: return {CKK_EC, 0, der::kP256Params, 64};
    case KeyType::EcP384: return {CKK_EC, 0, der::kP384Params, 96};
  }
  throw Error(Reason::KeyUnsupported,
              "unknown key type; use rsa2048, rsa3072, rsa4096, p256 or p384");
}

// How each SignMechanism maps onto PKCS#11.
struct MechanismSpec {
  CK_MECHANISM_TYPE on_data;    // the token hashes (RSA only)
  CK_MECHANISM_TYPE on_digest;  // the caller hashed
  CK_MECHANISM_TYPE hash;
  CK_RSA_PKCS_MGF_TYPE mgf;
  bool pss;
  bool ecdsa;
};

MechanismSpec spec(SignMechanism mechanism) {
  switch (mechanism) {
    case SignMechanism::RsaPkcs1Sha256:
      return {CKM_SHA256_RSA_PKCS, CKM_RSA_PKCS, CKM_SHA256, CKG_MGF1_SHA256, false, false};
    case SignMechanism::RsaPkcs1Sha384:
      return {CKM_SHA384_RSA_PKCS, CKM_RSA_PKCS, CKM_SHA384, CKG_MGF1_SHA384, false, false};
    case SignMechanism::RsaPkcs1Sha512:
      return {CKM_SHA512_RSA_PKCS, CKM_RSA_PKCS, CKM_SHA512, CKG_MGF1_SHA512, false, false};
    case SignMechanism::RsaPssSha256:
      return {CKM_SHA256_RSA_PKCS_PSS, CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, true, false};
    case SignMechanism::RsaPssSha384:
      return {CKM_SHA384_RSA_PKCS_PSS, CKM_RSA_PKCS_PSS, CKM_SHA384, CKG_MGF1_SHA384, true, false};
    case SignMechanism::RsaPssSha512:
      return {CKM_SHA512_RSA_PKCS_PSS, CKM_RSA_PKCS_PSS, CKM_SHA512, CKG_MGF1_SHA512, true, false};
    // SoftHSMv2 offers no CKM_ECDSA_SHAx: ECDSA always hashes here and signs with CKM_ECDSA.
    case SignMechanism::EcdsaSha256: return {CKM_ECDSA, CKM_ECDSA, CKM_SHA256, 0, false, true};
    case SignMechanism::EcdsaSha384: return {CKM_ECDSA, CKM_ECDSA, CKM_SHA384, 0, false, true};
    case SignMechanism::EcdsaSha512: return {CKM_ECDSA, CKM_ECDSA, CKM_SHA512, 0, false, true};
  }
  throw Error(Reason::InvalidArgument, "unknown signing mechanism");
}

template <typename Hash>
Bytes digest_with(BytesView data) {
  Bytes out(Hash::DIGESTSIZE);
  Hash().CalculateDigest(out.data(), data.data(), data.size());
  return out;
}

Bytes hash(SignMechanism mechanism, BytesView data) {
  switch (spec(mechanism).hash) {
    case CKM_SHA256: return digest_with<CryptoPP::SHA256>(data);
    case CKM_SHA384: return digest_with<CryptoPP::SHA384>(data);
    default: return digest_with<CryptoPP::SHA512>(data);
  }
}

void check_fits(const KeyPair& key, SignMechanism mechanism) {
  if (fits(key.type, mechanism)) return;
  throw Error(Reason::MechanismMismatch,
              "mechanism " + std::string(sign_mechanism_name(mechanism)) + " cannot sign with " +
                  std::string(key_type_name(key.type)) + " key '" + key.label + "'; use " +
                  (is_rsa(key.type) ? "an rsa-pkcs1-* or rsa-pss-*" : "an ecdsa-*") + " mechanism");
}

std::string quoted_list(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "'" : ", '") + item + "'";
  return out;
}

}  // namespace

Session::Session(const Module& module, CK_SLOT_ID slot, bool read_write)
    : m_functions(module.functions()), m_logins(module.m_logins.get()), m_slot(slot) {
  if (m_functions == nullptr) {
    throw Error(Reason::InvalidArgument,
                "cannot open a session on a moved-from Module; use the Module it was moved to");
  }
  CK_TOKEN_INFO token{};
  check_rv("C_GetTokenInfo", m_functions->C_GetTokenInfo(slot, &token));
  m_token_label = trimmed(token.label);
  const CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
  check_rv("C_OpenSession", m_functions->C_OpenSession(slot, flags, nullptr, nullptr, &m_handle));
}

Session::Session(Session&& other) noexcept
    : m_functions(std::exchange(other.m_functions, nullptr)),
      m_logins(std::exchange(other.m_logins, nullptr)),
      m_handle(std::exchange(other.m_handle, CK_INVALID_HANDLE)),
      m_slot(other.m_slot),
      m_token_label(std::move(other.m_token_label)),
      m_logged_in(std::exchange(other.m_logged_in, false)) {}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    release();
    m_functions = std::exchange(other.m_functions, nullptr);
    m_logins = std::exchange(other.m_logins, nullptr);
    m_handle = std::exchange(other.m_handle, CK_INVALID_HANDLE);
    m_slot = other.m_slot;
    m_token_label = std::move(other.m_token_label);
    m_logged_in = std::exchange(other.m_logged_in, false);
  }
  return *this;
}

Session::~Session() noexcept { release(); }

void Session::release() noexcept {
  if (m_handle == CK_INVALID_HANDLE) return;
  end_login();
  m_functions->C_CloseSession(m_handle);
  m_handle = CK_INVALID_HANDLE;
}

void Session::login_user(const Secret& pin) { login(CKU_USER, pin); }

void Session::login_so(const Secret& pin) { login(CKU_SO, pin); }

void Session::login(CK_USER_TYPE user, const Secret& pin) {
  if (m_logged_in) check_rv("C_Login", CKR_USER_ALREADY_LOGGED_IN);
  const std::lock_guard lock(m_logins->mutex);
  int& count = m_logins->count[m_slot];
  CK_RV rv = m_functions->C_Login(m_handle, user, const_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
  // Another session of this process already logged in: PKCS#11 logs in per token, not per
  // session, so this session is logged in too and only joins the count.
  if (rv == CKR_USER_ALREADY_LOGGED_IN && count > 0) rv = CKR_OK;
  if (rv != CKR_OK && count == 0) m_logins->count.erase(m_slot);
  check_rv("C_Login", rv);
  ++count;
  m_logged_in = true;
}

CK_RV Session::end_login() noexcept {
  if (!m_logged_in) return CKR_OK;
  m_logged_in = false;
  const std::lock_guard lock(m_logins->mutex);
  if (--m_logins->count[m_slot] > 0) return CKR_OK;
  m_logins->count.erase(m_slot);
  return m_functions->C_Logout(m_handle);
}

void Session::logout() { check_rv("C_Logout", end_login()); }

void Session::init_user_pin(const Secret& pin) {
  check_rv("C_InitPIN",
           m_functions->C_InitPIN(m_handle, const_cast<CK_UTF8CHAR*>(pin.data()), pin.size()));
}

void Session::set_pin(const Secret& old_pin, const Secret& new_pin) {
  check_rv("C_SetPIN", m_functions->C_SetPIN(m_handle, const_cast<CK_UTF8CHAR*>(old_pin.data()), old_pin.size(),
                                             const_cast<CK_UTF8CHAR*>(new_pin.data()), new_pin.size()));
}

Bytes Session::attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  const std::string call = "C_GetAttributeValue(" + attribute_name(type) + ")";
  CK_ATTRIBUTE query = make_attribute(type, nullptr, 0);
  check_rv(call, m_functions->C_GetAttributeValue(m_handle, object, &query, 1));
  Bytes value(query.ulValueLen);
  query.pValue = value.data();
  check_rv(call, m_functions->C_GetAttributeValue(m_handle, object, &query, 1));
  value.resize(query.ulValueLen);
  return value;
}

bool Session::bool_attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  const Bytes value = attribute(object, type);
  return value.size() == sizeof(CK_BBOOL) && value[0] == CK_TRUE;
}

namespace {

CK_ULONG as_ulong(const Bytes& value, CK_ATTRIBUTE_TYPE type) {
  CK_ULONG result = 0;
  if (value.size() != sizeof result) {
    throw Error(Reason::KeyUnsupported, attribute_name(type) + " has " +
                                            std::to_string(value.size()) +
                                            " bytes instead of a CK_ULONG; check the module");
  }
  std::memcpy(&result, value.data(), sizeof result);
  return result;
}

}  // namespace

std::vector<CK_OBJECT_HANDLE> Session::find_objects(const std::vector<CK_ATTRIBUTE>& pattern) {
  return ObjectFinder(m_functions, m_handle, pattern).all();
}

KeyType Session::key_type_of(CK_OBJECT_HANDLE public_key) {
  const CK_KEY_TYPE key_type = as_ulong(attribute(public_key, CKA_KEY_TYPE), CKA_KEY_TYPE);
  const Bytes ec_params = key_type == CKK_EC ? attribute(public_key, CKA_EC_PARAMS) : Bytes{};
  const CK_ULONG bits =
      key_type == CKK_RSA ? as_ulong(attribute(public_key, CKA_MODULUS_BITS), CKA_MODULUS_BITS) : 0;
  for (const KeyType type :
       {KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096, KeyType::EcP256, KeyType::EcP384}) {
    const KeyShape s = shape(type);
    if (s.key_type == key_type && s.modulus_bits == bits &&
        std::equal(s.ec_params.begin(), s.ec_params.end(), ec_params.begin(), ec_params.end())) {
      return type;
    }
  }
  const std::string what = key_type == CKK_RSA  ? "an RSA key of " + std::to_string(bits) + " bits"
                           : key_type == CKK_EC ? "an EC key on a curve hanko does not support"
                                                : "a key of type " + std::to_string(key_type);
  throw Error(Reason::KeyUnsupported,
              what + " is not supported; use rsa2048, rsa3072, rsa4096, p256 or p384 keys");
}

std::optional<KeyPair> Session::find_key_pair(std::string_view label) {
  const auto find = [&](CK_OBJECT_CLASS object_class) {
    return find_objects(
        {scalar_attribute(CKA_CLASS, object_class), text_attribute(CKA_LABEL, label)});
  };
  const std::vector<CK_OBJECT_HANDLE> private_keys = find(CKO_PRIVATE_KEY);
  const std::vector<CK_OBJECT_HANDLE> public_keys = find(CKO_PUBLIC_KEY);
  if (private_keys.empty() && public_keys.empty()) return std::nullopt;

  const std::string where = "key '" + std::string(label) + "' in token '" + m_token_label + "'";
  if (private_keys.size() > 1 || public_keys.size() > 1) {
    throw Error(Reason::KeyIncomplete, where +
                                           " is ambiguous: " + std::to_string(private_keys.size()) +
                                           " private and " + std::to_string(public_keys.size()) +
                                           " public keys carry that label; relabel the extras");
  }
  if (private_keys.empty()) {
    throw Error(Reason::KeyIncomplete,
                where + " has no visible private key; " +
                    (m_logged_in ? "the public key is an orphan: destroy it or restore the key"
                                 : "log in with the user PIN first"));
  }
  if (public_keys.empty()) {
    throw Error(Reason::KeyIncomplete,
                where +
                    " has no public key (needed for its type and public key info); "
                    "recreate the public key object from a backup");
  }
  KeyPair key;
  key.private_key = private_keys.front();
  key.public_key = public_keys.front();
  key.label = std::string(label);
  key.id = attribute(key.private_key, CKA_ID);
  key.type = key_type_of(key.public_key);
  return key;
}

KeyPair Session::key_pair(std::string_view label) {
  if (std::optional<KeyPair> key = find_key_pair(label)) return std::move(*key);
  throw Error(Reason::KeyNotFound, "no key labelled '" + std::string(label) + "' in token '" +
                                       m_token_label + "' (keys: " + quoted_list(key_labels()) +
                                       "); check the key label" +
                                       (m_logged_in ? "" : " and log in to see private keys"));
}

std::vector<std::string> Session::key_labels() {
  std::set<std::string> labels;
  for (const CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    for (const CK_OBJECT_HANDLE object :
         find_objects({scalar_attribute(CKA_CLASS, object_class)})) {
      labels.insert(to_string(attribute(object, CKA_LABEL)));
    }
  }
  return {labels.begin(), labels.end()};
}

KeyPair Session::generate_key_pair(KeyType type, std::string_view label, KeyBackup backup) {
  if (!find_objects({text_attribute(CKA_LABEL, label)}).empty()) {
    throw Error(Reason::KeyExists, "a key labelled '" + std::string(label) +
                                       "' already exists in token '" + m_token_label +
                                       "'; choose another label or destroy the old key first");
  }
  Bytes id(kKeyIdSize);
  check_rv("C_GenerateRandom", m_functions->C_GenerateRandom(m_handle, id.data(), id.size()));

  const KeyShape key_shape = shape(type);
  const CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  const CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  // Every capability is stated explicitly: SoftHSMv2 turns most of them on by default.
  std::vector<CK_ATTRIBUTE> public_template{
      scalar_attribute(CKA_CLASS, public_class), scalar_attribute(CKA_KEY_TYPE, key_shape.key_type),
      scalar_attribute(CKA_TOKEN, kTrue),        scalar_attribute(CKA_PRIVATE, kFalse),
      text_attribute(CKA_LABEL, label),          bytes_attribute(CKA_ID, id),
      scalar_attribute(CKA_VERIFY, kTrue),       scalar_attribute(CKA_VERIFY_RECOVER, kFalse),
      scalar_attribute(CKA_ENCRYPT, kFalse),     scalar_attribute(CKA_WRAP, kFalse),
      scalar_attribute(CKA_DERIVE, kFalse),
  };
  if (key_shape.key_type == CKK_RSA) {
    public_template.push_back(scalar_attribute(CKA_MODULUS_BITS, key_shape.modulus_bits));
    public_template.push_back(bytes_attribute(CKA_PUBLIC_EXPONENT, kRsaPublicExponentBytes));
  } else {
    public_template.push_back(bytes_attribute(CKA_EC_PARAMS, key_shape.ec_params));
  }
  std::vector<CK_ATTRIBUTE> private_template{
      scalar_attribute(CKA_CLASS, private_class),
      scalar_attribute(CKA_KEY_TYPE, key_shape.key_type),
      scalar_attribute(CKA_TOKEN, kTrue),
      scalar_attribute(CKA_PRIVATE, kTrue),
      text_attribute(CKA_LABEL, label),
      bytes_attribute(CKA_ID, id),
      scalar_attribute(CKA_SENSITIVE, kTrue),
      scalar_attribute(CKA_EXTRACTABLE, kFalse),
      scalar_attribute(CKA_SIGN, kTrue),
      scalar_attribute(CKA_SIGN_RECOVER, kFalse),
      scalar_attribute(CKA_DECRYPT, kFalse),
      scalar_attribute(CKA_UNWRAP, kFalse),
      scalar_attribute(CKA_DERIVE, kFalse),
  };
  if (backup == KeyBackup::kWrapWithTrustedOnly) {
    private_template[7] = scalar_attribute(CKA_EXTRACTABLE, kTrue);
    private_template.push_back(scalar_attribute(CKA_WRAP_WITH_TRUSTED, kTrue));
  }
  // Last, so it can be dropped for modules that refuse it: without it a session that is not
  // even logged in could switch capabilities such as CKA_DECRYPT back on.
  public_template.push_back(scalar_attribute(CKA_MODIFIABLE, kFalse));
  private_template.push_back(scalar_attribute(CKA_MODIFIABLE, kFalse));

  CK_MECHANISM mechanism{
      key_shape.key_type == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  KeyPair key{CK_INVALID_HANDLE, CK_INVALID_HANDLE, std::string(label), std::move(id), type};
  const auto generate = [&] {
    return m_functions->C_GenerateKeyPair(
        m_handle, &mechanism, public_template.data(), public_template.size(),
        private_template.data(), private_template.size(), &key.public_key, &key.private_key);
  };
  CK_RV rv = generate();
  if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_READ_ONLY ||
      rv == CKR_TEMPLATE_INCONSISTENT) {
    public_template.pop_back();
    private_template.pop_back();
    rv = generate();
  }
  check_rv("C_GenerateKeyPair", rv);
  return key;
}

bool Session::backup_allowed(const KeyPair& key) {
  return bool_attribute(key.private_key, CKA_EXTRACTABLE) &&
         bool_attribute(key.private_key, CKA_WRAP_WITH_TRUSTED) &&
         bool_attribute(key.private_key, CKA_SENSITIVE);
}

PublicComponents Session::public_components(const KeyPair& key) {
  PublicComponents out;
  out.type = key.type;
  if (shape(key.type).key_type == CKK_RSA) {
    out.modulus = attribute(key.public_key, CKA_MODULUS);
    out.public_exponent = attribute(key.public_key, CKA_PUBLIC_EXPONENT);
  } else {
    out.ec_point = attribute(key.public_key, CKA_EC_POINT);
  }
  return out;
}

namespace {

constexpr std::size_t kAesKeySize = 32;

void check_aes_key(const Secret& value, std::string_view label) {
  if (value.size() != kAesKeySize) {
    throw Error(Reason::InvalidArgument, "key '" + std::string(label) + "' must be an AES-256 value of 32 bytes, not " +
                                             std::to_string(value.size()));
  }
}

}  // namespace

CK_OBJECT_HANDLE Session::create_wrapping_key(std::string_view label, const Secret& value) {
  check_aes_key(value, label);
  if (!find_objects({text_attribute(CKA_LABEL, label)}).empty()) {
    throw Error(Reason::KeyExists, "a key labelled '" + std::string(label) + "' already exists in token '" +
                                       m_token_label + "'; destroy it first or choose another label");
  }
  const CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  const CK_KEY_TYPE aes = CKK_AES;
  std::vector<CK_ATTRIBUTE> key_template{
      scalar_attribute(CKA_CLASS, secret_class), scalar_attribute(CKA_KEY_TYPE, aes),
      scalar_attribute(CKA_TOKEN, kTrue),        scalar_attribute(CKA_PRIVATE, kFalse),
      scalar_attribute(CKA_TRUSTED, kTrue),      text_attribute(CKA_LABEL, label),
      bytes_attribute(CKA_VALUE, value.view()),  scalar_attribute(CKA_WRAP, kTrue),
      scalar_attribute(CKA_UNWRAP, kFalse),      scalar_attribute(CKA_ENCRYPT, kFalse),
      scalar_attribute(CKA_DECRYPT, kFalse),     scalar_attribute(CKA_SIGN, kFalse),
      scalar_attribute(CKA_VERIFY, kFalse),      scalar_attribute(CKA_DERIVE, kFalse),
      scalar_attribute(CKA_SENSITIVE, kTrue),    scalar_attribute(CKA_EXTRACTABLE, kFalse),
      scalar_attribute(CKA_MODIFIABLE, kFalse),
  };
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  check_rv("C_CreateObject(wrapping key)",
           m_functions->C_CreateObject(m_handle, key_template.data(), key_template.size(), &key));
  return key;
}

CK_OBJECT_HANDLE Session::create_unwrapping_key(std::string_view label, const Secret& value, bool on_token) {
  check_aes_key(value, label);
  if (!find_objects({text_attribute(CKA_LABEL, label)}).empty()) {
    throw Error(Reason::KeyExists, "a key labelled '" + std::string(label) + "' already exists in token '" +
                                       m_token_label + "'; destroy it first or choose another label");
  }
  // Whatever comes out of this key stays inside the token and can leave it only wrapped again.
  CK_ATTRIBUTE unwrap_template[] = {
      scalar_attribute(CKA_PRIVATE, kTrue),
      scalar_attribute(CKA_SENSITIVE, kTrue),
      scalar_attribute(CKA_EXTRACTABLE, kTrue),
      scalar_attribute(CKA_WRAP_WITH_TRUSTED, kTrue),
  };
  const CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  const CK_KEY_TYPE aes = CKK_AES;
  const CK_BBOOL token = on_token ? kTrue : kFalse;
  std::vector<CK_ATTRIBUTE> key_template{
      scalar_attribute(CKA_CLASS, secret_class), scalar_attribute(CKA_KEY_TYPE, aes),
      scalar_attribute(CKA_TOKEN, token),        scalar_attribute(CKA_PRIVATE, kTrue),
      text_attribute(CKA_LABEL, label),          bytes_attribute(CKA_VALUE, value.view()),
      scalar_attribute(CKA_UNWRAP, kTrue),       scalar_attribute(CKA_WRAP, kFalse),
      scalar_attribute(CKA_ENCRYPT, kFalse),     scalar_attribute(CKA_DECRYPT, kFalse),
      scalar_attribute(CKA_SIGN, kFalse),        scalar_attribute(CKA_VERIFY, kFalse),
      scalar_attribute(CKA_DERIVE, kFalse),      scalar_attribute(CKA_SENSITIVE, kTrue),
      scalar_attribute(CKA_EXTRACTABLE, kFalse),
      make_attribute(CKA_UNWRAP_TEMPLATE, unwrap_template, sizeof unwrap_template),
      scalar_attribute(CKA_MODIFIABLE, kFalse),
  };
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  check_rv("C_CreateObject(unwrapping key)",
           m_functions->C_CreateObject(m_handle, key_template.data(), key_template.size(), &key));
  return key;
}

CK_OBJECT_HANDLE Session::create_mac_key(std::string_view label, const Secret& value) {
  if (value.size() < 32) throw Error(Reason::InvalidArgument, "a MAC key needs at least 32 bytes");
  if (!find_objects({text_attribute(CKA_LABEL, label)}).empty()) {
    throw Error(Reason::KeyExists, "a key labelled '" + std::string(label) + "' already exists in token '" +
                                       m_token_label + "'; destroy it first or choose another label");
  }
  const CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  const CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
  std::vector<CK_ATTRIBUTE> key_template{
      scalar_attribute(CKA_CLASS, secret_class), scalar_attribute(CKA_KEY_TYPE, generic),
      scalar_attribute(CKA_TOKEN, kTrue),        scalar_attribute(CKA_PRIVATE, kTrue),
      text_attribute(CKA_LABEL, label),          bytes_attribute(CKA_VALUE, value.view()),
      scalar_attribute(CKA_SIGN, kTrue),         scalar_attribute(CKA_VERIFY, kTrue),
      scalar_attribute(CKA_WRAP, kFalse),        scalar_attribute(CKA_UNWRAP, kFalse),
      scalar_attribute(CKA_ENCRYPT, kFalse),     scalar_attribute(CKA_DECRYPT, kFalse),
      scalar_attribute(CKA_DERIVE, kFalse),      scalar_attribute(CKA_SENSITIVE, kTrue),
      scalar_attribute(CKA_EXTRACTABLE, kFalse), scalar_attribute(CKA_MODIFIABLE, kFalse),
  };
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  check_rv("C_CreateObject(MAC key)",
           m_functions->C_CreateObject(m_handle, key_template.data(), key_template.size(), &key));
  return key;
}

std::optional<CK_OBJECT_HANDLE> Session::find_secret_key(std::string_view label) {
  const CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  const std::vector<CK_OBJECT_HANDLE> found =
      find_objects({scalar_attribute(CKA_CLASS, secret_class), text_attribute(CKA_LABEL, label)});
  if (found.empty()) return std::nullopt;
  if (found.size() > 1) {
    throw Error(Reason::KeyIncomplete, std::to_string(found.size()) + " secret keys are labelled '" +
                                           std::string(label) + "' in token '" + m_token_label +
                                           "'; destroy the extras");
  }
  return found.front();
}

Bytes Session::hmac_sha256(CK_OBJECT_HANDLE key, BytesView data) {
  CK_MECHANISM mechanism{CKM_SHA256_HMAC, nullptr, 0};
  check_rv("C_SignInit(HMAC)", m_functions->C_SignInit(m_handle, &mechanism, key));
  Bytes mac(32);
  CK_ULONG size = mac.size();
  std::uint8_t empty = 0;
  std::uint8_t* input = data.empty() ? &empty : const_cast<std::uint8_t*>(data.data());
  check_rv("C_Sign(HMAC)", m_functions->C_Sign(m_handle, input, data.size(), mac.data(), &size));
  mac.resize(size);
  return mac;
}

Bytes Session::wrap_private_key(CK_OBJECT_HANDLE wrapping_key, const KeyPair& key) {
  CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  CK_ULONG size = 0;
  check_rv("C_WrapKey", m_functions->C_WrapKey(m_handle, &mechanism, wrapping_key, key.private_key, nullptr, &size));
  Bytes wrapped(size);
  check_rv("C_WrapKey",
           m_functions->C_WrapKey(m_handle, &mechanism, wrapping_key, key.private_key, wrapped.data(), &size));
  wrapped.resize(size);
  return wrapped;
}

KeyPair Session::unwrap_key_pair(CK_OBJECT_HANDLE unwrapping_key, BytesView wrapped,
                                 const PublicComponents& public_key, std::string_view label, BytesView id) {
  if (!find_objects({text_attribute(CKA_LABEL, label)}).empty()) {
    throw Error(Reason::KeyExists, "a key labelled '" + std::string(label) + "' already exists in token '" +
                                       m_token_label + "'; restore onto a token without it");
  }
  const KeyShape key_shape = shape(public_key.type);
  const CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  const CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  std::vector<CK_ATTRIBUTE> public_template{
      scalar_attribute(CKA_CLASS, public_class), scalar_attribute(CKA_KEY_TYPE, key_shape.key_type),
      scalar_attribute(CKA_TOKEN, kTrue),        scalar_attribute(CKA_PRIVATE, kFalse),
      text_attribute(CKA_LABEL, label),          bytes_attribute(CKA_ID, id),
      scalar_attribute(CKA_VERIFY, kTrue),       scalar_attribute(CKA_VERIFY_RECOVER, kFalse),
      scalar_attribute(CKA_ENCRYPT, kFalse),     scalar_attribute(CKA_WRAP, kFalse),
      scalar_attribute(CKA_DERIVE, kFalse),      scalar_attribute(CKA_MODIFIABLE, kFalse),
  };
  if (key_shape.key_type == CKK_RSA) {
    public_template.push_back(bytes_attribute(CKA_MODULUS, public_key.modulus));
    public_template.push_back(bytes_attribute(CKA_PUBLIC_EXPONENT, public_key.public_exponent));
  } else {
    public_template.push_back(bytes_attribute(CKA_EC_PARAMS, key_shape.ec_params));
    public_template.push_back(bytes_attribute(CKA_EC_POINT, public_key.ec_point));
  }
  std::vector<CK_ATTRIBUTE> private_template{
      scalar_attribute(CKA_CLASS, private_class),
      scalar_attribute(CKA_KEY_TYPE, key_shape.key_type),
      scalar_attribute(CKA_TOKEN, kTrue),
      scalar_attribute(CKA_PRIVATE, kTrue),
      text_attribute(CKA_LABEL, label),
      bytes_attribute(CKA_ID, id),
      scalar_attribute(CKA_SENSITIVE, kTrue),
      scalar_attribute(CKA_EXTRACTABLE, kTrue),
      scalar_attribute(CKA_WRAP_WITH_TRUSTED, kTrue),
      scalar_attribute(CKA_SIGN, kTrue),
      scalar_attribute(CKA_SIGN_RECOVER, kFalse),
      scalar_attribute(CKA_DECRYPT, kFalse),
      scalar_attribute(CKA_UNWRAP, kFalse),
      scalar_attribute(CKA_DERIVE, kFalse),
      scalar_attribute(CKA_MODIFIABLE, kFalse),
  };
  KeyPair key{CK_INVALID_HANDLE, CK_INVALID_HANDLE, std::string(label), Bytes(id.begin(), id.end()), public_key.type};
  CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  check_rv("C_UnwrapKey",
           m_functions->C_UnwrapKey(m_handle, &mechanism, unwrapping_key, const_cast<std::uint8_t*>(wrapped.data()),
                                    wrapped.size(), private_template.data(), private_template.size(),
                                    &key.private_key));
  const CK_RV rv = m_functions->C_CreateObject(m_handle, public_template.data(), public_template.size(), &key.public_key);
  if (rv != CKR_OK) {
    m_functions->C_DestroyObject(m_handle, key.private_key);
    check_rv("C_CreateObject(public key)", rv);
  }
  return key;
}

void Session::destroy_object(CK_OBJECT_HANDLE object) {
  check_rv("C_DestroyObject", m_functions->C_DestroyObject(m_handle, object));
}

void Session::destroy_key_pair(const KeyPair& key) {
  check_rv("C_DestroyObject", m_functions->C_DestroyObject(m_handle, key.private_key));
  check_rv("C_DestroyObject", m_functions->C_DestroyObject(m_handle, key.public_key));
}

Bytes Session::public_key_info(const KeyPair& key) {
  const KeyShape key_shape = shape(key.type);
  if (key_shape.key_type == CKK_RSA) {
    return der::rsa_public_key_info(attribute(key.public_key, CKA_MODULUS),
                                    attribute(key.public_key, CKA_PUBLIC_EXPONENT));
  }
  // The curve comes from our own table, so the output always names it by OID.
  const std::size_t point_size = 1 + key_shape.signature_size;  // 04 || X || Y
  return der::ec_public_key_info(
      key_shape.ec_params, der::ec_point(attribute(key.public_key, CKA_EC_POINT), point_size));
}

Bytes Session::sign_raw(const KeyPair& key, CK_MECHANISM& mechanism, BytesView input) {
  check_rv("C_SignInit", m_functions->C_SignInit(m_handle, &mechanism, key.private_key));
  // The signature size follows from the key type, which saves the usual size-query C_Sign.
  Bytes signature(shape(key.type).signature_size);
  CK_ULONG size = signature.size();
  // An empty span may carry a null pointer, which modules reject as CKR_ARGUMENTS_BAD even with
  // length 0; an empty message is legitimate to sign.
  std::uint8_t empty = 0;
  std::uint8_t* data = input.empty() ? &empty : const_cast<std::uint8_t*>(input.data());
  check_rv("C_Sign", m_functions->C_Sign(m_handle, data, input.size(), signature.data(), &size));
  signature.resize(size);
  return signature;
}

Bytes Session::sign(const KeyPair& key, SignMechanism mechanism, BytesView data) {
  check_fits(key, mechanism);
  const MechanismSpec s = spec(mechanism);
  if (s.ecdsa || data.size() > kTokenHashLimit) {
    return sign_digest(key, mechanism, hash(mechanism, data));
  }
  CK_RSA_PKCS_PSS_PARAMS pss{s.hash, s.mgf, digest_size(mechanism)};
  CK_MECHANISM token_mechanism{s.on_data, s.pss ? &pss : nullptr, s.pss ? sizeof pss : 0};
  return sign_raw(key, token_mechanism, data);
}

Bytes Session::sign_digest(const KeyPair& key, SignMechanism mechanism, BytesView digest) {
  check_fits(key, mechanism);
  if (digest.size() != digest_size(mechanism)) {
    throw Error(Reason::InvalidArgument,
                "a digest of " + std::to_string(digest.size()) + " bytes cannot be signed with " +
                    std::string(sign_mechanism_name(mechanism)) + "; it needs " +
                    std::to_string(digest_size(mechanism)) + " bytes from its hash function");
  }
  const MechanismSpec s = spec(mechanism);
  CK_MECHANISM token_mechanism{s.on_digest, nullptr, 0};
  if (s.ecdsa) return der::ecdsa_signature(sign_raw(key, token_mechanism, digest));
  if (!s.pss) return sign_raw(key, token_mechanism, der::digest_info(digest));
  CK_RSA_PKCS_PSS_PARAMS pss{s.hash, s.mgf, digest.size()};
  token_mechanism.pParameter = &pss;
  token_mechanism.ulParameterLen = sizeof pss;
  return sign_raw(key, token_mechanism, digest);
}

}  // namespace hanko::hsm
