#include "hanko/offline/backup.h"

#include <cryptopp/hkdf.h>
#include <cryptopp/hmac.h>
#include <cryptopp/misc.h>
#include <cryptopp/sha.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

#include "hanko/common/files.h"

namespace hanko::offline::backup {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxManifest = 4u << 20;
constexpr std::uint64_t kMaxSetFile = 16ull << 30;  // a CA database stays far below this
constexpr const char* kManifestFile = "manifest.txt";
constexpr const char* kMacFile = "manifest.mac";

std::vector<std::string> split_tabs(std::string_view line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    out.emplace_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

std::string checked_field(const std::string& value, const char* what) {
  if (value.find_first_of("\t\n\r") != std::string::npos) {
    throw BackupError(std::string(what) + " '" + value + "' contains a tab or line break; it cannot go into a manifest");
  }
  return value;
}

std::int64_t parse_integer(const std::string& text, const std::string& where) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || (text.size() > 1 && text[0] == '0') || value < 0) {
    throw BackupError(where + ": '" + text + "' is not a number");
  }
  return value;
}

Bytes parse_hex(const std::string& text, const std::string& where, std::size_t size = 0) {
  if (text == "-" && size == 0) return {};
  try {
    Bytes out = from_hex(text);
    if (size != 0 && out.size() != size) throw std::invalid_argument("length");
    return out;
  } catch (const std::invalid_argument&) {
    throw BackupError(where + ": '" + text.substr(0, 80) + "' is not " + (size ? std::to_string(size) + " bytes of " : "") + "hexadecimal");
  }
}

std::string hex_or_dash(BytesView b) { return b.empty() ? "-" : to_hex(b); }

// A file name inside a set: a plain name, or keys/<plain name>; nothing that climbs out.
bool safe_name(const std::string& name) {
  std::string_view rest = name;
  if (rest.rfind("keys/", 0) == 0) rest.remove_prefix(5);
  if (rest.empty() || rest.size() > 100 || rest == "." || rest == "..") return false;
  return std::all_of(rest.begin(), rest.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  });
}

Bytes sha256_of_file(const fs::path& path, std::uint64_t& size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw BackupError("cannot read '" + path.string() + "': " + std::strerror(errno));
  CryptoPP::SHA256 hash;
  std::vector<std::uint8_t> buffer(1 << 20);
  size = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      throw BackupError("cannot read '" + path.string() + "': " + std::strerror(errno));
    }
    if (n == 0) break;
    hash.Update(buffer.data(), static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  Bytes digest(CryptoPP::SHA256::DIGESTSIZE);
  hash.Final(digest.data());
  return digest;
}

void fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw BackupError("cannot open '" + path.string() + "' to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw BackupError("cannot sync '" + path.string() + "' to the medium: " + std::strerror(errno));
}

// Every regular file under `set` as a set-relative name; refuses links and other oddities.
std::set<std::string> files_in(const fs::path& set) {
  std::set<std::string> out;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(set)) {
    const std::string name = fs::relative(e.path(), set).generic_string();
    if (e.is_symlink()) throw BackupError("the set holds a symbolic link '" + name + "'; a backup set never does");
    if (e.is_directory()) {
      if (name != "keys") throw BackupError("the set holds an unexpected folder '" + name + "'");
      continue;
    }
    if (!e.is_regular_file()) throw BackupError("the set holds '" + name + "', which is not a regular file");
    out.insert(name);
  }
  return out;
}

Manifest check_files(const fs::path& set, const std::string& text) {
  const Manifest manifest = Manifest::parse(text);
  std::set<std::string> present = files_in(set);
  present.erase(kManifestFile);
  present.erase(kMacFile);
  for (const FileRecord& f : manifest.files) {
    if (!present.erase(f.name)) throw BackupError("file '" + f.name + "' of the manifest is missing from the set");
    std::uint64_t size = 0;
    const Bytes digest = sha256_of_file(set / f.name, size);
    if (size != f.size || digest != f.sha256) {
      throw BackupError("file '" + f.name + "' does not match the manifest (changed or damaged): SHA-256 " + to_hex(digest) +
                        ", expected " + to_hex(f.sha256));
    }
  }
  if (!present.empty()) throw BackupError("the set holds '" + *present.begin() + "', which the manifest does not list");
  for (const KeyRecord& k : manifest.keys) {
    if (std::none_of(manifest.files.begin(), manifest.files.end(), [&](const FileRecord& f) { return f.name == k.file; })) {
      throw BackupError("wrapped key '" + k.label + "' names file '" + k.file + "', which the manifest does not list");
    }
  }
  return manifest;
}

}  // namespace

