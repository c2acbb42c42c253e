#include <cryptopp/osrng.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "hanko/common/files.h"
#include "hanko/hsm/error.h"
#include "hanko/offline/command.h"
#include "hanko/offline/custody.h"
#include "hanko/offline/profiles.h"
#include "hanko/pki/certificate.h"
#include "hanko/pki/cms.h"
#include "hanko/pki/crl.h"
#include "hanko/pki/csr.h"
#include "hanko/pki/pem.h"

namespace hanko::offline {

namespace {

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
  hsm::Secret so_pin = obtain_new_secret(vm, "so-pin-fd", "New security officer PIN: ");
  check_activation_data(so_pin, "the security officer PIN");
  if (!vm.count("custodian")) {
    hsm::Secret user_pin = obtain_new_secret(vm, "pin-fd", "New user PIN: ");
    check_activation_data(user_pin, "the user PIN");
    const CK_SLOT_ID now_at = module.init_token(*slot, so_pin, label, user_pin);
    std::cout << "token '" << label << "' initialised, now in slot " << now_at << "\n";
    return;
  }
  // M of N custodians: nobody ever sees the PIN; it exists only while a quorum is present (R5).
  const auto custodians = vm["custodian"].as<std::vector<std::string>>();
  const int quorum = vm["quorum"].as<int>();
  const std::filesystem::path dir = vm["shares-dir"].as<std::string>();
  std::vector<hsm::Secret> passphrases;
  for (const std::string& c : custodians) {
    passphrases.push_back(vm.count("passphrase-fd") ? hsm::read_secret_from_fd(vm["passphrase-fd"].as<int>())
                                                    : hsm::prompt_new_secret("New passphrase of custodian " + c + ": "));
    check_passphrase_rule(passphrases.back().view(), "custodian '" + c + "'");
  }
  CryptoPP::AutoSeededRandomPool rng;
  CryptoPP::SecByteBlock random(32);
  rng.GenerateBlock(random, random.size());
  const hsm::Secret secret(BytesView(random.data(), random.size()));
  const std::vector<Bytes> shares = split_secret(secret, quorum, custodians, passphrases, rng);
  std::filesystem::create_directories(dir);
  for (std::size_t i = 0; i < shares.size(); ++i) {
    write_new_file(dir / share_file_name(custodians[i]), shares[i], 0600);
  }
  const CK_SLOT_ID now_at = module.init_token(*slot, so_pin, label, pin_from_secret(secret));
  std::cout << "token '" << label << "' initialised, now in slot " << now_at << "; its user PIN is split " << quorum << " of "
            << custodians.size() << " into " << dir.string() << "/<custodian>.share (one for each custodian's own medium)\n";
}

// The basic four (R14) by what they mean, other names as pki prints them.
std::string describe_name(const pki::GeneralName& g) {
  if (g.kind == pki::GeneralName::Kind::kOtherName) {
    static const std::pair<const pki::Oid*, const char*> jpki_names[] = {
        {&jpki::kName, "name"}, {&jpki::kDateOfBirth, "date of birth"}, {&jpki::kGender, "gender"},
        {&jpki::kAddress, "address"}, {&jpki::kNameSubstituted, "substitute characters in the name"},
        {&jpki::kAddressSubstituted, "substitute characters in the address"}};
    for (const auto& [type, label] : jpki_names) {
      if (g.type == *type) {
        const std::string shown = g.to_string();  // othername:OID="text"
        return std::string(label) + " " + shown.substr(shown.find('=') + 1);
      }
    }
  }
  return g.to_string();
}

std::string describe_names(const pki::GeneralNames& names) {
  std::string out;
  for (const pki::GeneralName& g : names) out += (out.empty() ? "" : ", ") + describe_name(g);
  return out;
}

// One line per extension we write (and the common others), decoded strictly; a value that does
// not decode is shown as such rather than hidden.
std::string describe_extension(const pki::Extension& e) {
  using namespace pki;
  const Oid& o = e.oid;
  try {
    if (o == oid::kBasicConstraints) {
      const BasicConstraints bc = decode_basic_constraints(e.value);
      return bc.ca ? "CA" + (bc.path_length ? ", pathLen " + std::to_string(*bc.path_length) : std::string()) : "not a CA";
    }
    if (o == oid::kKeyUsage) return key_usage::describe(decode_key_usage(e.value));
    if (o == oid::kExtKeyUsage) {
      std::string out;
      for (const Oid& k : decode_extended_key_usage(e.value)) out += (out.empty() ? "" : ", ") + display_name(k);
      return out;
    }
    if (o == oid::kSubjectKeyIdentifier) return to_hex(decode_subject_key_identifier(e.value), ':');
    if (o == oid::kAuthorityKeyIdentifier) return "keyid " + to_hex(decode_authority_key_identifier(e.value).key_id, ':');
    if (o == oid::kCrlDistributionPoints) {
      std::string out;
      for (const DistributionPoint& dp : decode_crl_distribution_points(e.value)) out += (out.empty() ? "" : "; ") + describe_names(dp.full_name);
      return out;
    }
    if (o == oid::kAuthorityInfoAccess) {
      std::string out;
      for (const AccessDescription& a : decode_authority_info_access(e.value)) {
        out += (out.empty() ? "" : ", ") + display_name(a.method) + " " + a.location.to_string();
      }
      return out;
    }
    if (o == oid::kCertificatePolicies) {
      std::string out;
      for (const PolicyInformation& p : decode_certificate_policies(e.value)) {
        out += (out.empty() ? "" : "; ") + display_name(p.policy);
        for (const std::string& cps : p.cps_uris) out += " CPS " + cps;
      }
      return out;
    }
    if (o == oid::kSubjectAltName || o == oid::kIssuerAltName) return describe_names(decode_general_names(e.value));
    if (o == oid::kPolicyMappings) {
      std::string out;
      for (const PolicyMapping& m : decode_policy_mappings(e.value)) {
        out += (out.empty() ? "" : ", ") + m.issuer_domain.to_string() + " -> " + m.subject_domain.to_string();
      }
      return out;
    }
    if (o == oid::kOcspNoCheck) return "the responder's certificate is not checked by OCSP";
    if (o == oid::kCrlNumber) return std::to_string(decode_crl_number(e.value));
    if (o == oid::kIssuingDistributionPoint) {
      const IssuingDistributionPoint idp = decode_issuing_distribution_point(e.value);
      std::string out = idp.full_name.empty() ? "no distribution point name" : describe_names(idp.full_name);
      if (idp.only_user_certs) out += "; only end-entity certificates (a partition)";
      if (idp.only_ca_certs) out += "; only CA certificates (an ARL)";
      if (idp.indirect_crl) out += "; indirect";
      return out;
    }
  } catch (const std::exception& ex) {
    return std::string("(does not decode: ") + ex.what() + ")";
  }
  return "(" + std::to_string(e.value.size()) + " bytes, not decoded)";
}

void print_extensions(const std::vector<pki::Extension>& extensions) {
  for (const pki::Extension& e : extensions) {
    std::cout << "  " << pki::display_name(e.oid) << (e.critical ? " (critical)" : "") << ": " << describe_extension(e) << "\n";
  }
}

// What a CA certificate is for in this CA's repository: self-signed, link or other CA.
std::string ca_role(const pki::Certificate& c) {
  if (!c.is_ca()) return "";
  if (c.is_self_issued()) {
    const auto ski = c.subject_key_id(), aki = c.authority_key_id();
    if (ski && aki && *ski != *aki) return "link certificate (self-issued: another key of the same CA signed this key)";
    return "self-signed CA certificate (a trust anchor)";
  }
  return "CA certificate issued by another CA (a cross-certificate)";
}

void print_certificate(const pki::Certificate& c) {
  std::cout << "Certificate v" << c.version << "\n"
            << "  serial      " << c.serial.hex() << "\n"
            << "  subject     " << c.subject.to_string() << "\n"
            << "  issuer      " << c.issuer.to_string() << "\n"
            << "  validity    " << pki::format_time(c.not_before) << " to " << pki::format_time(c.not_after) << "\n"
            << "  key         " << c.public_key.description() << "\n"
            << "  signature   " << pki::signature_algorithm_name(c.signature_algorithm) << "\n"
            << "  SHA-256     " << fingerprint(c.fingerprint_sha256()) << "\n"
            << (ca_role(c).empty() ? "" : "  role        " + ca_role(c) + "\n");
  print_extensions(c.extensions);
}

// show --json: the same facts as the text, with stable field names (README).
nlohmann::ordered_json extensions_json(const std::vector<pki::Extension>& extensions) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const pki::Extension& e : extensions) {
    out.push_back({{"name", pki::display_name(e.oid)}, {"oid", e.oid.to_string()}, {"critical", e.critical},
                   {"value", describe_extension(e)}});
  }
  return out;
}

