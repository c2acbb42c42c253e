// The air-gap check reads a /sys/class/net folder and a /proc/net/dev file; here both are fakes
// in a temporary folder, so the test does not depend on the machine's own interfaces.
#include "hanko/offline/network_guard.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace fs = std::filesystem;
using hanko::offline::NetworkPresentError;

namespace {

class FakeNet : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    m_root = fs::temp_directory_path() / ("hanko-net-" + std::to_string(::getpid()) + "-" + test);
    fs::remove_all(m_root);
    fs::create_directories(sys());
  }
  void TearDown() override { fs::remove_all(m_root); }

  fs::path sys() const { return m_root / "sys-class-net"; }
  fs::path proc() const { return m_root / "proc-net-dev"; }
  void interface(const std::string& name) { fs::create_directory(sys() / name); }
  void proc_lines(const std::string& body) {
    std::ofstream(proc()) << "Inter-|   Receive\n face |bytes    packets\n" << body;
  }

  fs::path m_root;
};

TEST_F(FakeNet, LoopbackOnlyIsAccepted) {
  interface("lo");
  proc_lines("    lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
  EXPECT_NO_THROW(hanko::offline::check_no_network(sys(), proc()));
}

TEST_F(FakeNet, EthernetNextToLoopbackIsRefusedByName) {
  interface("lo");
  interface("eth0");
  try {
    hanko::offline::check_no_network(sys(), "");
    FAIL() << "eth0 was accepted";
  } catch (const NetworkPresentError& e) {
    EXPECT_EQ(e.interfaces(), std::vector<std::string>{"eth0"});
    EXPECT_NE(std::string(e.what()).find("eth0"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("air-gapped"), std::string::npos);
  }
}

TEST_F(FakeNet, InterfaceSeenOnlyInProcIsRefused) {
  interface("lo");
  proc_lines("    lo: 0 0 0 0\n  wlan0: 12 3 0 0\n");
  try {
    hanko::offline::check_no_network(sys(), proc());
    FAIL() << "wlan0 was accepted";
  } catch (const NetworkPresentError& e) {
    EXPECT_EQ(e.interfaces(), std::vector<std::string>{"wlan0"});
  }
}

TEST_F(FakeNet, EveryNonLoopbackEntryIsListedOnce) {
  for (const char* n : {"lo", "usb0", "eth0", "bonding_masters"}) interface(n);
  proc_lines("  eth0: 1 2\n");
  EXPECT_EQ(hanko::offline::non_loopback_interfaces(sys(), proc()),
            (std::vector<std::string>{"bonding_masters", "eth0", "usb0"}));
}

TEST_F(FakeNet, UnreadableListFailsClosed) {
  using hanko::offline::check_no_network;
  EXPECT_THROW(check_no_network(m_root / "no-such-folder", ""), NetworkPresentError);
  interface("lo");
  EXPECT_THROW(check_no_network(sys(), m_root / "no-such-file"), NetworkPresentError);
}

TEST_F(FakeNet, PolicyFileMakesTheCheckMandatory) {
  EXPECT_FALSE(hanko::offline::air_gap_required(m_root / "air-gap"));
  std::ofstream(m_root / "air-gap") << "";
  EXPECT_TRUE(hanko::offline::air_gap_required(m_root / "air-gap"));
  // A dangling symbolic link still says "required": presence, not content, decides.
  fs::create_symlink(m_root / "gone", m_root / "link");
  EXPECT_TRUE(hanko::offline::air_gap_required(m_root / "link"));
}

}  // namespace