hsm::Secret derive_mac_key(const hsm::Secret& backup_key) {
  static constexpr char kInfo[] = "hanko backup manifest MAC 1";
  CryptoPP::SecByteBlock out(32);
  CryptoPP::HKDF<CryptoPP::SHA256>().DeriveKey(out.data(), out.size(), backup_key.data(), backup_key.size(), nullptr, 0,
                                               reinterpret_cast<const CryptoPP::byte*>(kInfo), sizeof kInfo - 1);
  return hsm::Secret(BytesView(out.data(), out.size()));
}

Bytes hmac_sha256(const hsm::Secret& key, BytesView data) {
  CryptoPP::HMAC<CryptoPP::SHA256> mac(key.data(), key.size());
  Bytes out(mac.DigestSize());
  mac.CalculateDigest(out.data(), data.data(), data.size());
  return out;
}

hsm::Secret database_key(const hsm::Secret& mac_key) {
  Bytes key = hmac_sha256(mac_key, view(kDatabaseKeyLabel));
  hsm::Secret out{BytesView(key)};
  std::fill(key.begin(), key.end(), std::uint8_t{0});
  return out;
}

std::string Manifest::serialize() const {
  std::ostringstream o;
  o << "hanko-backup\t1\n";
  o << "created\t" << created.time_since_epoch().count() << "\t" << pki::format_time(created) << "\n";
  o << "ca\t" << checked_field(ca_subject, "CA name") << "\n";
  o << "ca-fingerprint\t" << to_hex(ca_fingerprint) << "\n";
  o << "backup-key\t" << checked_field(backup_key_set, "backup key set") << "\n";
  o << "audit\t" << audit_sequence << "\t" << to_hex(audit_head) << "\n";
  for (const KeyRecord& k : keys) {
    o << "key\t" << k.role << "\t" << k.generation << "\t" << hsm::key_type_name(k.public_key.type) << "\t"
      << checked_field(k.label, "key label") << "\t" << to_hex(k.id) << "\t" << k.file << "\t" << to_hex(k.spki_sha256) << "\t"
      << hex_or_dash(k.public_key.modulus) << "\t" << hex_or_dash(k.public_key.public_exponent) << "\t"
      << hex_or_dash(k.public_key.ec_point) << "\n";
  }
  for (const FileRecord& f : files) o << "file\t" << f.name << "\t" << f.size << "\t" << to_hex(f.sha256) << "\n";
  return o.str();
}

