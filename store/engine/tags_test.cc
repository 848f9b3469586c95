// Volume and snapshot tags in the catalog: kept across reopen, changed atomically.
#include <gtest/gtest.h>

#include "base/error_names.h"
#include "store/store.h"
#include "tests/testing/store_fixture.h"

namespace clonefs::store {
namespace {

using clonefs::testing::StoreTest;

VolumeOptions Small(Tags tags = {}) {
  VolumeOptions o;
  o.size_bytes = 1 << 20;
  o.tags = std::move(tags);
  return o;
}

// An edit that adds (or overwrites) one tag.
TagEdit Put(std::string key, std::string value) {
  return [key, value](const Tags& current) -> Result<Tags> {
    Tags out = current;
    for (auto& t : out) {
      if (t.first == key) {
        t.second = value;
        return out;
      }
    }
    out.emplace_back(key, value);
    return out;
  };
}

TEST_F(StoreTest, VolumeTagsAtCreationAndUpdatesSurviveReopen) {
  ASSERT_OK(store_->CreateVolume("db", Small({{"env", "prod"}})).status());
  Result<VolumeInfo> v = store_->UpdateVolumeTags("db", Put("team", "dba"));
  ASSERT_OK(v.status());
  EXPECT_EQ(v->tags, (Tags{{"env", "prod"}, {"team", "dba"}}));
  ASSERT_OK(store_->UpdateVolumeTags("db", Put("env", "test")).status());
  Reopen();
  Result<VolumeInfo> back = store_->GetVolume("db");
  ASSERT_OK(back.status());
  EXPECT_EQ(back->tags, (Tags{{"env", "test"}, {"team", "dba"}}));
}

TEST_F(StoreTest, VolumeTagsKeptByResizeAndSnapshot) {
  ASSERT_OK(store_->CreateVolume("db", Small({{"env", "prod"}})).status());
  ASSERT_OK(store_->ResizeVolume("db", 2 << 20).status());
  ASSERT_OK(store_->CreateSnapshot("db", "s1", {}).status());
  Reopen();
  EXPECT_EQ(store_->GetVolume("db")->tags, (Tags{{"env", "prod"}}));
  EXPECT_TRUE(store_->GetSnapshot("s1")->tags.empty());  // a snapshot takes none by itself
}

TEST_F(StoreTest, CloneAndRestoreTakeTheirOwnTags) {
  ASSERT_OK(store_->CreateVolume("db", Small({{"env", "prod"}})).status());
  ASSERT_OK(store_->CreateSnapshot("db", "s1", {{"snap", "1"}}).status());
  CloneOptions c;
  c.tags = {{"clone", "yes"}};
  Result<VolumeInfo> clone = store_->CloneVolume("db", "c1", c);
  ASSERT_OK(clone.status());
  EXPECT_EQ(clone->tags, (Tags{{"clone", "yes"}}));
  Result<VolumeInfo> plain = store_->RestoreSnapshot("s1", "r1", {});
  ASSERT_OK(plain.status());
  EXPECT_TRUE(plain->tags.empty());
  Reopen();
  EXPECT_EQ(store_->GetVolume("c1")->tags, (Tags{{"clone", "yes"}}));
  EXPECT_TRUE(store_->GetVolume("r1")->tags.empty());
}

TEST_F(StoreTest, SnapshotTagUpdatesSurviveReopen) {
  ASSERT_OK(store_->CreateVolume("db", Small()).status());
  ASSERT_OK(store_->CreateSnapshot("db", "s1", {{"a", "1"}}).status());
  Result<SnapshotInfo> s = store_->UpdateSnapshotTags("s1", Put("b", "2"));
  ASSERT_OK(s.status());
  EXPECT_EQ(s->tags, (Tags{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(store_->GetSnapshot("s1")->tags, s->tags);
  EXPECT_EQ(store_->ListSnapshots().at(0).tags, s->tags);
  Reopen();
  EXPECT_EQ(store_->GetSnapshot("s1")->tags, (Tags{{"a", "1"}, {"b", "2"}}));
  // A pin shows the tags as they were when pinned.
  Result<std::unique_ptr<SnapshotPin>> pin = store_->PinSnapshot("s1");
  ASSERT_OK(pin.status());
  EXPECT_EQ((*pin)->info().tags, (Tags{{"a", "1"}, {"b", "2"}}));
}

TEST_F(StoreTest, FailedTagEditChangesNothing) {
  ASSERT_OK(store_->CreateVolume("db", Small({{"env", "prod"}})).status());
  ASSERT_OK(store_->CreateSnapshot("db", "s1", {{"a", "1"}}).status());
  const TagEdit refuse = [](const Tags&) -> Result<Tags> {
    return errors::InvalidParameterValue("no");
  };
  EXPECT_ERROR_NAME(store_->UpdateVolumeTags("db", refuse), errors::kInvalidParameterValue);
  EXPECT_ERROR_NAME(store_->UpdateSnapshotTags("s1", refuse), errors::kInvalidParameterValue);
  EXPECT_ERROR_NAME(store_->UpdateVolumeTags("nope", Put("a", "b")), errors::kVolumeNotFound);
  EXPECT_ERROR_NAME(store_->UpdateSnapshotTags("nope", Put("a", "b")), errors::kSnapshotNotFound);
  Reopen();
  EXPECT_EQ(store_->GetVolume("db")->tags, (Tags{{"env", "prod"}}));
  EXPECT_EQ(store_->GetSnapshot("s1")->tags, (Tags{{"a", "1"}}));
}

TEST_F(StoreTest, DeletedVolumeHasNoTagsToChange) {
  ASSERT_OK(store_->CreateVolume("db", Small()).status());
  ASSERT_OK(store_->DeleteVolume("db"));
  EXPECT_ERROR_NAME(store_->UpdateVolumeTags("db", Put("a", "b")), errors::kVolumeNotFound);
}

}  // namespace
}  // namespace clonefs::store
