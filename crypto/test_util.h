// Helpers of the crypto tests beyond tests/testing: known-answer bytes from hex.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <string_view>

#include "crypto/hex.h"
#include "crypto/secret.h"
#include "tests/testing/fake_clock_env.h"
#include "tests/testing/testing.h"

namespace clonefs::crypto::testing {

using ::clonefs::testing::FakeClockEnv;
using ::clonefs::testing::TempDir;

// Bytes from lower-case hex, for known-answer tests.
inline std::string Unhex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

inline SecretBytes SecretFromHex(std::string_view hex) { return SecretBytes::CopyOf(Unhex(hex)); }

}  // namespace clonefs::crypto::testing