nlohmann::ordered_json certificate_json(const pki::Certificate& c) {
  return {{"type", "certificate"},
          {"serial", c.serial.hex()},
          {"subject", c.subject.to_string()},
          {"issuer", c.issuer.to_string()},
          {"not_before", pki::format_time_rfc3339(c.not_before)},
          {"not_after", pki::format_time_rfc3339(c.not_after)},
          {"key", c.public_key.description()},
          {"signature", pki::signature_algorithm_name(c.signature_algorithm)},
          {"sha256", to_hex(c.fingerprint_sha256())},
          {"role", ca_role(c)},
          {"extensions", extensions_json(c.extensions)}};
}

void cmd_show(const po::variables_map& vm) {
  const std::string path = vm["file"].as<std::string>();
  const Bytes data = read_file(path);
  Bytes der = data;
  if (pki::looks_like_pem(data)) {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    for (const char* label : {"CERTIFICATE", "X509 CRL", "CERTIFICATE REQUEST", "PKCS7", "CMS"}) {
      if (text.find(std::string("-----BEGIN ") + label + "-----") != std::string_view::npos) {
        der = pki::pem_decode(text, label);
        break;
      }
    }
  }
  const bool json = vm.count("json") > 0;
  const auto emit = [](const nlohmann::ordered_json& j) { std::cout << j.dump(2) << "\n"; };
  if (auto c = pki::parse_certificate(der)) return json ? emit(certificate_json(*c)) : print_certificate(*c);
  if (auto l = pki::parse_crl(der)) {
    if (json) {
      nlohmann::ordered_json entries = nlohmann::ordered_json::array();
      for (const pki::RevokedCertificate& r : l->entries) {
        entries.push_back({{"serial", r.serial.hex()}, {"revoked_at", pki::format_time_rfc3339(r.revocation_date)},
                           {"reason", r.reason ? nlohmann::ordered_json(std::string(pki::reason_name(*r.reason))) : nullptr}});
      }
      return emit({{"type", "crl"},
                   {"issuer", l->issuer.to_string()},
                   {"number", l->crl_number ? nlohmann::ordered_json(*l->crl_number) : nullptr},
                   {"this_update", pki::format_time_rfc3339(l->this_update)},
                   {"next_update", l->next_update ? nlohmann::ordered_json(pki::format_time_rfc3339(*l->next_update)) : nullptr},
                   {"full", l->extension(pki::oid::kIssuingDistributionPoint) == nullptr},
                   {"entry_count", l->entry_count},
                   {"extensions", extensions_json(l->extensions)},
                   {"entries", entries}});
    }
    std::cout << "CRL " << (l->crl_number ? std::to_string(*l->crl_number) : "?") << " by " << l->issuer.to_string() << "\n"
              << "  thisUpdate  " << pki::format_time(l->this_update) << "\n";
    if (l->next_update) std::cout << "  nextUpdate  " << pki::format_time(*l->next_update) << "\n";
    std::cout << "  scope       "
              << (l->extension(pki::oid::kIssuingDistributionPoint) ? "its issuingDistributionPoint (below)"
                                                                    : "no issuingDistributionPoint: complete for every certificate of the name (a fullCRL)")
              << "\n  entries     " << l->entry_count << "\n";
    print_extensions(l->extensions);
    for (const pki::RevokedCertificate& r : l->entries) {
      std::cout << "  revoked     " << r.serial.hex() << " " << pki::format_time(r.revocation_date)
                << (r.reason ? " " + std::string(pki::reason_name(*r.reason)) : "") << "\n";
    }
    return;
  }
  if (auto sd = pki::parse_signed_data(der); sd && json) {
    nlohmann::ordered_json certs = nlohmann::ordered_json::array(), signers = nlohmann::ordered_json::array();
    for (const pki::Certificate& c : sd->certificates) certs.push_back(certificate_json(c));
    for (const pki::CmsSignerInfo& si : sd->signers) {
      signers.push_back({{"issuer", si.issuer.to_string()}, {"serial", si.serial.hex()},
                         {"signature", pki::signature_algorithm_name(si.signature_algorithm)},
                         {"signing_time", si.signing_time ? nlohmann::ordered_json(pki::format_time_rfc3339(*si.signing_time)) : nullptr},
                         {"message_digest", to_hex(si.message_digest)}});
    }
    return emit({{"type", "cms-signed-data"}, {"certificates", certs}, {"signers", signers}});
  }
  if (auto sd = pki::parse_signed_data(der)) {
    // .p7c (certificates only) or .p7s (a detached signature, e.g. on fingerprints.txt)
    std::cout << "CMS SignedData: " << sd->certificates.size() << (sd->certificates.size() == 1 ? " certificate" : " certificates")
              << ", " << sd->signers.size() << (sd->signers.size() == 1 ? " signer" : " signers")
              << (sd->has_content ? "" : (sd->signers.empty() ? " (a certificate bundle, .p7c)" : " (detached signature, .p7s)")) << "\n";
    for (const pki::CmsSignerInfo& s : sd->signers) {
      std::cout << "  signer      " << s.issuer.to_string() << " serial " << s.serial.hex() << ", "
                << pki::signature_algorithm_name(s.signature_algorithm)
                << (s.signing_time ? ", signed " + pki::format_time(*s.signing_time) : std::string()) << "\n"
                << "  digest      " << to_hex(s.message_digest, ':') << " (check it with 'openssl cms -verify' and the content)\n";
    }
    for (const pki::Certificate& c : sd->certificates) {
      std::cout << "\n";
      print_certificate(c);
    }
    return;
  }
  const auto r = pki::parse_certification_request(der);
  if (!r) {
    throw PolicyError("'" + path + "' is not a certificate, CRL, certification request or CMS SignedData hanko accepts: [" +
                      std::string(pki::error_id_name(r.error())) + "] " + r.message());
  }
  if (json) {
    return emit({{"type", "certification-request"}, {"subject", r->subject.to_string()}, {"key", r->public_key.description()},
                 {"signature_verified", true}, {"extensions", extensions_json(r->requested_extensions)}});
  }
  std::cout << "Certification request\n  subject     " << r->subject.to_string() << "\n  key         "
            << r->public_key.description() << "\n  signature   verified (proof of possession)\n";
}

}  // namespace