Manifest Manifest::parse(std::string_view text) {
  Manifest m;
  if (text.empty() || text.back() != '\n') throw BackupError("the manifest is empty or truncated (no final line break)");
  std::size_t start = 0;
  int line_number = 0;
  bool have_created = false, have_ca = false, have_fingerprint = false, have_key_set = false, have_audit = false;
  std::set<std::string> names, labels;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::vector<std::string> f = split_tabs(text.substr(start, end - start));
    start = end + 1;
    const std::string where = "manifest line " + std::to_string(++line_number);
    const auto want = [&](std::size_t n) {
      if (f.size() != n) throw BackupError(where + ": '" + f[0] + "' wants " + std::to_string(n - 1) + " fields");
    };
    if (line_number == 1) {
      if (f.size() != 2 || f[0] != "hanko-backup" || f[1] != "1") throw BackupError("not a hanko backup manifest (version 1)");
      continue;
    }
    if (f[0] == "created" && !have_created) {
      want(3);
      m.created = pki::Time(std::chrono::seconds(parse_integer(f[1], where)));
      have_created = true;
    } else if (f[0] == "ca" && !have_ca) {
      want(2);
      m.ca_subject = f[1];
      have_ca = true;
    } else if (f[0] == "ca-fingerprint" && !have_fingerprint) {
      want(2);
      m.ca_fingerprint = parse_hex(f[1], where, 32);
      have_fingerprint = true;
    } else if (f[0] == "backup-key" && !have_key_set) {
      want(2);
      m.backup_key_set = f[1];
      have_key_set = true;
    } else if (f[0] == "audit" && !have_audit) {
      want(3);
      m.audit_sequence = parse_integer(f[1], where);
      m.audit_head = parse_hex(f[2], where, 32);
      have_audit = true;
    } else if (f[0] == "key") {
      want(11);
      KeyRecord k;
      k.role = f[1];
      if (k.role != "ca" && k.role != "audit" && k.role != "transport") throw BackupError(where + ": unknown key role '" + k.role + "'");
      k.generation = static_cast<int>(parse_integer(f[2], where));
      const auto type = hsm::parse_key_type(f[3]);
      if (!type) throw BackupError(where + ": unknown key type '" + f[3] + "'");
      k.public_key.type = *type;
      k.label = f[4];
      if (k.label.empty() || !labels.insert(k.label).second) throw BackupError(where + ": empty or repeated key label '" + k.label + "'");
      k.id = parse_hex(f[5], where);
      k.file = f[6];
      if (!safe_name(k.file) || k.file.rfind("keys/", 0) != 0) throw BackupError(where + ": bad wrapped key file name '" + k.file + "'");
      k.spki_sha256 = parse_hex(f[7], where, 32);
      k.public_key.modulus = parse_hex(f[8], where);
      k.public_key.public_exponent = parse_hex(f[9], where);
      k.public_key.ec_point = parse_hex(f[10], where);
      if (hsm::is_rsa(*type) ? (k.public_key.modulus.empty() || k.public_key.public_exponent.empty())
                             : k.public_key.ec_point.empty()) {
        throw BackupError(where + ": key '" + k.label + "' lacks its public components");
      }
      m.keys.push_back(std::move(k));
    } else if (f[0] == "file") {
      want(4);
      FileRecord r;
      r.name = f[1];
      if (!safe_name(r.name) || r.name == kManifestFile || r.name == kMacFile || !names.insert(r.name).second) {
        throw BackupError(where + ": bad or repeated file name '" + r.name + "'");
      }
      r.size = static_cast<std::uint64_t>(parse_integer(f[2], where));
      if (r.size > kMaxSetFile) throw BackupError(where + ": file '" + r.name + "' is implausibly large");
      r.sha256 = parse_hex(f[3], where, 32);
      m.files.push_back(std::move(r));
    } else {
      throw BackupError(where + ": unexpected or repeated record '" + f[0] + "'");
    }
  }
  if (!have_created || !have_ca || !have_fingerprint || !have_key_set || !have_audit) {
    throw BackupError("the manifest lacks one of created, ca, ca-fingerprint, backup-key, audit");
  }
  if (std::none_of(m.keys.begin(), m.keys.end(), [](const KeyRecord& k) { return k.role == "ca"; })) {
    throw BackupError("the manifest lists no CA key");
  }
  return m;
}

FileRecord describe_file(const fs::path& set, const std::string& name) {
  FileRecord r;
  r.name = name;
  r.sha256 = sha256_of_file(set / name, r.size);
  return r;
}

Manifest read_verified(const fs::path& set, const hsm::Secret& mac_key) {
  if (!fs::is_directory(set)) throw BackupError("'" + set.string() + "' is not a backup set folder");
  std::string text;
  Bytes mac;
  try {
    text = read_text_file(set / kManifestFile, kMaxManifest);
    std::string mac_text = read_text_file(set / kMacFile, 1024);
    while (!mac_text.empty() && (mac_text.back() == '\n' || mac_text.back() == '\r')) mac_text.pop_back();
    mac = parse_hex(mac_text, "manifest.mac", 32);
  } catch (const FileError& e) {
    throw BackupError(std::string("the set's manifest cannot be read: ") + e.what());
  }
  const Bytes expected = hmac_sha256(mac_key, view(text));
  if (!CryptoPP::VerifyBufsEqual(expected.data(), mac.data(), mac.size())) {
    throw BackupError("the manifest's MAC does not verify: the set was changed, or these backup-key shares belong to another "
                      "backup key");
  }
  return check_files(set, text);
}

