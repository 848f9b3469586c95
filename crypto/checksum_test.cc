#include "crypto/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

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

// The fast path cuts buffers into lanes of several sizes: every length and alignment around
// and across the lane boundaries must give what the byte-at-a-time reference gives.
TEST(Crc32c, MatchesPortableAtEveryLengthAndAlignment) {
  std::mt19937_64 rng(42);
  std::string buf(3 * 17000, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 1200; ++n) lengths.push_back(n);
  for (size_t n : {4079, 4080, 4081, 4096, 4112, 4176, 8192, 8256, 16384, 16464, 50000}) {
    lengths.push_back(n);
  }
  for (size_t n : lengths) {
    for (size_t align : {0, 1, 3, 7}) {
      const uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(Crc32c(seed, buf.data() + align, n),
                internal::Crc32cPortable(seed, buf.data() + align, n))
          << "length " << n << " alignment " << align;
    }
  }
}

}  // namespace clonefs::crypto
