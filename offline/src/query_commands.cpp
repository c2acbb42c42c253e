// The CA's index, as `openssl ca`'s index.txt, step-ca and EJBCA give it: list, find, get.
// Read-only: nothing here signs or records anything.
#include <iostream>
#include <nlohmann/json.hpp>

#include "hanko/common/files.h"
#include "hanko/offline/ca_store.h"
#include "hanko/offline/command.h"
#include "hanko/pki/crl.h"
#include "hanko/pki/pem.h"

namespace hanko::offline {

namespace {

using Filter = CaStore::CertificateFilter;

std::string status_of(const CertificateRecord& r, pki::Time at) {
  if (r.revoked) return "revoked";
  return r.not_after <= at ? "expired" : "valid";
}

void add_filter_options(po::options_description& o) {
  o.add_options()("serial", po::value<std::string>(), "this serial (hexadecimal, also OpenSSL's 58:1b:... form)")(
      "subject", po::value<std::string>(), "subject containing this text (e.g. a CN or 熊本県)")(
      "profile", po::value<std::string>(), "issued with this profile")(
      "status", po::value<std::string>(), "valid, revoked or expired")(
      "generation", po::value<int>(), "signed by this key generation")(
      "batch", po::value<std::string>(), "issued in this batch (id in hexadecimal)")(
      "issued-after", po::value<std::string>(), "notBefore at or after this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")(
      "issued-before", po::value<std::string>(), "notBefore before this time")(
      "json", "one JSON object per line (fields in 'hanko-offline list --help')");
}

constexpr const char* kListDetails =
    "Columns: serial, generation, status (valid, revoked with reason, expired), profile, notBefore, notAfter, subject.\n"
    "--json prints one object per line with the fields: serial (upper-case hex), generation, kind (subscriber,\n"
    "self-signed, link, cross), profile, subject, not_before, not_after (RFC 3339 UTC), status, partition, batch_id,\n"
    "requested_by, and for revoked ones revoked_at, reason (RFC 5280 name) and invalidity_date when given.\n"
    "Exit status: 0 done (also when nothing matches), 1 refused, 2 usage.\n";

Filter filter_from(const po::variables_map& vm, pki::Time now) {
  Filter f;
  f.at = now;
  if (vm.count("serial")) f.serial = pki::Serial::from_hex(vm["serial"].as<std::string>());
  if (vm.count("subject")) f.subject_contains = vm["subject"].as<std::string>();
  if (vm.count("profile")) f.profile = vm["profile"].as<std::string>();
  if (vm.count("generation")) f.generation = vm["generation"].as<int>();
  if (vm.count("batch")) f.batch_id = vm["batch"].as<std::string>();
  try {
    if (vm.count("issued-after")) f.issued_from = pki::parse_time_text(vm["issued-after"].as<std::string>());
    if (vm.count("issued-before")) f.issued_until = pki::parse_time_text(vm["issued-before"].as<std::string>());
  } catch (const std::exception& e) {
    throw UsageError(std::string(e.what()) + " (--issued-after / --issued-before take YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
  }
  if (vm.count("status")) {
    const std::string s = vm["status"].as<std::string>();
    if (s == "valid") f.status = Filter::Status::kValid;
    else if (s == "revoked") f.status = Filter::Status::kRevoked;
    else if (s == "expired") f.status = Filter::Status::kExpired;
    else throw UsageError("--status '" + s + "': valid, revoked or expired");
  }
  return f;
}

nlohmann::ordered_json to_json(const CertificateRecord& r, pki::Time now) {
  nlohmann::ordered_json j{{"serial", r.serial.hex()},
                           {"generation", r.generation},
                           {"kind", std::string(kind_name(r.kind))},
                           {"profile", r.profile},
                           {"subject", r.subject},
                           {"not_before", pki::format_time_rfc3339(r.not_before)},
                           {"not_after", pki::format_time_rfc3339(r.not_after)},
                           {"status", status_of(r, now)},
                           {"partition", r.partition},
                           {"batch_id", r.batch_id},
                           {"requested_by", r.requested_by}};
  if (r.revoked_at) j["revoked_at"] = pki::format_time_rfc3339(*r.revoked_at);
  if (r.reason) j["reason"] = std::string(pki::reason_name(*r.reason));
  if (r.invalidity_date) j["invalidity_date"] = pki::format_time_rfc3339(*r.invalidity_date);
  return j;
}

void print_line(const CertificateRecord& r, pki::Time now) {
  std::string status = status_of(r, now);
  if (r.reason) status += " (" + std::string(pki::reason_name(*r.reason)) + ")";
  std::cout << r.serial.hex() << "  g" << r.generation << "  " << status << "  " << r.profile << "  "
            << pki::format_time(r.not_before).substr(0, 10) << " to " << pki::format_time(r.not_after).substr(0, 10) << "  "
            << r.subject << "\n";
}

void run_query(const po::variables_map& vm, bool need_filter) {
  static const char* const filters[] = {"serial", "subject", "profile", "status", "generation", "batch", "issued-after", "issued-before"};
  bool any = false;
  for (const char* name : filters) any = any || vm.count(name);
  if (need_filter && !any) {
    throw UsageError("say what to find: --serial, --subject, --profile, --status, --generation, --batch, --issued-after or --issued-before "
                     "('list' shows every certificate)");
  }
  CaStore store(vm["state"].as<std::string>());
  const pki::Time t = now();
  const bool json = vm.count("json") > 0;
  std::size_t count = 0;
  const auto show = [&](const CertificateRecord& r) {
    ++count;
    if (json) std::cout << to_json(r, t).dump() << "\n";
    else print_line(r, t);
  };
  // The filters combine, so "--serial S --status valid" answers whether S is valid.
  store.for_each_certificate(filter_from(vm, t), show);
  if (!json) std::cerr << count << (count == 1 ? " certificate\n" : " certificates\n");
}

void cmd_get(const po::variables_map& vm) {
  CaStore store(vm["state"].as<std::string>());
  const pki::Serial serial = pki::Serial::from_hex(vm["serial"].as<std::string>());
  const auto record = store.find(serial);
  if (!record) throw std::runtime_error("no certificate " + serial.hex() + " in this CA; 'hanko-offline find --subject TEXT' looks it up");
  const bool pem = vm.count("pem") > 0;
  const std::string text = pem ? pki::pem_encode(record->der, "CERTIFICATE") : std::string();
  if (!vm.count("out")) {
    if (!pem) throw UsageError("DER is binary: give --out FILE, or --pem to print it");
    std::cout << text;
    return;
  }
  const std::string out = vm["out"].as<std::string>();
  if (pem) write_new_file(out, BytesView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  else write_new_file(out, record->der);
  std::cout << "certificate " << serial.hex() << " (" << record->subject << ") -> " << out << "\n";
}

}  // namespace

std::vector<Command> query_commands() {
  return {
      {"list", "the CA's certificates: serial, generation, status, profile, validity, subject",
       [](po::options_description& o) {
         add_state_for_reading(o);
         add_filter_options(o);
       },
       [](const po::variables_map& vm) { run_query(vm, false); }, nullptr, kListDetails},
      {"find", "certificates by serial, subject text, profile, status, generation, batch or date",
       [](po::options_description& o) {
         add_state_for_reading(o);
         add_filter_options(o);
       },
       [](const po::variables_map& vm) { run_query(vm, true); }, nullptr, kListDetails},
      {"get", "write out an issued certificate (DER, or PEM with --pem)",
       [](po::options_description& o) {
         add_state_for_reading(o);
         o.add_options()("serial", po::value<std::string>()->required(), "serial (hexadecimal, also OpenSSL's 58:1b:... form)")(
             "out", po::value<std::string>(), "file to write (never overwritten); without it --pem prints to stdout")(
             "pem", "PEM instead of DER");
       },
       cmd_get},
  };
}

}  // namespace hanko::offline
