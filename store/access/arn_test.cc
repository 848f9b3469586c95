#include "store/access/arn.h"

#include <gtest/gtest.h>

namespace clonefs::access {
namespace {

TEST(Arn, ParsesAndFormatsEveryType) {
  for (std::string type : {"volume", "snapshot", "key", "resource-share"}) {
    const std::string text = "arn:clonefs:us-east-1:012345678901:" + type + ":db1";
    auto arn = ParseArn(text);
    ASSERT_TRUE(arn.ok()) << arn.status().ToString();
    EXPECT_EQ(arn->region, "us-east-1");
    EXPECT_EQ(arn->account, "012345678901");
    EXPECT_EQ(arn->type, type);
    EXPECT_EQ(arn->name, "db1");
    EXPECT_EQ(FormatArn(*arn), text);
  }
}

TEST(Arn, TheNameKeepsItsColons) {
  auto arn = ParseArn("arn:clonefs:r:012345678901:key:a:b");
  ASSERT_TRUE(arn.ok());
  EXPECT_EQ(arn->name, "a:b");
}

TEST(Arn, MalformedOnesSayWhy) {
  struct Case {
    std::string text;
    std::string want_type;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"arn:clonefs:r:012345678901:volume", "", "expected arn:clonefs:REGION:ACCOUNT:TYPE"},
           {"arn:aws:r:012345678901:volume:db1", "", "expected"},
           {"arn:clonefs::012345678901:volume:db1", "", "the region is empty"},
           {"arn:clonefs:r:0123456789012:volume:db1", "", "exactly 12 digits, not 13"},
           {"arn:clonefs:r:01234567890a:volume:db1", "", "0-9 only"},
           {"arn:clonefs:r:012345678901:table:db1", "", "unknown resource type 'table'"},
           {"arn:clonefs:r:012345678901:snapshot:s1", "volume", "names a snapshot, not a volume"},
           {"arn:clonefs:r:012345678901:volume:", "", "the name is empty"},
       }) {
    auto arn = ParseArn(c.text, c.want_type);
    ASSERT_FALSE(arn.ok()) << c.text;
    EXPECT_EQ(arn.status().ErrorName(), "InvalidParameterValue");
    EXPECT_NE(arn.status().message().find(c.says), std::string::npos) << arn.status().message();
    EXPECT_NE(arn.status().message().find("'" + c.text + "'"), std::string::npos);
  }
}

TEST(Arn, LooksLikeArnIsThePrefixOnly) {
  EXPECT_TRUE(LooksLikeArn("arn:anything"));
  EXPECT_FALSE(LooksLikeArn("db1"));
  EXPECT_FALSE(LooksLikeArn("ar"));
}

}  // namespace
}  // namespace clonefs::access
