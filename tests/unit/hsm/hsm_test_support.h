#pragma once
// Shared fixtures: a fresh SoftHSMv2 token per test, with a logged-in read-write session.
#include <gtest/gtest.h>

#include <string_view>
#include <utility>

#include "hanko/hsm/error.h"
#include "hanko/hsm/module.h"
#include "hanko/hsm/session.h"
#include "hanko/hsm/testing/softhsm_sandbox.h"

namespace hanko::hsm::test {

inline constexpr std::string_view kTokenLabel = "hanko test token";
inline Secret so_pin() { return Secret(std::string_view("so-pin-5678")); }
inline Secret user_pin() { return Secret(std::string_view("user-pin-1234")); }

// Runs f, expects it to throw hanko::hsm::Error and returns that error for closer checks.
template <typename F>
Error catch_error(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "expected a hanko::hsm::Error";
  return Error(Reason::InvalidArgument, "nothing thrown");
}

// A sandbox and the real SoftHSMv2 module loaded against it (declaration order matters: the
// sandbox must set SOFTHSM2_CONF before the module initialises and go after it finalises).
class ModuleTest : public ::testing::Test {
 protected:
  testing::SoftHsmSandbox m_sandbox;
  Module m_module;
};

// ModuleTest plus an initialised token and a logged-in read-write session on it.
class TokenTest : public ModuleTest {
 protected:
  TokenTest()
      : m_slot(m_module.init_token(m_module.first_free_slot().value(), so_pin(), kTokenLabel,
                                   user_pin())),
        m_session(m_module, m_slot, true) {
    m_session.login_user(user_pin());
  }

  CK_SLOT_ID m_slot;
  Session m_session;
};

}  // namespace hanko::hsm::test
