#include "hanko/offline/custody.h"

#include <cryptopp/aes.h>
#include <cryptopp/channels.h>
#include <cryptopp/filters.h>
#include <cryptopp/gcm.h>
#include <cryptopp/ida.h>
#include <cryptopp/misc.h>
#include <cryptopp/scrypt.h>
#include <cryptopp/sha.h>

#include <array>
#include <cctype>
#include <algorithm>
#include <memory>

#include "hanko/common/files.h"
#include "hanko/pki/algorithm.h"
#include "hanko/pki/der.h"
#include "hanko/transfer/bundle.h"
#include "hanko/transfer/error.h"
#include "hanko/transfer/qr.h"

namespace hanko::offline {

namespace der = pki::der;

namespace {

constexpr std::uint64_t kScryptN = 1u << 15;  // 32 MiB, about 0.1 s: costly to guess offline
constexpr unsigned kScryptR = 8;
constexpr unsigned kScryptP = 1;

struct Header {
  ShareHeader share;
  Bytes salt;
  std::uint64_t n = 0;
  unsigned r = 0, p = 0;
  Bytes nonce;
  Bytes der;  // the encoded header: associated data of the seal
};

Bytes encode_header(const Header& h) {
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.integer(1);
    s.octet_string(h.share.set_id);
    s.utf8_string(h.share.custodian);
    s.integer(h.share.index);
    s.integer(h.share.threshold);
    s.integer(h.share.count);
    s.octet_string(h.share.secret_check);
    s.octet_string(h.salt);
    s.integer(static_cast<std::int64_t>(h.n));
    s.integer(h.r);
    s.integer(h.p);
    s.octet_string(h.nonce);
  });
  return std::move(w).take();
}

Bytes secret_check(BytesView set_id, const hsm::Secret& secret) {
  CryptoPP::SHA256 sha;
  sha.Update(set_id.data(), set_id.size());
  sha.Update(secret.data(), secret.size());
  Bytes out(32);
  sha.Final(out.data());
  out.resize(16);
  return out;
}

CryptoPP::SecByteBlock derive_key(const hsm::Secret& passphrase, BytesView salt, std::uint64_t n, unsigned r, unsigned p) {
  CryptoPP::SecByteBlock key(32);
  CryptoPP::Scrypt scrypt;
  scrypt.DeriveKey(key, key.size(), passphrase.data(), passphrase.size(), salt.data(), salt.size(), n, r, p);
  return key;
}

struct Parsed {
  Header header;
  Bytes sealed;
};

Parsed parse_share(BytesView der_bytes) {
  try {
    Parsed out;
    der::Reader top(der_bytes);
    der::Reader s = top.enter_sequence("SealedShare");
    top.expect_end("SealedShare");
    const der::Element header_element = s.read(der::kSequence, "header");
    out.header.der.assign(header_element.whole.begin(), header_element.whole.end());
    der::Reader h(header_element.content);
    if (h.read_small_integer("version") != 1) throw CustodyError("unknown share version");
    Header& hd = out.header;
    const auto octets = [&](const char* what, std::size_t size) {
      const BytesView v = h.read_octet_string(what);
      if (v.size() != size) throw CustodyError(std::string(what) + " has the wrong size");
      return Bytes(v.begin(), v.end());
    };
    hd.share.set_id = octets("setId", 16);
    const BytesView name = h.read(der::kUtf8String, "custodian").content;
    hd.share.custodian.assign(name.begin(), name.end());
    if (hd.share.custodian.empty() || hd.share.custodian.size() > 64 || !der::is_valid_utf8(hd.share.custodian)) {
      throw CustodyError("custodian name is not 1-64 bytes of UTF-8");
    }
    hd.share.index = static_cast<int>(h.read_small_integer("index"));
    hd.share.threshold = static_cast<int>(h.read_small_integer("threshold"));
    hd.share.count = static_cast<int>(h.read_small_integer("count"));
    if (hd.share.threshold < 2 || hd.share.count < hd.share.threshold || hd.share.count > 255 || hd.share.index < 1 ||
        hd.share.index > hd.share.count) {
      throw CustodyError("share numbers are out of range");
    }
    hd.share.secret_check = octets("secretCheck", 16);
    hd.salt = octets("salt", 16);
    const std::int64_t n = h.read_small_integer("scryptN");
    const std::int64_t r = h.read_small_integer("scryptR");
    const std::int64_t p = h.read_small_integer("scryptP");
    // Bounded so a crafted share cannot make the signer allocate gigabytes.
    if (n < 1024 || n > (1 << 20) || (n & (n - 1)) || r < 1 || r > 16 || p < 1 || p > 4) throw CustodyError("scrypt parameters out of range");
    hd.n = static_cast<std::uint64_t>(n);
    hd.r = static_cast<unsigned>(r);
    hd.p = static_cast<unsigned>(p);
    hd.nonce = octets("nonce", 12);
    h.expect_end("header");
    const BytesView sealed = s.read_octet_string("sealed");
    if (sealed.size() < 17 || sealed.size() > 1024) throw CustodyError("sealed share has an impossible size");
    out.sealed.assign(sealed.begin(), sealed.end());
    s.expect_end("SealedShare");
    return out;
  } catch (const pki::ParseError& e) {
    throw CustodyError(std::string("not a share file hanko accepts (damaged?): ") + e.what());
  }
}

}  // namespace

