// Store documents: saved durably, replaced whole, read back after a reopen, on the default
// backends and on the memory ones.
#include <gtest/gtest.h>

#include "store/log/memory_segment_store.h"
#include "store/meta/memory_meta_db.h"
#include "store/store.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::TempDir;

class DocumentsTest : public ::testing::TestWithParam<bool /*memory backends*/> {
 protected:
  void SetUp() override {
    options_.background_threads = false;
    if (GetParam()) {
      options_.segment_store = std::make_shared<MemorySegmentStore>();
      options_.meta_db = std::make_shared<MemoryMetaDb>();
    }
    ASSERT_OK(Store::Create(dir_.path() + "/s", "local", options_));
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto s = Store::Open(dir_.path() + "/s", options_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST_P(DocumentsTest, AbsentIsNotFound) {
  EXPECT_TRUE(store_->LoadDocument("accounts").status().IsNotFound());
}

TEST_P(DocumentsTest, SavedBytesSurviveAReopenAndAReplaceIsWhole) {
  const std::string binary("a\0b\xff{}", 6);
  ASSERT_OK(store_->SaveDocument("accounts", "{\"v\":1}"));
  ASSERT_OK(store_->SaveDocument("other.doc", binary));
  ASSERT_OK(store_->SaveDocument("accounts", "{}"));
  Reopen();
  auto a = store_->LoadDocument("accounts");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "{}");
  auto b = store_->LoadDocument("other.doc");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, binary);
}

TEST_P(DocumentsTest, DocumentsAreNotVolumesOrSnapshots) {
  ASSERT_OK(store_->SaveDocument("accounts", "{}"));
  Reopen();
  EXPECT_TRUE(store_->ListVolumes().empty());
  EXPECT_TRUE(store_->ListSnapshots().empty());
}

TEST_P(DocumentsTest, BadNamesAreRefused) {
  for (std::string name :
       {std::string(), std::string("a/b"), std::string(65, 'x'), std::string("sp ace")}) {
    EXPECT_EQ(store_->SaveDocument(name, "x").code(), Status::Code::kInvalidArgument) << name;
    EXPECT_EQ(store_->LoadDocument(name).status().code(), Status::Code::kInvalidArgument) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DocumentsTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Memory" : "Default"; });

}  // namespace
}  // namespace clonefs::store