Manifest read_checked_without_mac(const fs::path& set) {
  if (!fs::is_directory(set)) throw BackupError("'" + set.string() + "' is not a backup set folder");
  const std::string text = read_text_file(set / kManifestFile, kMaxManifest);
  const std::string mac = read_text_file(set / kMacFile, 1024);
  if (mac.size() < 64) throw BackupError("the set's manifest.mac is damaged");
  return check_files(set, text);
}

void publish_folder(const fs::path& dir, const fs::path& final_name) {
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) fsync_path(e.path(), false);
    if (e.is_directory()) fsync_path(e.path(), true);
  }
  fsync_path(dir, true);
  if (fs::exists(final_name)) throw BackupError("'" + final_name.string() + "' already exists; backup sets are never overwritten");
  fs::rename(dir, final_name);
  fsync_path(final_name.parent_path().empty() ? fs::path(".") : final_name.parent_path(), true);
}

void copy_set(const fs::path& from, const fs::path& to) {
  const Manifest manifest = read_checked_without_mac(from);
  if (fs::exists(to)) throw BackupError("'" + to.string() + "' already exists; choose a new folder on the medium");
  const fs::path partial = to.parent_path() / ("." + to.filename().string() + ".partial");
  fs::remove_all(partial);
  fs::create_directories(partial / "keys");
  try {
    std::vector<std::string> names{kManifestFile, kMacFile};
    for (const FileRecord& f : manifest.files) names.push_back(f.name);
    for (const std::string& name : names) fs::copy_file(from / name, partial / name);
    // Read back what landed on the medium: the copy must match the manifest, not just the source.
    read_checked_without_mac(partial);
    if (read_file(partial / kManifestFile, kMaxManifest) != read_file(from / kManifestFile, kMaxManifest) ||
        read_file(partial / kMacFile, 1024) != read_file(from / kMacFile, 1024)) {
      throw BackupError("the copied manifest differs from the original");
    }
    publish_folder(partial, to);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(partial, ignored);
    throw;
  }
}

std::string destruction_notice_body(BytesView ca_fingerprint, int generation, const std::string& label, BytesView spki_sha256,
                                    pki::Time time) {
  return "hanko key destruction 1\nca " + to_hex(ca_fingerprint) + "\ngeneration " + std::to_string(generation) + "\nlabel " +
         checked_field(label, "key label") + "\nspki-sha256 " + to_hex(spki_sha256) + "\ntime " +
         std::to_string(time.time_since_epoch().count()) + "\n";
}

DestructionNotice DestructionNotice::parse(std::string_view text) {
  DestructionNotice n;
  const std::size_t sig = text.rfind("signature ");
  if (sig == std::string_view::npos || (sig > 0 && text[sig - 1] != '\n')) throw BackupError("destruction notice without signature");
  n.signed_text = std::string(text.substr(0, sig));
  std::istringstream lines{std::string(text)};
  std::string line;
  const auto next = [&](const std::string& key) {
    if (!std::getline(lines, line) || line.rfind(key + " ", 0) != 0) throw BackupError("destruction notice: expected '" + key + "'");
    return line.substr(key.size() + 1);
  };
  if (!std::getline(lines, line) || line != "hanko key destruction 1") throw BackupError("not a hanko key destruction notice");
  n.ca_fingerprint = parse_hex(next("ca"), "destruction notice", 32);
  n.generation = static_cast<int>(parse_integer(next("generation"), "destruction notice"));
  n.label = next("label");
  n.spki_sha256 = parse_hex(next("spki-sha256"), "destruction notice", 32);
  n.time = pki::Time(std::chrono::seconds(parse_integer(next("time"), "destruction notice")));
  const std::string signature = next("signature");
  const std::size_t space = signature.find(' ');
  if (space == std::string::npos) throw BackupError("destruction notice: signature wants an algorithm and a value");
  n.signature_algorithm = signature.substr(0, space);
  n.signature = parse_hex(signature.substr(space + 1), "destruction notice");
  if (std::getline(lines, line)) throw BackupError("destruction notice: trailing text after the signature");
  return n;
}

}  // namespace hanko::offline::backup