bool meets_activation_rule(BytesView secret) {
  bool upper = false, lower = false, digit = false;
  int words = 0;
  bool in_word = false;
  for (std::uint8_t c : secret) {
    upper |= c >= 'A' && c <= 'Z';
    lower |= c >= 'a' && c <= 'z';
    digit |= c >= '0' && c <= '9';
    const bool blank = c == ' ';
    if (!blank && !in_word) ++words;
    in_word = !blank;
  }
  return (secret.size() >= 8 && upper && lower && digit) || (secret.size() >= 20 && words >= 4);
}

void check_passphrase_rule(BytesView passphrase, const std::string& whose) {
  if (!meets_activation_rule(passphrase)) throw CustodyError("the passphrase of " + whose + " must be " + kActivationRule);
}

std::vector<Bytes> split_secret(const hsm::Secret& secret, int threshold, const std::vector<std::string>& custodians,
                                const std::vector<hsm::Secret>& passphrases, CryptoPP::RandomNumberGenerator& rng) {
  const int count = static_cast<int>(custodians.size());
  if (threshold < 2 || threshold > count || count > 255) {
    throw CustodyError("a quorum needs 2 <= M <= N <= 255 (M of N custodians); got " + std::to_string(threshold) + " of " + std::to_string(count));
  }
  if (passphrases.size() != custodians.size()) throw CustodyError("one passphrase per custodian is needed");
  for (std::size_t i = 0; i < custodians.size(); ++i) {
    if (std::count(custodians.begin(), custodians.end(), custodians[i]) > 1) throw CustodyError("custodian '" + custodians[i] + "' is named twice");
    check_passphrase_rule(passphrases[i].view(), "custodian '" + custodians[i] + "'");
  }
  // Crypto++ SecretSharing writes share i to channel i; each channel goes to its own buffer.
  std::vector<std::string> raw(static_cast<std::size_t>(count));
  std::vector<std::unique_ptr<CryptoPP::StringSink>> sinks;
  CryptoPP::ChannelSwitch* channels = nullptr;
  CryptoPP::StringSource source(secret.data(), secret.size(), false,
                                new CryptoPP::SecretSharing(rng, static_cast<unsigned>(threshold), static_cast<unsigned>(count),
                                                            channels = new CryptoPP::ChannelSwitch));
  for (int i = 0; i < count; ++i) {
    sinks.push_back(std::make_unique<CryptoPP::StringSink>(raw[static_cast<std::size_t>(i)]));
    channels->AddRoute(CryptoPP::WordToString<CryptoPP::word32>(static_cast<CryptoPP::word32>(i)), *sinks.back(), CryptoPP::DEFAULT_CHANNEL);
  }
  source.PumpAll();

  Bytes set_id(16);
  rng.GenerateBlock(set_id.data(), set_id.size());
  const Bytes check = secret_check(set_id, secret);
  std::vector<Bytes> out;
  for (int i = 0; i < count; ++i) {
    Header h;
    h.share = {set_id, custodians[static_cast<std::size_t>(i)], i + 1, threshold, count, check};
    h.salt.resize(16);
    rng.GenerateBlock(h.salt.data(), h.salt.size());
    h.n = kScryptN;
    h.r = kScryptR;
    h.p = kScryptP;
    h.nonce.resize(12);
    rng.GenerateBlock(h.nonce.data(), h.nonce.size());
    h.der = encode_header(h);
    std::string& share = raw[static_cast<std::size_t>(i)];
    const CryptoPP::SecByteBlock key = derive_key(passphrases[static_cast<std::size_t>(i)], h.salt, h.n, h.r, h.p);
    CryptoPP::GCM<CryptoPP::AES>::Encryption gcm;
    gcm.SetKeyWithIV(key, key.size(), h.nonce.data(), h.nonce.size());
    Bytes sealed(share.size() + 16);
    gcm.EncryptAndAuthenticate(sealed.data(), sealed.data() + share.size(), 16, h.nonce.data(), static_cast<int>(h.nonce.size()),
                               h.der.data(), h.der.size(), reinterpret_cast<const std::uint8_t*>(share.data()), share.size());
    CryptoPP::SecureWipeBuffer(reinterpret_cast<std::uint8_t*>(share.data()), share.size());
    der::Writer w;
    w.sequence([&](der::Writer& s) {
      s.raw(h.der);
      s.octet_string(sealed);
    });
    out.push_back(std::move(w).take());
  }
  return out;
}

