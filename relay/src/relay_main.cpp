// hanko-relay: the online relay. Commands:
//   serve --config FILE            intake API, queue, batches, import, publication, watch, OCSP
//   status --config FILE           queue depth, last batch, lists and time left, repositories, alarms
//                                  (exit 0 fine, 1 warnings, 2 critical)
//   ra-add --config FILE --name NAME --key SPKI     register an RA operator's key on the relay
//   cut-batch --config FILE [--force]               cut a batch now (size/age rule unless --force)
//   import --config FILE                            take in the result bundles waiting in the inbox
//   publish --config FILE                           release due lists and run the publication queues
//   retry --config FILE [--repository NAME]         put dead letters back into their publication queue
//   responder-csr --config FILE --subject DN --out FILE   PKCS#10 for the OCSP key in the token
//   bundle-extract --in FILE --trust KEY --out-dir DIR    verify a bundle and write its parts
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

#include <boost/program_options.hpp>

#include "config.h"
#include "evidence.h"
#include "hanko/common/files.h"
#include "hanko/pki/csr.h"
#include "hanko/pki/pem.h"
#include "hanko/transfer/bundle.h"
#include "hanko/transfer/media.h"
#include "relay.h"
#include "relay_token.h"

using namespace hanko;
namespace po = boost::program_options;

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
void on_signal(int) { g_stop = true; }
void on_hangup(int) { g_reload = true; }

Bytes read_der(const std::string& path, const char* label) {
  Bytes d = hanko::read_file(path, 1 << 20);
  if (pki::looks_like_pem(d)) d = pki::pem_decode(to_string(d), label);
  return d;
}

}  // namespace

namespace hanko::relay {
// CertificationRequest for a key in the relay's token (RFC 2986), checked by our own parser.
Bytes make_csr(pki::Signer& signer, const pki::Name& subject) {
  pki::der::Writer info;
  info.sequence([&](pki::der::Writer& s) {
    s.integer(0);
    s.raw(subject.der());
    s.raw(signer.public_key().spki);
    s.constructed(pki::der::context_constructed(0), [](pki::der::Writer&) {});
  });
  const Bytes info_der = std::move(info).take();
  const Bytes sig = signer.sign(info_der);
  pki::der::Writer w;
  w.sequence([&](pki::der::Writer& s) {
    s.raw(info_der);
    pki::write_algorithm_identifier(s, signer.algorithm());
    s.bit_string(sig);
  });
  Bytes out = std::move(w).take();
  pki::parse_certification_request(out).value();
  return out;
}
}  // namespace hanko::relay

