#include "hanko/hsm/module.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "hsm_test_support.h"

namespace hanko::hsm::test {
namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(ModuleLoad, MissingFileSaysWhichAndWhatToDo) {
  const Error error = catch_error([] { Module module("/nonexistent/libnope.so"); });
  EXPECT_EQ(error.reason(), Reason::ModuleLoad);
  const std::string message = error.what();
  EXPECT_TRUE(contains(message, "cannot load PKCS#11 module '/nonexistent/libnope.so': "))
      << message;
  EXPECT_TRUE(contains(message, "; check the module path in the configuration")) << message;
}

TEST(ModuleLoad, EmptyPathIsRefused) {
  const Error error = catch_error([] { Module module(""); });
  EXPECT_EQ(error.reason(), Reason::ModuleLoad);
  EXPECT_TRUE(contains(error.what(), "no PKCS#11 module path given")) << error.what();
}

TEST(ModuleLoad, LibraryThatIsNotAModuleIsRefused) {
  const std::string path = "/usr/lib/x86_64-linux-gnu/libz.so.1";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not installed";
  const Error error = catch_error([&] { Module module(path); });
  EXPECT_EQ(error.reason(), Reason::ModuleLoad);
  EXPECT_TRUE(contains(error.what(), "'" + path + "' is not a PKCS#11 module")) << error.what();
}

TEST(ModuleLoad, DefaultPathIsTheSoftHsmModule) {
  EXPECT_TRUE(std::filesystem::exists(kDefaultModulePath)) << kDefaultModulePath;
}

TEST_F(ModuleTest, SecondInitialisationInOneProcessIsAClearError) {
  const Error error = catch_error([] { Module again; });
  EXPECT_EQ(error.rv(), CKR_CRYPTOKI_ALREADY_INITIALIZED);
  EXPECT_TRUE(contains(error.what(), "C_Initialize: CKR_CRYPTOKI_ALREADY_INITIALIZED; "))
      << error.what();
  // The failed second load must not have finalised the first.
  EXPECT_NO_THROW(m_module.slots());
}

TEST_F(ModuleTest, FreshSandboxHasOneUninitialisedSoftHsmSlot) {
  const std::vector<SlotInfo> slots = m_module.slots(true);
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_TRUE(slots[0].token_present);
  EXPECT_FALSE(slots[0].token_initialized);
  EXPECT_EQ(slots[0].manufacturer, "SoftHSM project");
  EXPECT_EQ(slots[0].model, "SoftHSM v2");
  EXPECT_FALSE(slots[0].description.empty());
  EXPECT_EQ(m_module.first_free_slot(), slots[0].id);
  EXPECT_GE(m_module.slots(false).size(), slots.size());
}

TEST_F(ModuleTest, InitTokenReturnsTheSlotWhereTheTokenNowLives) {
  const CK_SLOT_ID free_slot = m_module.first_free_slot().value();
  const CK_SLOT_ID slot = m_module.init_token(free_slot, so_pin(), "ca-2026", user_pin());
  EXPECT_EQ(m_module.find_token("ca-2026"), slot);
  const std::vector<SlotInfo> slots = m_module.slots();
  const auto it =
      std::find_if(slots.begin(), slots.end(), [&](const SlotInfo& s) { return s.id == slot; });
  ASSERT_NE(it, slots.end());
  EXPECT_TRUE(it->token_initialized);
  EXPECT_EQ(it->token_label, "ca-2026");  // blank padding trimmed
  EXPECT_FALSE(it->serial.empty());
  // SoftHSMv2 offers a new empty slot for the next token.
  EXPECT_TRUE(m_module.first_free_slot().has_value());

  Session session(m_module, slot, false);
  EXPECT_NO_THROW(session.login_user(user_pin()));
}

TEST_F(ModuleTest, InitTokenRefusesBadOrDuplicateLabels) {
  const CK_SLOT_ID free_slot = m_module.first_free_slot().value();
  const Error too_long = catch_error(
      [&] { m_module.init_token(free_slot, so_pin(), std::string(33, 'x'), user_pin()); });
  EXPECT_EQ(too_long.reason(), Reason::TokenLabelInvalid);
  EXPECT_TRUE(contains(too_long.what(), "use 1 to 32 bytes")) << too_long.what();

  m_module.init_token(free_slot, so_pin(), "twin", user_pin());
  const Error twin = catch_error([&] {
    m_module.init_token(m_module.first_free_slot().value(), so_pin(), "twin", user_pin());
  });
  EXPECT_EQ(twin.reason(), Reason::TokenLabelInvalid);
  EXPECT_TRUE(contains(twin.what(), "already exists")) << twin.what();
}

TEST_F(ModuleTest, UnknownTokenLabelListsTheTokens) {
  m_module.init_token(m_module.first_free_slot().value(), so_pin(), "present", user_pin());
  const Error error = catch_error([&] { m_module.find_token("absent"); });
  EXPECT_EQ(error.reason(), Reason::TokenNotFound);
  EXPECT_TRUE(contains(error.what(), "no token labelled 'absent'")) << error.what();
  EXPECT_TRUE(contains(error.what(), "(tokens: 'present')")) << error.what();
}

TEST_F(ModuleTest, MovedModuleKeepsWorking) {
  Module moved(std::move(m_module));
  EXPECT_EQ(moved.slots().size(), 1u);
  EXPECT_EQ(m_module.functions(), nullptr);  // NOLINT(bugprone-use-after-move)
  const Error error = catch_error([&] { Session session(m_module, 0, false); });
  EXPECT_EQ(error.reason(), Reason::InvalidArgument);
}

TEST_F(TokenTest, WrongPinNamesTheCallAndCode) {
  m_session.logout();  // login state is per token: log out so the next C_Login checks the PIN
  Session session(m_module, m_slot, false);
  const Error error = catch_error([&] { session.login_user(Secret(std::string_view("0000"))); });
  EXPECT_EQ(error.rv(), CKR_PIN_INCORRECT);
  EXPECT_EQ(error.call(), "C_Login");
  EXPECT_TRUE(contains(error.what(), "C_Login: CKR_PIN_INCORRECT")) << error.what();
  EXPECT_TRUE(contains(error.what(), "check the user PIN")) << error.what();
  EXPECT_FALSE(session.logged_in());
}

TEST_F(TokenTest, LoginIsSharedAndLastSessionLogsOut) {
  auto second = std::make_unique<Session>(m_module, m_slot, false);
  second->login_user(user_pin());  // already logged in through m_session: joins the count
  const KeyPair key = m_session.generate_key_pair(KeyType::EcP256, "shared");
  m_session.logout();
  // Still logged in through the second session: the private key stays usable there.
  EXPECT_NO_THROW(second->sign(key, SignMechanism::EcdsaSha256, view("x")));
  second.reset();  // last login leaves: C_Logout
  Session third(m_module, m_slot, false);
  const Error error = catch_error([&] { third.key_pair("shared"); });
  EXPECT_EQ(error.reason(), Reason::KeyIncomplete);
  EXPECT_TRUE(contains(error.what(), "log in with the user PIN first")) << error.what();
}

}  // namespace
}  // namespace hanko::hsm::test
