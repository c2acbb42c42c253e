#pragma once
// Custodian quorum (R5, R6): the token's user PIN is a random secret split with Shamir sharing
// (Crypto++ SecretSharing) into N shares, any M of which rebuild it. Each share is sealed for its
// custodian under a passphrase (scrypt, then AES-256-GCM) and names its custodian, its set and
// the secret's digest, so a wrong passphrase, a damaged share, a share of another set or a wrong
// combination is named instead of silently giving a wrong PIN.
//
// SealedShare ::= SEQUENCE {
//   header SEQUENCE {
//     version     INTEGER (1),
//     setId       OCTET STRING (SIZE (16)),   -- one split; re-sharing makes a new set
//     custodian   UTF8String (SIZE (1..64)),
//     index       INTEGER,                     -- 1..count
//     threshold   INTEGER, count INTEGER,
//     secretCheck OCTET STRING (SIZE (16)),   -- SHA-256(setId || secret), first 16 octets
//     salt        OCTET STRING (SIZE (16)), scryptN INTEGER, scryptR INTEGER, scryptP INTEGER,
//     nonce       OCTET STRING (SIZE (12)) },
//   sealed OCTET STRING }                      -- AES-256-GCM(share), header as associated data
#include <filesystem>
#include <string>
#include <vector>

#include "hanko/hsm/secret.h"
#include "hanko/pki/bytes.h"

namespace CryptoPP {
class RandomNumberGenerator;
}

namespace hanko::offline {

class CustodyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The passphrase does not open the share (or the sealed part is damaged): on a terminal, the
// custodian may type it again.
class WrongPassphrase : public CustodyError {
 public:
  using CustodyError::CustodyError;
};

struct ShareHeader {
  Bytes set_id;
  std::string custodian;
  int index = 0;
  int threshold = 0;
  int count = 0;
  Bytes secret_check;
};

// R6 for PINs and passphrases: at least 8 characters with upper case, lower case and digits; or
// a passphrase of words, at least 4 words and 20 characters (stronger than 8 mixed characters and
// easier to type right under a ceremony's eyes). kActivationRule states it for messages.
inline constexpr const char* kActivationRule =
    "at least 8 characters with upper case, lower case and digits, or at least 4 words and 20 characters (R6)";
bool meets_activation_rule(BytesView secret);
void check_passphrase_rule(BytesView passphrase, const std::string& whose);

// Splits `secret` for the custodians (in order); each passphrase seals its custodian's share.
std::vector<Bytes> split_secret(const hsm::Secret& secret, int threshold, const std::vector<std::string>& custodians,
                                const std::vector<hsm::Secret>& passphrases, CryptoPP::RandomNumberGenerator& rng);

ShareHeader read_share_header(BytesView sealed_share);  // strict; throws CustodyError

// Gathers shares one by one and rebuilds the secret once `threshold` are present.
class Quorum {
 public:
  // Opens one share; throws CustodyError naming the custodian and what is wrong.
  void present(BytesView sealed_share, const hsm::Secret& passphrase);
  int present_count() const noexcept { return static_cast<int>(m_shares.size()); }
  int threshold() const noexcept { return m_threshold; }
  int still_needed() const noexcept { return m_threshold == 0 ? 1 : std::max(0, m_threshold - present_count()); }
  std::vector<std::string> custodians() const;
  // The secret, checked against the digest every share carries.
  hsm::Secret recover() const;

 private:
  Bytes m_set_id;
  Bytes m_check;
  int m_threshold = 0;
  struct Opened {
    std::string custodian;
    int index;
    hsm::Secret share;
  };
  std::vector<Opened> m_shares;
};

// The file name of a custodian's share in a shares folder: NAME.share, with anything but letters,
// digits, '-' and '_' replaced by '_'.
std::string share_file_name(const std::string& custodian);

// A sealed share from a custodian's medium: the share file itself, or a photo or scan (PNG or
// JPEG) of its printed page, whose QR code holds the same bytes (read through ZXing). Throws
// CustodyError naming the file when neither.
Bytes read_share_file(const std::filesystem::path& path);

// The printable paper backup of a share: an HTML page with the custodian's name, the set, the
// share's fingerprint and its QR code (inline SVG), and the QR code as PNG beside it (PAGE.png).
// The sealed share is safe on paper: it opens only with its custodian's passphrase.
void write_share_page(BytesView sealed_share, const std::filesystem::path& html);

// The token PIN for a secret: printable text that meets R6.
hsm::Secret pin_from_secret(const hsm::Secret& secret);

}  // namespace hanko::offline
