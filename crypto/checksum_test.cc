#include "crypto/checksum.h"

#include <gtest/gtest.h>

#include <string>

namespace clonefs::crypto {

TEST(Crc32c, KnownAnswers) {
  // RFC 3720 appendix B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);
  std::string ones(32, '\xFF');
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(Crc32c(inc), 0x46DD794Eu);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "the quick brown fox jumps over the lazy dog, twice over";
  uint32_t a = Crc32c(0, s.data(), 10);
  a = Crc32c(a, s.data() + 10, s.size() - 10);
  EXPECT_EQ(a, Crc32c(s));
}

TEST(Crc32c, DetectsSingleBitFlip) {
  std::string s(4096, 'x');
  uint32_t good = Crc32c(s);
  s[1234] ^= 0x10;
  EXPECT_NE(good, Crc32c(s));
}

}  // namespace clonefs::crypto
