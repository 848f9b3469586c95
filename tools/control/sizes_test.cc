#include "tools/control/sizes.h"

#include <gtest/gtest.h>

namespace clonefs::control {
namespace {

uint64_t Parsed(std::string_view s) {
  auto r = ParseSize(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : 0;
}

std::string Rejected(std::string_view s) {
  auto r = ParseSize(s, "--size");
  EXPECT_FALSE(r.ok()) << s << " was accepted as " << (r.ok() ? *r : 0);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

TEST(ControlSizes, PlainBytes) {
  EXPECT_EQ(Parsed("512"), 512u);
  EXPECT_EQ(Parsed("4096"), 4096u);
  EXPECT_EQ(Parsed("1024b"), 1024u);
  EXPECT_EQ(Parsed("  8192 "), 8192u);
}

TEST(ControlSizes, BinarySuffixesAnyCase) {
  EXPECT_EQ(Parsed("1K"), 1024u);
  EXPECT_EQ(Parsed("4k"), 4096u);
  EXPECT_EQ(Parsed("4KiB"), 4096u);
  EXPECT_EQ(Parsed("4kib"), 4096u);
  EXPECT_EQ(Parsed("512M"), 512ull << 20);
  EXPECT_EQ(Parsed("512MiB"), 512ull << 20);
  EXPECT_EQ(Parsed("10G"), 10ull << 30);
  EXPECT_EQ(Parsed("10 GiB"), 10ull << 30);
  EXPECT_EQ(Parsed("2t"), 2ull << 40);
  EXPECT_EQ(Parsed("2TiB"), 2ull << 40);
  EXPECT_EQ(Parsed("1P"), 1ull << 50);
  EXPECT_EQ(Parsed("1pib"), 1ull << 50);
  EXPECT_EQ(Parsed("16383P"), 16383ull << 50);
}

TEST(ControlSizes, RejectsGarbage) {
  for (const char* s : {"", "  ", "abc", "G", "10X", "10GiBs", "1e9", "0x1000", "10 G B", "1.5G",
                        "4,096", "+4096", "\xff"}) {
    Rejected(s);
  }
  EXPECT_NE(Rejected("1.5G").find("whole number"), std::string::npos);
  EXPECT_NE(Rejected("10GB").find("ambiguous"), std::string::npos);
  EXPECT_NE(Rejected("10q").find("unknown unit"), std::string::npos);
}

TEST(ControlSizes, RejectsZeroNegativeOverflowAndPartialSectors) {
  EXPECT_NE(Rejected("0").find("greater than zero"), std::string::npos);
  EXPECT_NE(Rejected("0G").find("greater than zero"), std::string::npos);
  EXPECT_NE(Rejected("-1G").find("negative"), std::string::npos);
  EXPECT_NE(Rejected("16384P").find("too large"), std::string::npos);
  EXPECT_NE(Rejected("18446744073709551616").find("too large"), std::string::npos);
  EXPECT_NE(Rejected("99999999999999999999999999").find("too large"), std::string::npos);
  EXPECT_NE(Rejected("1000").find("multiple of 512"), std::string::npos);
  EXPECT_NE(Rejected("1b").find("multiple of 512"), std::string::npos);
  EXPECT_NE(Rejected("abc").find("--size"), std::string::npos);
}

TEST(ControlSizes, FormatsBinaryUnits) {
  EXPECT_EQ(FormatSize(0), "0 B");
  EXPECT_EQ(FormatSize(512), "512 B");
  EXPECT_EQ(FormatSize(4096), "4 KiB");
  EXPECT_EQ(FormatSize(10ull << 30), "10 GiB");
  EXPECT_EQ(FormatSize(3ull << 29), "1.5 GiB");
  EXPECT_EQ(FormatSize(1ull << 50), "1 PiB");
}

TEST(ControlSizes, GibRoundsUp) {
  EXPECT_EQ(GibRoundedUp(0), 0u);
  EXPECT_EQ(GibRoundedUp(512), 1u);
  EXPECT_EQ(GibRoundedUp(1ull << 30), 1u);
  EXPECT_EQ(GibRoundedUp((1ull << 30) + 512), 2u);
}

}  // namespace
}  // namespace clonefs::control