ShareHeader read_share_header(BytesView sealed_share) { return parse_share(sealed_share).header.share; }

void Quorum::present(BytesView sealed_share, const hsm::Secret& passphrase) {
  const Parsed p = parse_share(sealed_share);
  const ShareHeader& h = p.header.share;
  for (const Opened& o : m_shares) {
    if (o.custodian == h.custodian) throw CustodyError("custodian '" + h.custodian + "' has already presented a share");
  }
  // The header is authenticated by the sealing (AES-GCM's associated data): only once the share
  // opens is its set id evidence of another set rather than of a damaged file.
  const CryptoPP::SecByteBlock key = derive_key(passphrase, p.header.salt, p.header.n, p.header.r, p.header.p);
  CryptoPP::GCM<CryptoPP::AES>::Decryption gcm;
  gcm.SetKeyWithIV(key, key.size(), p.header.nonce.data(), p.header.nonce.size());
  const std::size_t length = p.sealed.size() - 16;
  CryptoPP::SecByteBlock plain(length);
  if (!gcm.DecryptAndVerify(plain, p.sealed.data() + length, 16, p.header.nonce.data(), static_cast<int>(p.header.nonce.size()),
                            p.header.der.data(), p.header.der.size(), p.sealed.data(), length)) {
    if (!m_shares.empty() && h.set_id != m_set_id) {
      throw CustodyError("the share of '" + h.custodian + "' does not open with this passphrase and names another set than the shares "
                         "before it: a share of another key (another CA or backup key, or replaced by re-sharing), or a damaged file");
    }
    throw WrongPassphrase("the passphrase of custodian '" + h.custodian + "' does not open their share, or the share file is damaged");
  }
  if (!m_shares.empty()) {
    if (h.set_id != m_set_id) {
      throw CustodyError("the share of '" + h.custodian + "' belongs to another set (another CA, or shares replaced by re-sharing)");
    }
    for (const Opened& o : m_shares) {
      if (o.index == h.index) throw CustodyError("custodian '" + h.custodian + "' holds the same share number as '" + o.custodian + "'");
    }
  }
  if (m_shares.empty()) {
    m_set_id = h.set_id;
    m_check = h.secret_check;
    m_threshold = h.threshold;
  }
  m_shares.push_back({h.custodian, h.index, hsm::Secret(BytesView(plain.data(), plain.size()))});
}

std::vector<std::string> Quorum::custodians() const {
  std::vector<std::string> out;
  for (const Opened& o : m_shares) out.push_back(o.custodian);
  return out;
}

hsm::Secret Quorum::recover() const {
  if (still_needed() > 0) {
    throw CustodyError(std::to_string(present_count()) + " of " + std::to_string(m_threshold) + " custodians have presented shares; " +
                       std::to_string(still_needed()) + " more needed");
  }
  std::string secret;
  {
    CryptoPP::SecretRecovery recovery(static_cast<unsigned>(m_threshold), new CryptoPP::StringSink(secret));
    std::vector<std::unique_ptr<CryptoPP::StringSource>> sources;
    for (int i = 0; i < m_threshold; ++i) {
      const Opened& o = m_shares[static_cast<std::size_t>(i)];
      const std::string channel = CryptoPP::WordToString<CryptoPP::word32>(static_cast<CryptoPP::word32>(o.index - 1));
      sources.push_back(std::make_unique<CryptoPP::StringSource>(o.share.data(), o.share.size(), false,
                                                                 new CryptoPP::ChannelSwitch(recovery, channel)));
    }
    for (auto& s : sources) s->PumpAll();
  }
  hsm::Secret out(BytesView(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()));
  CryptoPP::SecureWipeBuffer(reinterpret_cast<std::uint8_t*>(secret.data()), secret.size());
  if (secret_check(m_set_id, out) != m_check) {
    throw CustodyError("the shares do not combine to the recorded secret; one of them is not what its custodian was given");
  }
  return out;
}

