// Commands that move bundles across the air gap: export, import, inspect, and two developer
// commands (bundle-key, bundle-sign) that make and sign bundles with a key in the token.
#include <cryptopp/osrng.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "hanko/common/files.h"
#include "hanko/hsm/pki_signer.h"
#include "hanko/offline/command.h"
#include "hanko/pki/certificate.h"
#include "hanko/pki/pem.h"
#include "hanko/transfer/bundle.h"
#include "hanko/transfer/ledger.h"
#include "hanko/transfer/media.h"
#include "hanko/transfer/qr.h"

namespace hanko::offline {

namespace {

namespace tr = hanko::transfer;

Bytes read_bundle_file(const std::string& path) { return tr::read_file_capped(path); }

// A trusted key from a file: SubjectPublicKeyInfo (DER or PEM "PUBLIC KEY") or a certificate.
pki::PublicKey read_trusted_key(const std::string& path) {
  const Bytes data = tr::read_file_capped(path, 1 << 20);
  Bytes der = data;
  if (pki::looks_like_pem(data)) {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    der = pki::pem_decode(text, text.find("BEGIN CERTIFICATE") != std::string_view::npos ? "CERTIFICATE" : "PUBLIC KEY");
  }
  if (auto cert = pki::parse_certificate(der)) return cert->public_key;
  try {
    return pki::parse_public_key(der);
  } catch (const pki::ParseError& e) {
    throw UsageError("'" + path + "' is neither a public key (SubjectPublicKeyInfo) nor a certificate: " + e.what());
  }
}

std::vector<pki::PublicKey> trusted_keys(const po::variables_map& vm) {
  std::vector<pki::PublicKey> keys;
  if (vm.count("trust")) {
    for (const auto& path : vm["trust"].as<std::vector<std::string>>()) keys.push_back(read_trusted_key(path));
  }
  return keys;
}

tr::Direction direction_option(const po::variables_map& vm) {
  const auto d = tr::parse_direction(vm["direction"].as<std::string>());
  if (!d) throw UsageError("direction must be 'request' or 'result'");
  return *d;
}

void refuse(const char* what, tr::ErrorId id, const std::string& message) {
  throw std::runtime_error(std::string(what) + " [" + std::string(tr::error_id_name(id)) + "]: " + message);
}

void cmd_export(const po::variables_map& vm) {
  const std::string bundle_path = vm["bundle"].as<std::string>();
  const Bytes der = read_bundle_file(bundle_path);
  const auto bundle = tr::parse_bundle(der);
  if (!bundle) refuse("refusing to export", bundle.error(), bundle.message());
  const int targets = static_cast<int>(vm.count("to") + vm.count("qr-png") + vm.count("qr-html") + vm.count("qr-terminal"));
  if (targets != 1) throw UsageError("give exactly one of --to, --qr-png, --qr-html, --qr-terminal");
  std::cerr << tr::describe_bundle(*bundle);
  if (vm.count("to")) {
    const auto path = tr::export_to_folder(der, vm["to"].as<std::string>());
    std::cout << "exported -> " << path.string() << "\n";
    return;
  }
  tr::QrOptions options;
  options.version = vm["qr-version"].as<int>();
  options.repair_ratio = vm["repair"].as<double>();
  const tr::FrameEncoder enc(der, options);
  const int ppm = vm["pixels"].as<int>();
  if (ppm < 1 || ppm > 20) throw UsageError("--pixels must be 1 to 20");
  if (vm.count("qr-png")) {
    const std::string dir = vm["qr-png"].as<std::string>();
    const std::size_t n = tr::write_png_frames(enc, dir, ppm);
    std::cout << n << " QR frames (version " << options.version << ", any " << enc.symbol_count()
              << " rebuild the bundle) -> " << dir << "/frame-*.png\n";
  } else if (vm.count("qr-html")) {
    const std::string file = vm["qr-html"].as<std::string>();
    const std::string page = tr::html_page(enc, vm["fps"].as<int>(), "hanko " + std::string(tr::direction_name(bundle->direction)) + " " +
                                                                         std::to_string(bundle->sequence) + " " + tr::digest_words(bundle->sha256),
                                           ppm);
    tr::write_file_atomic(file, view(page));
    std::cout << enc.frame_count() << " QR frames looping at " << vm["fps"].as<int>() << " fps -> " << file << "\n";
  } else {
    // Rateless on a terminal: every frame shown is a fresh symbol, so nothing repeats.
    const int fps = vm["fps"].as<int>();
    if (fps < 1 || fps > 15) throw UsageError("--fps must be 1 to 15");
    const double seconds = vm["seconds"].as<double>();
    const auto start = std::chrono::steady_clock::now();
    std::cout << "\x1b[2J";
    for (std::uint32_t id = 0;; ++id) {
      const tr::QrMatrix m = tr::qr_encode(enc.frame(id), options.version);
      std::cout << "\x1b[H" << tr::terminal_frame(m) << "frame " << id << " (" << enc.symbol_count() << " needed)\x1b[K" << std::flush;
      std::this_thread::sleep_for(std::chrono::milliseconds(1000 / fps));
      if (seconds > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= seconds) break;
    }
    std::cout << "\n";
  }
}

// Verifies, checks the ledger, writes `out` (never overwriting), then records.
tr::Bundle take_in(const Bytes& der, const po::variables_map& vm, const std::string& out) {
  const auto keys = trusted_keys(vm);
  if (keys.empty()) throw UsageError("name the key(s) the bundle must be signed by with --trust");
  const auto bundle = tr::open_bundle(der, keys);
  if (!bundle) refuse("bundle refused", bundle.error(), bundle.message());
  const tr::Direction direction = direction_option(vm);
  if (bundle->direction != direction) {
    refuse("bundle refused", tr::ErrorId::kWrongDirection,
           "it is a " + std::string(tr::direction_name(bundle->direction)) + " bundle; expected " + std::string(tr::direction_name(direction)));
  }
  tr::SequenceLedger ledger(vm["state"].as<std::string>());
  const auto ok = ledger.check(*bundle);
  if (!ok) refuse("bundle refused", ok.error(), ok.message());
  tr::write_file_atomic(out, der, false);
  ledger.record(*bundle);
  return *bundle;
}

void cmd_import(const po::variables_map& vm) {
  const int sources = static_cast<int>(vm.count("from") + vm.count("qr-images") + vm.count("qr-video"));
  if (sources != 1) throw UsageError("give exactly one of --from, --qr-images, --qr-video");
  const std::string out = vm["out"].as<std::string>();
  tr::Bundle bundle;
  if (vm.count("from")) {
    const auto keys = trusted_keys(vm);
    if (keys.empty()) throw UsageError("name the key(s) the bundle must be signed by with --trust");
    tr::SequenceLedger ledger(vm["state"].as<std::string>());
    const std::string dir = vm["from"].as<std::string>();
    for (const tr::DiskEntry& e : tr::scan_folder(dir, keys, ledger, direction_option(vm))) {
      std::cerr << "  " << e.path.filename().string() << ": " << tr::disk_state_name(e.state)
                << (e.state == tr::DiskEntry::State::kRefused ? " [" + std::string(tr::error_id_name(e.error)) + "]" : "") << " " << e.message << "\n";
    }
    bundle = tr::import_next(dir, keys, ledger, direction_option(vm), out);
  } else {
    const bool tty = ::isatty(2) != 0;
    const auto progress = [&](const tr::FrameCollector::Progress& p) {
      std::cerr << (tty ? "\r\x1b[K" : "") << p.line() << (tty ? "" : "\n") << std::flush;
    };
    auto rebuilt = vm.count("qr-video") ? tr::collect_from_video(vm["qr-video"].as<std::string>(), progress)
                                        : tr::collect_from_images(vm["qr-images"].as<std::string>(), progress);
    if (tty) std::cerr << "\n";
    if (!rebuilt) refuse("cannot rebuild the bundle", rebuilt.error(), rebuilt.message());
    bundle = take_in(*rebuilt, vm, out);
  }
  std::cout << tr::describe_bundle(bundle) << "imported -> " << out << "\n";
}

void cmd_inspect(const po::variables_map& vm) {
  const Bytes der = read_bundle_file(vm["file"].as<std::string>());
  const auto keys = trusted_keys(vm);
  const auto bundle = keys.empty() ? tr::parse_bundle(der) : tr::open_bundle(der, keys);
  if (!bundle) refuse("not a bundle hanko accepts", bundle.error(), bundle.message());
  std::cout << tr::describe_bundle(*bundle)
            << "  verified    " << (keys.empty() ? "NO: structure and manifest only (name the signer with --trust)" : "signature checked against a trusted key")
            << "\n";
}

// Writes the verified parts of a bundle into a folder (part names are restricted by the format
// to [A-Za-z0-9._-] without a leading dot, so they cannot climb out of it).
void cmd_unpack(const po::variables_map& vm) {
  const Bytes der = read_bundle_file(vm["bundle"].as<std::string>());
  const auto keys = trusted_keys(vm);
  if (keys.empty()) throw UsageError("name the bundle's signer with --trust; unverified parts are never unpacked");
  const auto bundle = tr::open_bundle(der, keys);
  if (!bundle) refuse("not unpacking", bundle.error(), bundle.message());
  const std::filesystem::path out = vm["out-dir"].as<std::string>();
  std::filesystem::create_directories(out);
  for (std::size_t i = 0; i < bundle->parts.size(); ++i) {
    write_file_atomic(out / bundle->manifest[i].name, bundle->parts[i]);
    std::cout << bundle->manifest[i].name << "\t" << bundle->manifest[i].media_type << "\t" << bundle->parts[i].size() << "\n";
  }
}

void cmd_transport_key(const po::variables_map& vm) {
  const auto type = hsm::parse_key_type(vm["key-type"].as<std::string>());
  if (!type) throw UsageError("unknown key type; use rsa2048, rsa3072, rsa4096, p256 or p384");
  hsm::Secret pin = obtain_user_pin(vm);
  TokenAccess token(vm["module"].as<std::string>(), vm["token"].as<std::string>(), std::move(pin), true);
  const std::string label = vm["key-label"].as<std::string>();
  if (token.session->find_key_pair(label)) throw UsageError("the token already holds a key labelled '" + label + "'");
  const hsm::KeyPair key = token.session->generate_key_pair(*type, label);
  const Bytes spki = token.session->public_key_info(key);
  tr::write_file_atomic(vm["out"].as<std::string>(), spki, false);
  std::cout << "transport key '" << label << "' ("
            << pki::parse_public_key(spki).description() << ") id " << to_hex(tr::key_id_of(pki::parse_public_key(spki)))
            << "\n  public key -> " << vm["out"].as<std::string>() << "\n";
}

void cmd_bundle_create(const po::variables_map& vm) {
  std::vector<tr::Part> parts;
  for (const std::string& spec : vm["part"].as<std::vector<std::string>>()) {
    // NAME=MEDIA/TYPE:FILE, or just FILE (name from the file, application/octet-stream)
    tr::Part p;
    std::string file = spec;
    if (const auto eq = spec.find('='); eq != std::string::npos) {
      const auto colon = spec.find(':', eq);
      if (colon == std::string::npos) throw UsageError("--part '" + spec + "': use NAME=TYPE:FILE or FILE");
      p.name = spec.substr(0, eq);
      p.media_type = spec.substr(eq + 1, colon - eq - 1);
      file = spec.substr(colon + 1);
    } else {
      p.name = std::filesystem::path(spec).filename().string();
      p.media_type = "application/octet-stream";
    }
    p.content = tr::read_file_capped(file, tr::kMaxPartSize);
    parts.push_back(std::move(p));
  }
  CryptoPP::AutoSeededRandomPool rng;
  const tr::BundleContent content = tr::make_bundle(tr::random_bundle_id(rng), direction_option(vm), vm["sequence"].as<std::uint64_t>(), now(),
                                                    std::move(parts));
  hsm::Secret pin = obtain_user_pin(vm);
  TokenAccess token(vm["module"].as<std::string>(), vm["token"].as<std::string>(), std::move(pin), false);
  const hsm::KeyPair key = token.session->key_pair(vm["key-label"].as<std::string>());
  const pki::PublicKey public_key = pki::parse_public_key(token.session->public_key_info(key));
  hsm::PkiSigner signer(*token.session, key, pki::default_signature_algorithm(public_key));
  const Bytes der = tr::sign_bundle(content, signer);
  const std::string out = vm["out"].as<std::string>();
  tr::write_file_atomic(out, der, false);
  std::cout << tr::describe_bundle(tr::parse_bundle(der).value()) << "signed -> " << out << "\n";
}

void add_trust_options(po::options_description& o) {
  o.add_options()("trust", po::value<std::vector<std::string>>(), "a trusted signer: public key (SPKI DER/PEM) or certificate; repeatable")(
      "state", po::value<std::string>()->default_value("transfer-state"), "folder of the sequence ledger (replays and gaps)")(
      "direction", po::value<std::string>()->default_value("request"), "request (relay -> signer) or result (signer -> relay)");
}

}  // namespace

std::vector<Command> transfer_commands() {
  return {
      {"export", "write a bundle to a disk folder or as QR frames (PNG, HTML, terminal)",
       [](po::options_description& o) {
         o.add_options()("bundle", po::value<std::string>()->required(), "the bundle file (.hkb)")(
             "to", po::value<std::string>(), "folder on a mounted disk (atomic write)")(
             "qr-png", po::value<std::string>(), "folder for frame-NNNN.png")(
             "qr-html", po::value<std::string>(), "one self-contained HTML page looping the frames")(
             "qr-terminal", po::bool_switch(), "animate the frames in this terminal (ANSI half blocks)")(
             "qr-version", po::value<int>()->default_value(25), "QR version, fixed for the whole sequence (level L)")(
             "repair", po::value<double>()->default_value(0.5), "extra frames beyond the minimum, as a fraction (PNG, HTML)")(
             "pixels", po::value<int>()->default_value(4), "pixels per QR module (PNG, HTML)")(
             "fps", po::value<int>()->default_value(10), "frames per second (HTML 5 to 15, terminal)")(
             "seconds", po::value<double>()->default_value(0), "stop the terminal animation after this long (0: never)");
       },
       [](const po::variables_map& vm) {
         // bool_switch is always present in the map; count it only when set.
         po::variables_map copy = vm;
         if (!vm["qr-terminal"].as<bool>()) copy.erase("qr-terminal");
         cmd_export(copy);
       }},
      {"import", "take in the next bundle from a disk folder or from QR images",
       [](po::options_description& o) {
         add_trust_options(o);
         o.add_options()("from", po::value<std::string>(), "folder on a mounted disk (nothing there is changed)")(
             "qr-images", po::value<std::string>(), "folder of camera images (PNG, JPEG)")(
             "qr-video", po::value<std::string>(), "a video file of the frames")(
             "out", po::value<std::string>()->required(), "where to write the verified bundle (never overwritten)");
       },
       cmd_import},
      {"unpack", "verify a bundle and write its parts into a folder",
       [](po::options_description& o) {
         o.add_options()("bundle", po::value<std::string>()->required(), "bundle file")(
             "trust", po::value<std::vector<std::string>>(), "the bundle's signer: public key or certificate; repeatable")(
             "out-dir", po::value<std::string>()->required(), "folder for the parts");
       },
       cmd_unpack},
      {"inspect", "print a bundle's summary and read-aloud digest",
       [](po::options_description& o) {
         o.add_options()("file", po::value<std::string>()->required(), "bundle file")(
             "trust", po::value<std::vector<std::string>>(), "check the signature against this key or certificate; repeatable");
       },
       cmd_inspect, "file"},
      {"bundle-key", "generate a bundle-signing key in the token (never the CA key, R4)",
       [](po::options_description& o) {
         add_module_option(o);
         add_pin_option(o);
         o.add_options()("token", po::value<std::string>()->required(), "token label")(
             "key-label", po::value<std::string>()->required(), "label of the new key")(
             "key-type", po::value<std::string>()->default_value("p256"), "rsa2048, rsa3072, rsa4096, p256 or p384")(
             "out", po::value<std::string>()->required(), "where to write its public key (SPKI DER)");
       },
       cmd_transport_key},
      {"bundle-sign", "sign a bundle of files with a key in the token (developer tool)",
       [](po::options_description& o) {
         add_module_option(o);
         add_pin_option(o);
         o.add_options()("token", po::value<std::string>()->required(), "token label")(
             "key-label", po::value<std::string>()->required(), "label of the signing key")(
             "direction", po::value<std::string>()->default_value("request"), "request or result")(
             "sequence", po::value<std::uint64_t>()->required(), "sequence number (last + 1)")(
             "part", po::value<std::vector<std::string>>()->required(), "NAME=TYPE:FILE or FILE; repeatable")(
             "out", po::value<std::string>()->required(), "bundle file to write (never overwritten)");
       },
       cmd_bundle_create},
  };
}

}  // namespace hanko::offline