constexpr const char* kUsage =
    "usage: hanko-relay COMMAND --config FILE [options]\n\ncommands:\n"
    "  serve           intake API, durable queue, batches, import, publication, freshness watch, OCSP\n"
    "  status          queue, last batch and import, lists and time left, repositories, alarms (--json)\n"
    "  ra-add          register or replace an RA operator's public key (a running relay uses it within a second)\n"
    "  cut-batch       cut a batch now (the size/age rule unless --force)\n"
    "  import          take in the result bundles waiting in the inbox\n"
    "  publish         release due lists and run the publication queues once\n"
    "  retry           put dead letters back into their publication queue\n"
    "  responder-csr   PKCS#10 request for the OCSP key in the relay's token\n"
    "  bundle-extract  verify a bundle and write its parts (no --config)\n"
    "  evidence        copy every imported result bundle and served list for a signer's restore (reads only)\n"
    "\nRun 'hanko-relay COMMAND --help' for its options. Exit status: 0 done, 1 failed, 2 usage;\n"
    "status: 0 fine, 1 warnings, 2 critical. Signals to serve: SIGTERM stops, SIGHUP reloads RA keys.\n";

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "--version") {
    std::cout << "hanko-relay " << HANKO_VERSION << "\n";
    return 0;
  }
  if (command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  po::options_description o("hanko-relay " + command + " options");
  o.add_options()("help,h", "show this help");
  const bool needs_config = command != "bundle-extract";
  if (needs_config) o.add_options()("config", po::value<std::string>()->required(), "relay configuration file");
  if (command == "ra-add") {
    o.add_options()("name", po::value<std::string>()->required(), "operator name, as in the items it signs")(
        "key", po::value<std::string>()->required(), "the operator's public key (SPKI DER/PEM)");
  } else if (command == "status") {
    o.add_options()("json", "print the status as JSON (fields in the README)");
  } else if (command == "retry") {
    o.add_options()("repository", po::value<std::string>(), "only this repository (http or ldap); default: all");
  } else if (command == "cut-batch") {
    o.add_options()("force", po::bool_switch(), "cut whatever is queued now");
  } else if (command == "responder-csr") {
    o.add_options()("subject", po::value<std::string>()->required(), "subject, e.g. /C=JP/O=Example/CN=Example OCSP Responder")(
        "out", po::value<std::string>()->required(), "CSR file to write (DER)");
  } else if (command == "evidence") {
    o.add_options()("out", po::value<std::string>()->required(), "a new folder (on the medium for the backup center)");
  } else if (command == "bundle-extract") {
    o.add_options()("in", po::value<std::string>()->required(), "bundle file (.hkb)")(
        "trust", po::value<std::vector<std::string>>()->required(), "signer's public key (SPKI) or certificate; repeatable")(
        "out-dir", po::value<std::string>()->required(), "folder for the parts");
  } else if (command != "serve" && command != "import" && command != "publish") {
    std::cerr << (command.empty() ? "" : "hanko-relay: unknown command '" + command + "'\n") << kUsage;
    return 2;
  }
  try {
    po::variables_map vm;
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc - 1, argv + 1).options(o).style(style).run(), vm);
    if (vm.count("help")) {
      std::cout << o;
      return 0;
    }
    po::notify(vm);
    if (command == "bundle-extract") {
      std::vector<pki::PublicKey> keys;
      for (const auto& k : vm["trust"].as<std::vector<std::string>>()) {
        const Bytes d = read_der(k, "PUBLIC KEY");
        if (auto c = pki::parse_certificate(d)) keys.push_back(c->public_key); else keys.push_back(pki::parse_public_key(d));
      }
      const auto b = transfer::open_bundle(transfer::read_file_capped(vm["in"].as<std::string>()), keys);
      if (!b) throw std::runtime_error("bundle refused [" + std::string(transfer::error_id_name(b.error())) + "]: " + b.message());
      const std::filesystem::path out = vm["out-dir"].as<std::string>();
      std::filesystem::create_directories(out);
      for (std::size_t i = 0; i < b->parts.size(); ++i) {
        hanko::write_file_atomic(out / b->manifest[i].name, b->parts[i]);
        std::cout << b->manifest[i].name << "\t" << b->manifest[i].media_type << "\t" << b->parts[i].size() << "\n";
      }
      return 0;
    }
    relay::Config config = relay::Config::load(vm["config"].as<std::string>());
    if (command == "status") {
      relay::Relay r(config, false);
      int code = 0;
      std::cout << (vm.count("json") ? r.status_json(code) : r.status_text(code));
      return code;
    }
    if (command == "evidence") {
      const std::string out = vm["out"].as<std::string>();
      const relay::EvidenceCopy c = relay::copy_evidence(config, out);
      std::cout << c.bundles << " result bundles and " << c.lists << " lists (" << c.bytes / 1024 << " KiB) copied to " << out
                << " and read back; they hold personal data (0600): carry them to the signer's restore:\n"
                << "  hanko-offline restore ... --evidence " << out << "\n";
      return 0;
    }
    if (command == "ra-add") {
      const Bytes spki = read_der(vm["key"].as<std::string>(), "PUBLIC KEY");
      const pki::PublicKey key = pki::parse_public_key(spki);
      std::filesystem::create_directories(config.state_dir);
      relay::Store store(config.state_dir / "relay.db");
      const std::string name = vm["name"].as<std::string>();
      const bool replaced = store.ra_keys().count(name) > 0;
      store.add_ra_key(name, spki, std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
      std::cout << "RA operator '" << name << "' (" << key.description() << ") " << (replaced ? "key replaced" : "registered")
                << "; a running relay uses it within a second (at once on SIGHUP)" << (replaced ? ", and refuses the old key" : "")
                << "\n";
      return 0;
    }
    if (command == "responder-csr") {
      if (config.ocsp_key_label.empty() || config.token.empty()) throw std::runtime_error("the configuration names no token or ocsp_key_label");
      hsm::Module module(config.pkcs11_module.empty() ? std::string(hsm::kDefaultModulePath) : config.pkcs11_module);
      hsm::Session session(module, module.find_token(config.token), false);
      const int fd = ::open(config.token_pin_file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error("cannot read " + config.token_pin_file.string());
      hsm::Secret pin = hsm::read_secret_from_fd(fd);
      ::close(fd);
      session.login_user(pin);
      const hsm::KeyPair key = session.key_pair(config.ocsp_key_label);
      const pki::PublicKey pub = pki::parse_public_key(session.public_key_info(key));
      hsm::PkiSigner signer(session, key, pki::default_signature_algorithm(pub));
      const Bytes csr = relay::make_csr(signer, pki::Name::parse_text(vm["subject"].as<std::string>()));
      hanko::write_file_atomic(vm["out"].as<std::string>(), csr);
      std::cout << "CSR for '" << config.ocsp_key_label << "' (" << pub.description() << ") -> " << vm["out"].as<std::string>()
                << "\n  issue it on the signer with the ocsp-responder profile\n";
      return 0;
    }
    const bool token = command == "serve" || command == "cut-batch";
    relay::Relay r(config, token);
    if (command == "cut-batch") {
      const auto file = r.cut_batch(vm["force"].as<bool>());
      std::cout << (file ? "batch -> " + (config.outbox / *file).string() : std::string("nothing to cut")) << "\n";
      return 0;
    }
    if (command == "import") {
      std::cout << r.import_inbox(true) << " result bundles imported\n";
      return 0;
    }
    if (command == "retry") {
      const int n = r.retry_dead(vm.count("repository") ? vm["repository"].as<std::string>() : std::string());
      std::cout << n << (n == 1 ? " dead letter" : " dead letters") << " back in the publication queue; "
                << "a running relay publishes them at once ('hanko-relay publish' does it here)\n";
      return 0;
    }
    if (command == "publish") {
      const int released = r.release_due();
      const int done = r.publish_pending();
      std::cout << released << " lists released, " << done << " publications done\n";
      return 0;
    }
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::signal(SIGHUP, on_hangup);
    r.set_reload_flag(&g_reload);
    r.serve(g_stop);
    return 0;
  } catch (const po::error& e) {
    std::cerr << "hanko-relay " << command << ": " << e.what() << "; see hanko-relay " << command << " --help\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "hanko-relay " << command << ": " << e.what() << "\n";
    return 1;
  }
}