hsm::Secret pin_from_secret(const hsm::Secret& secret) {
  // "Qk7" gives the upper case, lower case and digit R6 asks for; the rest is the secret in hex.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text = "Qk7";
  for (std::uint8_t b : secret.view()) {
    text.push_back(kHex[b >> 4]);
    text.push_back(kHex[b & 15]);
  }
  hsm::Secret pin{std::string_view(text)};
  CryptoPP::SecureWipeBuffer(reinterpret_cast<std::uint8_t*>(text.data()), text.size());
  return pin;
}

namespace {

transfer::QrMatrix share_qr(BytesView share) {
  for (int version = 5; version <= 40; ++version) {
    try {
      return transfer::qr_encode(share, version, 'M');
    } catch (const transfer::TransferError&) {
      // too small a version for this share: try the next
    }
  }
  throw CustodyError("the share is too large for a QR code");
}

bool looks_like_image(BytesView b) {
  static constexpr std::uint8_t kPng[] = {0x89, 'P', 'N', 'G'};
  return (b.size() > 4 && std::equal(std::begin(kPng), std::end(kPng), b.begin())) || (b.size() > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF);
}

}  // namespace

std::string share_file_name(const std::string& custodian) {
  std::string file = custodian;
  for (char& ch : file) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
  }
  return file + ".share";
}

Bytes read_share_file(const std::filesystem::path& path) {
  Bytes data;
  try {
    data = read_file(path, 16u << 20);
  } catch (const FileError& e) {
    throw CustodyError(e.what());
  }
  if (!looks_like_image(data)) return data;
  const auto image = transfer::decode_image(data);
  if (!image) throw CustodyError("'" + path.string() + "' is an image hanko cannot read: " + image.message());
  const std::vector<Bytes> codes = transfer::read_qr_codes(*image);
  if (codes.size() != 1) {
    throw CustodyError("'" + path.string() + "': " + std::to_string(codes.size()) +
                       " QR codes found; photograph the share page so that exactly its one code is sharp and whole");
  }
  read_share_header(codes.front());  // a QR code of something else is named here, not later
  return codes.front();
}

void write_share_page(BytesView sealed_share, const std::filesystem::path& html) {
  const ShareHeader h = read_share_header(sealed_share);
  const transfer::QrMatrix m = share_qr(sealed_share);
  const std::array<std::uint8_t, 32> digest = [&] {
    std::array<std::uint8_t, 32> d{};
    const Bytes b = pki::digest(pki::HashAlgorithm::kSha256, sealed_share);
    std::copy(b.begin(), b.end(), d.begin());
    return d;
  }();
  const std::string svg = transfer::render_svg(m, 5);
  std::string name;
  for (char c : h.custodian) {
    name += c == '<' ? std::string("&lt;") : c == '>' ? std::string("&gt;") : c == '&' ? std::string("&amp;") : std::string(1, c);
  }
  const std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Key share of " + name +
      "</title><style>body{font-family:serif;max-width:40em;margin:2em auto}code{word-break:break-all}</style></head><body>\n"
      "<h1>Key share of " + name + "</h1>\n<p>Share " + std::to_string(h.index) + " of " + std::to_string(h.count) + "; any " +
      std::to_string(h.threshold) + " shares open the token. Set <code>" + to_hex(h.set_id) + "</code>.</p>\n" + svg +
      "\n<p>Fingerprint: <code>" + to_hex(digest) + "</code><br>read aloud: <strong>" + transfer::digest_words(digest) +
      "</strong></p>\n<p>The share is sealed under your passphrase: this page alone opens nothing. Keep it in your own safe. "
      "To use it, photograph or scan the code and give the image where the share file is asked for (<code>--share page.png</code>).</p>\n"
      "<p>Custodian's signature: ______________________ &nbsp; Date: ____________</p>\n</body></html>\n";
  write_file_atomic(html, BytesView(reinterpret_cast<const std::uint8_t*>(page.data()), page.size()), 0600);
  std::filesystem::path png = html;
  png.replace_extension(".png");
  write_file_atomic(png, transfer::encode_png(transfer::render(m, 6, 4)), 0600);
}

}  // namespace hanko::offline
