#pragma once
// Backup sets (R7, R42, R44): a consistent copy of the CA database, the configuration, the public
// keys and every key of the CA wrapped inside the token under the trusted backup key, listed in a
// manifest with the SHA-256 of every file. The manifest is authenticated with HMAC-SHA256 under a
// key derived from the backup key: the primary token holds that MAC key (private, made at
// backup-setup), so a daily backup needs only the PIN quorum, and the backup center checks the
// MAC with the backup key its custodians rebuild before anything of the set is used. Whoever can
// forge a manifest can also unwrap the keys, so the MAC protects exactly as far as the wrapping.
//
// A set is a folder:
//   manifest.txt     "hanko-backup 1", then one tab-separated record a line (see Manifest)
//   manifest.mac     HMAC-SHA256(mac key, manifest.txt), hex
//   ca.db ca.conf profiles.conf audit.spki [transport.spki] backup-key.txt
//                    (ca.db encrypted under database_key() when ca.conf names a database_key)
//   keys/<n>.wrapped the private key of the manifest's n-th key record, PKCS#8 under
//                    CKM_AES_KEY_WRAP_PAD (RFC 5649)
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hanko/hsm/secret.h"
#include "hanko/hsm/session.h"
#include "hanko/pki/bytes.h"
#include "hanko/pki/time.h"

namespace hanko::offline::backup {

// Labels of the backup objects in the primary token (made by backup-setup).
inline constexpr const char* kWrapKeyLabel = "hanko-backup-wrap";  // public, trusted, WRAP only (SO)
inline constexpr const char* kMacKeyLabel = "hanko-backup-mac";    // private, HMAC only (user)
inline constexpr const char* kUnwrapKeyLabel = "hanko-backup-unwrap";  // restore: a session object
// In the state folder after backup-setup: which share set the backup key belongs to.
inline constexpr const char* kBackupKeyFile = "backup-key.txt";

class BackupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// HKDF-SHA256(backup key, info "hanko backup manifest MAC 1"), 32 bytes. A separate key, so the
// AES key that wraps is used for nothing else.
hsm::Secret derive_mac_key(const hsm::Secret& backup_key);
Bytes hmac_sha256(const hsm::Secret& key, BytesView data);

// R42: when the CA's database is encrypted, the set's copy is too, under HMAC-SHA256(MAC key,
// this label): the primary token computes it with its MAC key, the backup center from the
// rebuilt backup key, and nobody else can.
inline constexpr std::string_view kDatabaseKeyLabel = "hanko backup database key 1";
hsm::Secret database_key(const hsm::Secret& mac_key);

struct KeyRecord {
  std::string role;        // "ca", "audit" or "transport"
  int generation = 0;      // CA keys only
  std::string label;
  Bytes id;                // CKA_ID of both halves
  hsm::PublicComponents public_key;
  Bytes spki_sha256;       // of the public key info the token gave at backup time
  std::string file;        // "keys/<n>.wrapped"
};

struct FileRecord {
  std::string name;
  std::uint64_t size = 0;
  Bytes sha256;
};

struct Manifest {
  pki::Time created{};
  std::string ca_subject;
  Bytes ca_fingerprint;        // SHA-256 of generation 1's self-signed certificate
  std::string backup_key_set;  // share set id of the backup key (hex)
  std::int64_t audit_sequence = 0;
  Bytes audit_head;            // chain head at the time of the copy (includes the backup event)
  std::vector<KeyRecord> keys;
  std::vector<FileRecord> files;

  std::string serialize() const;
  static Manifest parse(std::string_view text);  // strict; throws BackupError naming the line
};

FileRecord describe_file(const std::filesystem::path& set, const std::string& name);

// Reads a set and checks it completely: the MAC over the manifest (with the MAC key the backup
// center derives from the rebuilt backup key), then every listed file's size and SHA-256, and
// that the folder holds no file the manifest does not list. Throws BackupError naming the first
// problem; reads only.
Manifest read_verified(const std::filesystem::path& set, const hsm::Secret& mac_key);
// The same without the MAC (no backup key at hand): every file against the manifest's digests.
// Used when copying a set to external media.
Manifest read_checked_without_mac(const std::filesystem::path& set);

// Copies a set file by file, checking each digest on the way and reading the copy back; the copy
// appears under `to` only when complete (temporary name, fsync, rename).
void copy_set(const std::filesystem::path& from, const std::filesystem::path& to);

// Makes `dir` durable: fsyncs every regular file under it and every folder, then renames it to
// `final_name` and fsyncs the parent.
void publish_folder(const std::filesystem::path& dir, const std::filesystem::path& final_name);

// A signed statement that a key was destroyed (R8), kept beside the backup sets so a restore
// refuses to bring the key back from any of them.
//   "hanko key destruction 1\nca <fingerprint>\ngeneration <n>\nlabel <label>\nspki-sha256 <hex>\n
//    time <time>\nsignature <algorithm> <hex>\n"; the signature (audit key) covers all lines
//    before "signature".
struct DestructionNotice {
  Bytes ca_fingerprint;
  int generation = 0;
  std::string label;
  Bytes spki_sha256;
  pki::Time time{};
  std::string signature_algorithm;
  Bytes signature;
  std::string signed_text;

  static DestructionNotice parse(std::string_view text);  // strict; throws BackupError
};
std::string destruction_notice_body(BytesView ca_fingerprint, int generation, const std::string& label,
                                    BytesView spki_sha256, pki::Time time);

}  // namespace hanko::offline::backup
