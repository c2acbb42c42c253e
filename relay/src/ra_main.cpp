// hanko-ra: what an RA operator runs after vetting applicants. It signs each request item with
// the operator's key and assembles a request batch for the signer.
//   hanko-ra keygen --key ra.key --public ra.spki
//   hanko-ra batch --key ra.key --operator NAME --manifest requests.tsv --out batch.der
// Manifest lines (tab separated; '#' starts a comment):
//   issue   CSR_FILE  PROFILE  PARTITION|-  [NAME  BIRTH  GENDER  ADDRESS]
//   revoke  SERIAL_HEX  REASON
//   hanko-ra items --key ra.key --operator NAME --manifest requests.tsv --id-prefix P --out-dir DIR
//     (one signed item per file, for the relay's intake API)
//   hanko-ra results --in result.der --out-dir DIR
#include <cryptopp/osrng.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "hanko/common/files.h"
#include "hanko/pki/jpki.h"
#include "hanko/pki/pem.h"
#include "hanko/transfer/batch.h"
#include "ra_key.h"

using namespace hanko;
namespace po = boost::program_options;

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, '\t')) out.push_back(field);
  return out;
}

Bytes read_request(const std::string& path) {
  const Bytes data = hanko::read_file(path, 1 << 20);
  if (pki::looks_like_pem(data)) {
    return pki::pem_decode(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()), "CERTIFICATE REQUEST");
  }
  return data;
}

