#include <cryptopp/osrng.h>

#include <iostream>
#include <optional>

#include "hanko/hsm/error.h"
#include "hanko/offline/ca.h"
#include "hanko/offline/command.h"
#include "hanko/offline/hsm_signer.h"
#include "hanko/pki/crl.h"
#include "hanko/pki/csr.h"
#include "hanko/pki/pem.h"

namespace hanko::offline {

namespace {

std::unique_ptr<TokenAccess> open_ca_token(const CaState& state, const po::variables_map& vm) {
  hsm::Secret pin = obtain_secret(vm, "pin-fd", "User PIN of the CA token: ");
  return std::make_unique<TokenAccess>(state.config().module, state.config().token, std::move(pin), false);
}

HsmSigner ca_signer(TokenAccess& token, const CaState& state) {
  return HsmSigner(*token.session, token.session->key_pair(state.config().key_label),
                   state.config().signature_algorithm);
}

std::string fingerprint(BytesView digest) { return to_hex(digest, ':'); }

void cmd_token_list(const po::variables_map& vm) {
  hsm::Module module(vm["module"].as<std::string>());
  for (const hsm::SlotInfo& s : module.slots(false)) {
    std::cout << "slot " << s.id << ": " << s.description;
    if (!s.token_present) {
      std::cout << " (no token)\n";
    } else if (!s.token_initialized) {
      std::cout << " (token not initialised)\n";
    } else {
      std::cout << "\n  token '" << s.token_label << "' serial " << s.serial << " model " << s.model << "\n";
    }
  }
}

void cmd_token_init(const po::variables_map& vm) {
  const std::string label = vm["label"].as<std::string>();
  hsm::Module module(vm["module"].as<std::string>());
  const auto slot = vm.count("slot") ? std::optional<CK_SLOT_ID>(vm["slot"].as<unsigned long>()) : module.first_free_slot();
  if (!slot) throw hsm::Error(hsm::Reason::TokenNotFound, "no slot with an uninitialised token; name one with --slot");
  hsm::Secret so_pin = obtain_secret(vm, "so-pin-fd", "New security officer PIN: ");
  check_activation_data(so_pin, "the security officer PIN");
  hsm::Secret user_pin = obtain_secret(vm, "pin-fd", "New user PIN: ");
  check_activation_data(user_pin, "the user PIN");
  const CK_SLOT_ID now_at = module.init_token(*slot, so_pin, label, user_pin);
  std::cout << "token '" << label << "' initialised, now in slot " << now_at << "\n";
}

void cmd_init(const po::variables_map& vm) {
  const std::string state_dir = vm["state"].as<std::string>();
  const auto key_type = hsm::parse_key_type(vm["key-type"].as<std::string>());
  if (!key_type) throw UsageError("unknown key type '" + vm["key-type"].as<std::string>() + "'; use rsa2048, rsa3072, rsa4096, p256 or p384");
  const pki::Name subject = pki::Name::parse_text(vm["subject"].as<std::string>());
  CaConfig config;
  config.module = vm["module"].as<std::string>();
  config.token = vm["token"].as<std::string>();
  config.key_label = vm["key-label"].as<std::string>();
  if (vm.count("crl-url")) config.crl_urls = vm["crl-url"].as<std::vector<std::string>>();
  if (vm.count("ocsp-url")) config.ocsp_url = vm["ocsp-url"].as<std::string>();
  if (vm.count("policy-oid")) config.policy_oid = pki::Oid(vm["policy-oid"].as<std::string>()).to_string();
  if (vm.count("cps-url")) config.cps_url = vm["cps-url"].as<std::string>();
  config.crl_validity_hours = vm["crl-hours"].as<int>();
  CaState::check_can_create(state_dir);

  hsm::Secret pin = obtain_secret(vm, "pin-fd", "User PIN of the CA token: ");
  TokenAccess token(config.module, config.token, std::move(pin), true);
  hsm::KeyPair key = token.session->generate_key_pair(*key_type, config.key_label);
  try {
    const pki::PublicKey public_key = pki::parse_public_key(token.session->public_key_info(key));
    config.signature_algorithm = vm.count("algorithm")
                                     ? *pki::parse_signature_algorithm_name(vm["algorithm"].as<std::string>())
                                     : pki::default_signature_algorithm(public_key);
    HsmSigner signer(*token.session, key, config.signature_algorithm);
    CryptoPP::AutoSeededRandomPool rng;
    const Bytes der = make_self_signed_certificate({subject, now(), vm["years"].as<int>()}, signer, rng);
    CaState::create(state_dir, config, der);
    const pki::Certificate cert = pki::parse_certificate(der).value();
    std::cout << "CA created in " << state_dir << "\n"
              << "  subject   " << cert.subject.to_string() << "\n"
              << "  key       " << cert.public_key.description() << " '" << config.key_label << "' in token '" << config.token << "'\n"
              << "  validity  " << pki::format_time(cert.not_before) << " to " << pki::format_time(cert.not_after) << "\n"
              << "  SHA-256   " << fingerprint(cert.fingerprint_sha256()) << "\n"
              << "  SHA-1     " << fingerprint(cert.fingerprint_sha1()) << "\n";
  } catch (...) {
    // Nothing was recorded, so the new key must not stay behind in the token.
    token.session->destroy_key_pair(key);
    throw;
  }
}

void cmd_issue(const po::variables_map& vm) {
  CaState state(vm["state"].as<std::string>());
  const Profile& profile = find_profile(vm["profile"].as<std::string>());
  const auto request = pki::parse_certification_request(read_der_or_pem(vm["csr"].as<std::string>(), "CERTIFICATE REQUEST"));
  if (!request) {
    throw PolicyError("request '" + vm["csr"].as<std::string>() + "' refused [" +
                      std::string(pki::error_id_name(request.error())) + "]: " + request.message());
  }
  CryptoPP::AutoSeededRandomPool rng;
  const IssuancePlan plan = plan_issuance(state, *request, profile, now(), rng);
  std::cerr << plan.summary;
  auto token = open_ca_token(state, vm);
  HsmSigner signer = ca_signer(*token, state);
  const Bytes der = issue(state, plan, signer);
  const std::string out = vm["out"].as<std::string>();
  write_new_file(out, der);
  std::cout << "issued " << plan.certificate.serial.hex() << " -> " << out << "\n";
}

void cmd_revoke(const po::variables_map& vm) {
  CaState state(vm["state"].as<std::string>());
  const pki::Serial serial = pki::Serial::from_hex(vm["serial"].as<std::string>());
  const pki::ReasonCode reason = check_revocation_reason(vm["reason"].as<std::string>());
  std::optional<pki::Time> invalidity;
  if (vm.count("invalidity-date")) invalidity = pki::parse_time_text(vm["invalidity-date"].as<std::string>());
  revoke(state, serial, reason, now(), invalidity);
  std::cout << "revoked " << serial.hex() << " (" << pki::reason_name(reason) << ")\n"
            << "issue a new CRL now: hanko-offline crl --state " << state.dir().string() << " (R21)\n";
}

void cmd_crl(const po::variables_map& vm) {
  CaState state(vm["state"].as<std::string>());
  auto token = open_ca_token(state, vm);
  HsmSigner signer = ca_signer(*token, state);
  const Bytes der = make_crl(state, now(), signer);
  const pki::Crl crl = pki::parse_crl(der).value();
  const std::string out = vm["out"].as<std::string>();
  write_file_atomic(out, der);
  std::cout << "CRL " << *crl.crl_number << " with " << crl.entry_count << " entries, valid "
            << pki::format_time(crl.this_update) << " to " << pki::format_time(*crl.next_update)
            << " -> " << out << "\n";
}

void print_certificate(const pki::Certificate& c) {
  std::cout << "Certificate v" << c.version << "\n"
            << "  serial      " << c.serial.hex() << "\n"
            << "  subject     " << c.subject.to_string() << "\n"
            << "  issuer      " << c.issuer.to_string() << "\n"
            << "  validity    " << pki::format_time(c.not_before) << " to " << pki::format_time(c.not_after) << "\n"
            << "  key         " << c.public_key.description() << "\n"
            << "  signature   " << pki::signature_algorithm_name(c.signature_algorithm) << "\n"
            << "  SHA-256     " << fingerprint(c.fingerprint_sha256()) << "\n";
  for (const pki::Extension& e : c.extensions) {
    std::cout << "  extension   " << e.oid.to_string() << (e.critical ? " (critical)" : "") << "\n";
  }
}

void cmd_show(const po::variables_map& vm) {
  const std::string path = vm["file"].as<std::string>();
  const Bytes data = read_file(path);
  Bytes der = data;
  if (pki::looks_like_pem(data)) {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    for (const char* label : {"CERTIFICATE", "X509 CRL", "CERTIFICATE REQUEST"}) {
      if (text.find(std::string("-----BEGIN ") + label + "-----") != std::string_view::npos) {
        der = pki::pem_decode(text, label);
        break;
      }
    }
  }
  if (auto c = pki::parse_certificate(der)) return print_certificate(*c);
  if (auto l = pki::parse_crl(der)) {
    std::cout << "CRL " << (l->crl_number ? std::to_string(*l->crl_number) : "?") << " by " << l->issuer.to_string() << "\n"
              << "  thisUpdate  " << pki::format_time(l->this_update) << "\n";
    if (l->next_update) std::cout << "  nextUpdate  " << pki::format_time(*l->next_update) << "\n";
    for (const pki::RevokedCertificate& r : l->entries) {
      std::cout << "  revoked     " << r.serial.hex() << " " << pki::format_time(r.revocation_date)
                << (r.reason ? " " + std::string(pki::reason_name(*r.reason)) : "") << "\n";
    }
    return;
  }
  const auto r = pki::parse_certification_request(der);
  if (!r) {
    throw PolicyError("'" + path + "' is not a certificate, CRL or certification request hanko accepts: [" +
                      std::string(pki::error_id_name(r.error())) + "] " + r.message());
  }
  std::cout << "Certification request\n  subject     " << r->subject.to_string() << "\n  key         "
            << r->public_key.description() << "\n  signature   verified (proof of possession)\n";
}

void cmd_profiles(const po::variables_map&) {
  for (const Profile& p : builtin_profiles()) std::cout << p.name << "\t" << p.description << "\n";
}

}  // namespace

std::vector<Command> ca_commands() {
  return {
      {"token-list", "list PKCS#11 slots and tokens", add_module_option, cmd_token_list},
      {"token-init", "initialise a token (erases it) with a label and new PINs",
       [](po::options_description& o) {
         add_module_option(o);
         o.add_options()("label", po::value<std::string>()->required(), "token label (at most 32 bytes)")(
             "slot", po::value<unsigned long>(), "slot id (default: the first slot with an uninitialised token)")(
             "so-pin-fd", po::value<int>(), "read the new security officer PIN from this descriptor")(
             "pin-fd", po::value<int>(), "read the new user PIN from this descriptor");
       },
       cmd_token_init},
      {"init", "create a CA: key pair in the token and a self-signed certificate",
       [](po::options_description& o) {
         add_module_option(o);
         add_pin_option(o);
         o.add_options()("state", po::value<std::string>()->required(), "new CA state folder")(
             "token", po::value<std::string>()->required(), "token label")(
             "key-label", po::value<std::string>()->required(), "label of the new CA key")(
             "key-type", po::value<std::string>()->default_value("rsa2048"), "rsa2048, rsa3072, rsa4096, p256 or p384")(
             "subject", po::value<std::string>()->required(), "CA name, e.g. /C=JP/O=Example/CN=Example Root CA")(
             "years", po::value<int>()->default_value(10), "validity of the self-signed certificate (R10)")(
             "algorithm", po::value<std::string>(), "signature algorithm (default: by key type)")(
             "crl-url", po::value<std::vector<std::string>>(), "CRL distribution point URL (HTTP, LDAP); repeatable")(
             "ocsp-url", po::value<std::string>(), "OCSP responder URL for authorityInfoAccess")(
             "policy-oid", po::value<std::string>(), "certificate policy OID")(
             "cps-url", po::value<std::string>(), "CPS URL qualifier")(
             "crl-hours", po::value<int>()->default_value(72), "CRL validity in hours (R21)");
       },
       cmd_init},
      {"issue", "issue a certificate from a PKCS#10 request",
       [](po::options_description& o) {
         add_pin_option(o);
         o.add_options()("state", po::value<std::string>()->required(), "CA state folder")(
             "csr", po::value<std::string>()->required(), "PKCS#10 request (DER or PEM)")(
             "profile", po::value<std::string>()->required(), "profile name (see 'profiles')")(
             "out", po::value<std::string>()->required(), "where to write the certificate (DER; never overwritten)");
       },
       cmd_issue},
      {"revoke", "record a revocation (then run 'crl')",
       [](po::options_description& o) {
         o.add_options()("state", po::value<std::string>()->required(), "CA state folder")(
             "serial", po::value<std::string>()->required(), "serial number in hexadecimal")(
             "reason", po::value<std::string>()->required(), "keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation")(
             "invalidity-date", po::value<std::string>(), "when the key is known or suspected to have been compromised (YYYY-MM-DDTHH:MM:SSZ)");
       },
       cmd_revoke},
      {"crl", "sign a new CRL",
       [](po::options_description& o) {
         add_pin_option(o);
         o.add_options()("state", po::value<std::string>()->required(), "CA state folder")(
             "out", po::value<std::string>()->required(), "where to write the CRL (DER)");
       },
       cmd_crl},
      {"show", "print a certificate, CRL or request after strict parsing",
       [](po::options_description& o) { o.add_options()("file", po::value<std::string>()->required(), "DER or PEM file"); },
       cmd_show, "file"},
      {"profiles", "list certificate profiles", [](po::options_description&) {}, cmd_profiles},
  };
}


}  // namespace hanko::offline
