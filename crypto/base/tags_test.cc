#include "base/tags.h"

#include <gtest/gtest.h>

#include "base/error_names.h"
#include "tests/testing/testing.h"

namespace clonefs::tags {
namespace {

TEST(Tags, AcceptsAuroraCharacters) {
  EXPECT_OK(CheckTags(
      {{"env", "prod"}, {"a_b.c:d/e=f+g-h@i", "x y"}, {"Schlüssel", "日本語 ٣"}, {"k", ""}}));
}

TEST(Tags, KeyLengthInCharactersNotBytes) {
  EXPECT_OK(CheckKey(std::string(128, 'k')));
  EXPECT_ERROR_NAME(CheckKey(std::string(129, 'k')), errors::kInvalidParameterValue);
  EXPECT_ERROR_NAME(CheckKey(""), errors::kInvalidParameterValue);
  std::string umlauts;
  for (int i = 0; i < 128; ++i) umlauts += "ü";  // 256 bytes, 128 characters
  EXPECT_OK(CheckKey(umlauts));
  EXPECT_OK(CheckValue("k", std::string(256, 'v')));
  EXPECT_ERROR_NAME(CheckValue("k", std::string(257, 'v')), errors::kInvalidParameterValue);
}

TEST(Tags, RefusesOtherCharactersAndBadUtf8) {
  for (const char* bad : {"a!b", "a\tb", "a\nb", "a;b", "a,b", "a\"b", "a*b", "\xff", "\xc3",
                          "\xc0\xaf", "\xed\xa0\x80"}) {
    SCOPED_TRACE(bad);
    EXPECT_ERROR_NAME(CheckKey(bad), errors::kInvalidParameterValue);
    EXPECT_ERROR_NAME(CheckValue("k", bad), errors::kInvalidParameterValue);
  }
}

TEST(Tags, ReservedPrefixesInAnyCase) {
  for (const char* bad : {"aws:x", "AWS:x", "rds:", "Rds:name", "clonefs:a", "CloneFS:"}) {
    SCOPED_TRACE(bad);
    EXPECT_ERROR_NAME(CheckKey(bad), errors::kInvalidParameterValue);
    EXPECT_ERROR_NAME(CheckValue("k", bad), errors::kInvalidParameterValue);
  }
  EXPECT_OK(CheckKey("awsx:y"));
  EXPECT_OK(CheckKey("my-aws:y"));
}

TEST(Tags, KeyTwiceRefused) {
  EXPECT_ERROR_NAME(CheckTags({{"a", "1"}, {"a", "2"}}), errors::kInvalidParameterValue);
  EXPECT_ERROR_NAME(AddTags({}, {{"a", "1"}, {"a", "2"}}), errors::kInvalidParameterValue);
}

TagList Numbered(int n) {
  TagList t;
  for (int i = 0; i < n; ++i) {
    std::string key = "k";
    key += std::to_string(i);
    t.emplace_back(key, "v");
  }
  return t;
}

TEST(Tags, AtMostFifty) {
  EXPECT_OK(CheckTags(Numbered(50)));
  EXPECT_ERROR_NAME(CheckTags(Numbered(51)), errors::kTagQuotaPerResourceExceeded);
  Result<TagList> full = AddTags(Numbered(49), {{"new", "x"}});
  ASSERT_OK(full.status());
  EXPECT_EQ(full->size(), 50u);
  EXPECT_ERROR_NAME(AddTags(*full, {{"one-more", "x"}}), errors::kTagQuotaPerResourceExceeded);
  // Overwriting keeps the count: allowed at 50.
  Result<TagList> same = AddTags(*full, {{"k0", "changed"}});
  ASSERT_OK(same.status());
  EXPECT_EQ(same->size(), 50u);
  EXPECT_EQ((*same)[0], (std::pair<std::string, std::string>("k0", "changed")));
}

TEST(Tags, AddOverwritesInPlaceAndAppendsNewOnes) {
  Result<TagList> out = AddTags({{"a", "1"}, {"b", "2"}}, {{"c", "3"}, {"a", "9"}});
  ASSERT_OK(out.status());
  EXPECT_EQ(*out, (TagList{{"a", "9"}, {"b", "2"}, {"c", "3"}}));
  // A tag already there is kept as it is, even one older rules let through.
  out = AddTags({{"old!", "x"}}, {{"b", "2"}});
  ASSERT_OK(out.status());
  EXPECT_EQ(out->size(), 2u);
}

TEST(Tags, RemoveIgnoresMissingKeys) {
  Result<TagList> out = RemoveTags({{"a", "1"}, {"b", "2"}, {"c", "3"}}, {"b", "zz"});
  ASSERT_OK(out.status());
  EXPECT_EQ(*out, (TagList{{"a", "1"}, {"c", "3"}}));
  EXPECT_ERROR_NAME(RemoveTags({{"a", "1"}}, {""}), errors::kInvalidParameterValue);
}

}  // namespace
}  // namespace clonefs::tags