std::vector<Command> tool_commands() {
  return {
      {"token-list", "list PKCS#11 slots and tokens", add_module_option, cmd_token_list},
      {"token-init", "initialise a token (erases it) with a label and new PINs",
       [](po::options_description& o) {
         add_module_option(o);
         o.add_options()("label", po::value<std::string>()->required(), "token label (at most 32 bytes)")(
             "slot", po::value<unsigned long>(), "slot id (default: the first slot with an uninitialised token)")(
             "so-pin-fd", po::value<int>(), "read the new security officer PIN from this descriptor")(
             "pin-fd", po::value<int>(), "read the new user PIN from this descriptor")(
             "custodian", po::value<std::vector<std::string>>(), "instead of a PIN: a custodian's name; repeat for each of N")(
             "quorum", po::value<int>()->default_value(3), "M: how many custodians must be present (R5)")(
             "shares-dir", po::value<std::string>()->default_value("shares"), "where the sealed shares are written")(
             "passphrase-fd", po::value<int>(), "read the custodians' new passphrases from this descriptor, one a line");
       },
       cmd_token_init},
      {"show", "print a certificate, CRL, request or CMS bundle after strict parsing, every extension decoded",
       [](po::options_description& o) {
         o.add_options()("file", po::value<std::string>()->required(), "DER or PEM file (certificate, CRL, request, .p7c, .p7s)")(
             "json", "print it as JSON (fields in the README)");
       },
       cmd_show, "file"},
  };
}

}  // namespace hanko::offline
