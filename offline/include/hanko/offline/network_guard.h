#pragma once
// The signer runs air-gapped. Inside the appliance image the policy file below exists, and every
// command that touches keys or the CA state first checks that no network interface other than
// loopback exists; a check in the program, so that an init changed by someone else, or a shell,
// still cannot start the signer next to a network card. On development machines and in CI the
// file is absent (they have eth0) and the check runs only with --require-air-gap.
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace hanko::offline {

// Fixed at compile time: neither the environment nor the command line can move it elsewhere.
inline constexpr const char* kAirGapPolicyFile = "/etc/hanko/air-gap";
inline constexpr const char* kSysClassNet = "/sys/class/net";
inline constexpr const char* kProcNetDev = "/proc/net/dev";

class NetworkPresentError : public std::runtime_error {
 public:
  NetworkPresentError(std::vector<std::string> interfaces, const std::string& message)
      : std::runtime_error(message), m_interfaces(std::move(interfaces)) {}
  const std::vector<std::string>& interfaces() const { return m_interfaces; }

 private:
  std::vector<std::string> m_interfaces;
};

// True when the policy file exists. Fails closed: a file that cannot be examined (other than
// simply not existing) counts as present.
bool air_gap_required(const std::filesystem::path& policy_file = kAirGapPolicyFile);

// Names of every interface other than "lo" listed in a /sys/class/net folder and in a
// /proc/net/dev file (either path may be empty to skip that source), sorted and unique. Throws
// NetworkPresentError when a given source cannot be read: an unreadable list is not an empty one.
std::vector<std::string> non_loopback_interfaces(const std::filesystem::path& sys_class_net,
                                                 const std::filesystem::path& proc_net_dev);

// Throws NetworkPresentError naming the interfaces unless loopback is the only one.
void check_no_network(const std::filesystem::path& sys_class_net = kSysClassNet,
                      const std::filesystem::path& proc_net_dev = kProcNetDev);

}  // namespace hanko::offline
