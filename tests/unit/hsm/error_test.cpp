#include "hanko/hsm/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace hanko::hsm {
namespace {

TEST(RvName, NamesStandardCodes) {
  EXPECT_EQ(rv_name(CKR_OK), "CKR_OK");
  EXPECT_EQ(rv_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
  EXPECT_EQ(rv_name(CKR_TOKEN_NOT_PRESENT), "CKR_TOKEN_NOT_PRESENT");
  EXPECT_EQ(rv_name(CKR_FUNCTION_REJECTED), "CKR_FUNCTION_REJECTED");
  EXPECT_EQ(rv_name(CKR_VENDOR_DEFINED + 7), "CKR_VENDOR_DEFINED");
  EXPECT_EQ(rv_name(0x7777), "unknown CK_RV");
}

TEST(RvName, EveryCodeBelowVendorRangeHasItsOwnName) {
  // Walks the whole standard range: every named code must map back to a distinct name.
  std::set<std::string> names;
  int named = 0;
  for (CK_RV rv = 0; rv < 0x300; ++rv) {
    const std::string_view name = rv_name(rv);
    if (name == "unknown CK_RV") continue;
    ++named;
    EXPECT_TRUE(names.insert(std::string(name)).second) << name;
  }
  EXPECT_GE(named, 90);
}

TEST(Error, Pkcs11MessageNamesCallCodeAndHint) {
  const Error error("C_Login", CKR_PIN_INCORRECT);
  EXPECT_EQ(error.reason(), Reason::Pkcs11);
  EXPECT_EQ(error.rv(), CKR_PIN_INCORRECT);
  EXPECT_EQ(error.call(), "C_Login");
  EXPECT_STREQ(error.what(),
               "C_Login: CKR_PIN_INCORRECT; check the user PIN; the token locks after repeated "
               "failures");
}

TEST(Error, UnknownCodeIsShownInHex) {
  const Error error("C_Sign", CKR_VENDOR_DEFINED | 0x42);
  EXPECT_STREQ(error.what(), "C_Sign: CK_RV 0x80000042");
}

TEST(Error, HankoErrorsCarryReasonAndGeneralError) {
  const Error error(Reason::KeyNotFound, "no key labelled 'x'");
  EXPECT_EQ(error.reason(), Reason::KeyNotFound);
  EXPECT_EQ(error.rv(), CKR_GENERAL_ERROR);
  EXPECT_TRUE(error.call().empty());
}

TEST(CheckRv, ThrowsOnlyOnFailure) {
  EXPECT_NO_THROW(check_rv("C_Initialize", CKR_OK));
  EXPECT_THROW(check_rv("C_Initialize", CKR_ARGUMENTS_BAD), Error);
}

TEST(AttributeName, KnownAndUnknown) {
  EXPECT_EQ(attribute_name(CKA_PRIVATE_EXPONENT), "CKA_PRIVATE_EXPONENT");
  EXPECT_EQ(attribute_name(0x12345), "CKA_0x00012345");
}

}  // namespace
}  // namespace hanko::hsm
