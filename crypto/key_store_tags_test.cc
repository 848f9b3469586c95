// KeyStore tags: the owner's only, kept in keystore.json under its MAC.
#include <gtest/gtest.h>

#include <fstream>

#include "base/error_names.h"
#include "crypto/key_file.h"
#include "crypto/key_store.h"
#include "crypto/test_util.h"

namespace clonefs::crypto {
namespace {

using testing::FakeClockEnv;
using testing::TempDir;

constexpr char kRegion[] = "us-east-1";
constexpr char kOwner[] = "111111111111";
constexpr char kOther[] = "222222222222";
constexpr char kStranger[] = "333333333333";

class KeyStoreTagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_file_ = dir_.path() + "/root.key";
    store_dir_ = dir_.path() + "/keys";
    ASSERT_OK(CreateKeyFile(key_file_));
    Reopen();
    auto key = store_->CreateKey(kOwner, "db", "test key");
    ASSERT_OK(key.status());
    key_ = key->key_id;
  }
  Result<std::unique_ptr<KeyStore>> Open() {
    KeyStoreOptions options;
    options.env = &env_;
    return KeyStore::Open(store_dir_, kRegion, RootSecret::KeyFile(key_file_), options);
  }
  void Reopen() {
    store_.reset();
    auto store = Open();
    ASSERT_OK(store.status());
    store_ = std::move(store).value();
  }
  std::string FileContents() {
    std::ifstream f(store_->path(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

  TempDir dir_;
  FakeClockEnv env_{1700000000000000};
  std::string key_file_;
  std::string store_dir_;
  std::unique_ptr<KeyStore> store_;
  std::string key_;
};

TEST_F(KeyStoreTagsTest, AddOverwriteRemoveAndReopen) {
  ASSERT_OK(store_->TagKey(kOwner, key_, {{"env", "prod"}, {"team", "dba"}}));
  ASSERT_OK(store_->TagKey(kOwner, "alias/db", {{"env", "test"}}));
  EXPECT_EQ(*store_->ListKeyTags(kOwner, key_), (tags::TagList{{"env", "test"}, {"team", "dba"}}));
  ASSERT_OK(store_->UntagKey(kOwner, key_, {"team", "absent"}));
  Reopen();  // the MAC still verifies with tags in the file
  EXPECT_EQ(*store_->ListKeyTags(kOwner, key_), (tags::TagList{{"env", "test"}}));
  const std::string arn = std::string("arn:clonefs:") + kRegion + ":" + kOwner + ":key:" + key_;
  EXPECT_EQ(*store_->ListKeyTags(kOwner, arn), (tags::TagList{{"env", "test"}}));
}

TEST_F(KeyStoreTagsTest, TagsAreUnderTheMac) {
  ASSERT_OK(store_->TagKey(kOwner, key_, {{"env", "prod"}}));
  std::string text = FileContents();
  store_.reset();
  const size_t at = text.find("\"prod\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 6, "\"test\"");
  {
    std::ofstream f(store_dir_ + "/keystore.json", std::ios::binary | std::ios::trunc);
    f << text;
  }
  EXPECT_TRUE(Open().status().IsCorruption());
}

TEST_F(KeyStoreTagsTest, UntaggedKeysAreWrittenAsBefore) {
  EXPECT_EQ(FileContents().find("\"tags\""), std::string::npos);
}

TEST_F(KeyStoreTagsTest, OthersSeeNothingOrAreRefused) {
  // Not shared: exactly as a key that does not exist.
  const Status missing = store_->TagKey(kStranger, "key-0123456789abcdef", {{"a", "b"}});
  const Status hidden = store_->TagKey(kStranger, key_, {{"a", "b"}});
  EXPECT_EQ(hidden.ErrorName(), errors::kKeyNotFound);
  EXPECT_EQ(missing.ErrorName(), errors::kKeyNotFound);
  EXPECT_ERROR_NAME(store_->ListKeyTags(kStranger, key_), errors::kKeyNotFound);
  EXPECT_ERROR_NAME(store_->UntagKey(kStranger, key_, {"a"}), errors::kKeyNotFound);
  // Shared for use: visible, but its tags are the owner's.
  ASSERT_OK(store_->PutPolicy(kOwner, key_,
                              std::string(R"({"accounts": {")") + kOther + R"(": ["Decrypt"]}})"));
  EXPECT_ERROR_NAME(store_->TagKey(kOther, key_, {{"a", "b"}}), errors::kKeyAccessDenied);
  EXPECT_ERROR_NAME(store_->ListKeyTags(kOther, key_), errors::kKeyAccessDenied);
  EXPECT_ERROR_NAME(store_->UntagKey(kOther, key_, {"a"}), errors::kKeyAccessDenied);
  EXPECT_TRUE(store_->ListKeyTags(kOwner, key_)->empty());
}

TEST_F(KeyStoreTagsTest, RulesAndQuotaChangeNothing) {
  tags::TagList fifty;
  for (int i = 0; i < 50; ++i) {
    std::string key = "k";
    key += std::to_string(i);
    fifty.emplace_back(key, "v");
  }
  ASSERT_OK(store_->TagKey(kOwner, key_, fifty));
  EXPECT_ERROR_NAME(store_->TagKey(kOwner, key_, {{"one-more", "v"}}),
                    errors::kTagQuotaPerResourceExceeded);
  EXPECT_ERROR_NAME(store_->TagKey(kOwner, key_, {{"aws:x", "v"}}), errors::kInvalidParameterValue);
  EXPECT_ERROR_NAME(store_->TagKey(kOwner, key_, {{std::string(129, 'k'), "v"}}),
                    errors::kInvalidParameterValue);
  ASSERT_OK(store_->TagKey(kOwner, key_, {{"k0", "changed"}}));  // overwriting stays at 50
  Reopen();
  tags::TagList expected = fifty;
  expected[0].second = "changed";
  EXPECT_EQ(*store_->ListKeyTags(kOwner, key_), expected);
}

}  // namespace
}  // namespace clonefs::crypto
