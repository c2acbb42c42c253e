#include "hanko/offline/network_guard.h"

#include <algorithm>
#include <fstream>
#include <system_error>

namespace hanko::offline {

namespace {

const char* const kAdvice =
    "the signer must run air-gapped: remove the network hardware (the appliance image ships no "
    "network drivers) and start again";

[[noreturn]] void unreadable(const std::filesystem::path& what, const std::string& why) {
  throw NetworkPresentError({}, "cannot list network interfaces in " + what.string() + " (" + why +
                                    "); " + kAdvice);
}

void from_sysfs(const std::filesystem::path& dir, std::vector<std::string>& out) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) unreadable(dir, ec.message());
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    // Every entry counts, including files such as bonding_masters: their presence means a
    // network driver is loaded, and failing closed costs nothing on the appliance.
    const std::string name = it->path().filename().string();
    if (name != "lo") out.push_back(name);
  }
  if (ec) unreadable(dir, ec.message());
}

// /proc/net/dev: two header lines, then "  name: counters..." per interface of this process's
// network namespace (sysfs shows the namespace that mounted it; reading both covers either).
void from_proc(const std::filesystem::path& file, std::vector<std::string>& out) {
  std::ifstream in(file);
  if (!in) unreadable(file, "cannot open");
  std::string line;
  for (int n = 0; std::getline(in, line); ++n) {
    if (n < 2) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::size_t first = line.find_first_not_of(" \t");
    const std::string name = line.substr(first, colon - first);
    if (!name.empty() && name != "lo") out.push_back(name);
  }
}

}  // namespace

bool air_gap_required(const std::filesystem::path& policy_file) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::symlink_status(policy_file, ec);
  if (ec) return ec != std::errc::no_such_file_or_directory;
  return st.type() != std::filesystem::file_type::not_found;
}

std::vector<std::string> non_loopback_interfaces(const std::filesystem::path& sys_class_net,
                                                 const std::filesystem::path& proc_net_dev) {
  std::vector<std::string> names;
  if (!sys_class_net.empty()) from_sysfs(sys_class_net, names);
  if (!proc_net_dev.empty()) from_proc(proc_net_dev, names);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

void check_no_network(const std::filesystem::path& sys_class_net,
                      const std::filesystem::path& proc_net_dev) {
  std::vector<std::string> names = non_loopback_interfaces(sys_class_net, proc_net_dev);
  if (names.empty()) return;
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  const std::string message =
      "refusing to start: network interface(s) present other than loopback: " + list + "; " +
      kAdvice;
  throw NetworkPresentError(std::move(names), message);
}

}  // namespace hanko::offline