int make_batch(const po::variables_map& vm) {
  relay::RaKey key(vm["key"].as<std::string>());
  const std::string op = vm["operator"].as<std::string>();
  const pki::Time now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  std::ifstream manifest(vm["manifest"].as<std::string>());
  if (!manifest) throw std::runtime_error("cannot read manifest '" + vm["manifest"].as<std::string>() + "'");
  std::vector<Bytes> items;
  std::string line;
  int number = 0;
  while (std::getline(manifest, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const auto f = split_tabs(line);
    transfer::RequestItem item;
    item.item_id = "item-" + std::to_string(number);
    item.ra_operator = op;
    item.created = now;
    if (f[0] == "issue" && (f.size() == 4 || f.size() == 8)) {
      transfer::IssueAction a;
      a.request = read_request(f[1]);
      a.profile = f[2];
      if (f[3] != "-") a.partition = f[3];
      if (f.size() == 8) {
        a.subject_data = {{pki::jpki::kName, f[4]}, {pki::jpki::kDateOfBirth, f[5]},
                          {pki::jpki::kGender, f[6]}, {pki::jpki::kAddress, f[7]}};
      }
      item.issue = std::move(a);
    } else if (f[0] == "revoke" && f.size() == 3) {
      transfer::RevokeAction a;
      a.serial = pki::Serial::from_hex(f[1]);
      const auto reason = pki::parse_reason_name(f[2]);
      if (!reason) throw std::runtime_error("manifest line " + std::to_string(number) + ": unknown reason '" + f[2] + "'");
      a.reason = *reason;
      item.revoke = a;
    } else {
      throw std::runtime_error("manifest line " + std::to_string(number) + ": expected 'issue CSR PROFILE PARTITION [NAME BIRTH GENDER ADDRESS]' or 'revoke SERIAL REASON'");
    }
    if (vm.count("out-dir")) {
      // One signed item per file, for the relay's intake API (POST /api/v1/requests).
      item.item_id = vm["id-prefix"].as<std::string>() + "-" + std::to_string(number);
      const std::filesystem::path file = std::filesystem::path(vm["out-dir"].as<std::string>()) / (item.item_id + ".der");
      hanko::write_new_file(file, transfer::sign_request_item(item, key));
      std::cout << file.string() << "\n";
      continue;
    }
    items.push_back(transfer::sign_request_item(item, key));
  }
  if (vm.count("out-dir")) return 0;
  CryptoPP::AutoSeededRandomPool rng;
  Bytes id(16);
  rng.GenerateBlock(id.data(), id.size());
  const Bytes batch = transfer::encode_request_batch(id, now, items);
  hanko::write_new_file(vm["out"].as<std::string>(), batch);
  std::cout << "batch " << to_hex(id) << " with " << items.size() << " signed items -> " << vm["out"].as<std::string>() << "\n";
  return 0;
}

// Unpacks a result batch: every issued certificate as <SERIAL>.crt, lists as <n>.crl, and one
// line per item on standard output.
int unpack_results(const po::variables_map& vm) {
  const transfer::ResultBatch result = transfer::parse_result_batch(hanko::read_file(vm["in"].as<std::string>(), transfer::kMaxBatchBytes));
  const std::filesystem::path out = vm["out-dir"].as<std::string>();
  std::filesystem::create_directories(out);
  int issued = 0, revoked = 0, refused = 0;
  for (const transfer::ItemResult& r : result.results) {
    switch (r.status) {
      case transfer::ItemStatus::kIssued:
        ++issued;
        hanko::write_file_atomic(out / (r.serial->hex() + ".crt"), r.certificate);
        std::cout << r.item_id << "\tissued\t" << r.serial->hex() << "\n";
        break;
      case transfer::ItemStatus::kRevoked:
        ++revoked;
        std::cout << r.item_id << "\trevoked\t" << r.serial->hex() << "\n";
        break;
      case transfer::ItemStatus::kRefused:
        ++refused;
        std::cout << r.item_id << "\trefused\t" << r.reason << "\n";
        break;
    }
  }
  for (std::size_t i = 0; i < result.lists.size(); ++i) {
    hanko::write_file_atomic(out / ("list-" + std::to_string(i + 1) + ".crl"), result.lists[i]);
  }
  std::cerr << "batch " << to_hex(result.batch_id) << ": " << issued << " issued, " << revoked << " revoked, "
            << refused << " refused, " << result.lists.size() << " lists\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "--version") {
    std::cout << "hanko-ra " << HANKO_VERSION << "\n";
    return 0;
  }
  static const char* const usage =
      "usage: hanko-ra COMMAND [options]\n\ncommands:\n"
      "  keygen   make the RA operator's signing key (private key file 0600, public key to register)\n"
      "  batch    sign a manifest of requests into one request batch (the signer's 'batch --in')\n"
      "  items    sign a manifest into one SignedRequestItem per line (the relay's intake API)\n"
      "  results  write the certificates and lists of a result batch to a folder\n"
      "\nRun 'hanko-ra COMMAND --help' for its options and the manifest format. Exit status: 0 done, 1 failed, 2 usage.\n";
  if (command == "--help" || command == "-h") {
    std::cout << usage;
    return 0;
  }
  po::options_description o("hanko-ra " + command + " options");
  o.add_options()("help,h", "show this help");
  if (command == "keygen") {
    o.add_options()("key", po::value<std::string>()->required(), "private key file to create (0600)")(
        "public", po::value<std::string>()->required(), "public key (SubjectPublicKeyInfo DER) to create");
  } else if (command == "batch") {
    o.add_options()("key", po::value<std::string>()->required(), "the operator's private key")(
        "operator", po::value<std::string>()->required(), "operator name registered on the signer")(
        "manifest", po::value<std::string>()->required(), "tab-separated request list (see below)")(
        "out", po::value<std::string>()->required(), "request batch to write");
  } else if (command == "items") {
    o.add_options()("key", po::value<std::string>()->required(), "the operator's private key")(
        "operator", po::value<std::string>()->required(), "operator name registered on the signer and the relay")(
        "manifest", po::value<std::string>()->required(), "tab-separated request list")(
        "id-prefix", po::value<std::string>()->required(), "request ids are PREFIX-<line>; unique per operator")(
        "out-dir", po::value<std::string>()->required(), "folder for one SignedRequestItem DER per line");
  } else if (command == "results") {
    o.add_options()("in", po::value<std::string>()->required(), "result batch from the signer")(
        "out-dir", po::value<std::string>()->required(), "folder for the certificates and lists");
  } else {
    std::cerr << (command.empty() ? "" : "hanko-ra: unknown command '" + command + "'\n") << usage;
    return 2;
  }
  try {
    po::variables_map vm;
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc - 1, argv + 1).options(o).style(style).run(), vm);
    if (vm.count("help")) {
      if (command == "batch" || command == "items") {
        std::cout << o << "\nManifest: one request a line, fields separated by a TAB, '#' starts a comment:\n"
                  << "  issue   CSR-FILE  PROFILE  PARTITION|-  [NAME  BIRTH  GENDER  ADDRESS]\n"
                  << "  revoke  SERIAL    REASON\n"
                  << "NAME, BIRTH (YYYYMMDD), GENDER (1 male, 2 female) and ADDRESS are the basic four (R14) that\n"
                  << "subscriber-signature certificates need; REASON is keyCompromise, affiliationChanged, superseded, ...\n";
        return 0;
      }
      std::cout << o;
      return 0;
    }
    po::notify(vm);
    if (command == "keygen") {
      relay::RaKey::generate(vm["key"].as<std::string>(), vm["public"].as<std::string>());
      std::cout << "RA key written; register " << vm["public"].as<std::string>() << " on the signer (hanko-offline ra-register)\n";
      return 0;
    }
    if (command == "results") return unpack_results(vm);
    if (command == "items") std::filesystem::create_directories(vm["out-dir"].as<std::string>());
    return make_batch(vm);
  } catch (const std::exception& e) {
    std::cerr << "hanko-ra " << command << ": " << e.what() << "\n";
    return 1;
  }
}
