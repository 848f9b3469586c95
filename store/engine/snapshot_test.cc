#include <gtest/gtest.h>

#include "store/log/record.h"
#include "store/store.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using clonefs::testing::TempDir;

constexpr uint64_t kPage = 4096;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(Store::Create(dir_.path() + "/s", "local", Env::Default()));
    Reopen();
  }
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.segment_bytes = 1 << 20;
    o.background_threads = false;
    auto s = Store::Open(dir_.path() + "/s", o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::string ReadVolume(const std::string& name, uint64_t off, size_t n) {
    auto h = store_->OpenVolume(name);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    std::string out(n, 'X');
    EXPECT_OK((*h)->Read(off, n, out.data()));
    return out;
  }
  std::string ReadSnapshot(const std::string& name, uint64_t off, size_t n) {
    auto h = store_->OpenSnapshot(name);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    std::string out(n, 'X');
    EXPECT_OK((*h)->Read(off, n, out.data()));
    return out;
  }
  void Write(const std::string& name, uint64_t off, const std::string& data) {
    auto h = store_->OpenVolume(name);
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Write(off, data));
  }
  uint64_t Live() { return store_->GetUsage().live_bytes; }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// The four diagrams of copy-on-write cloning, page by page.
TEST_F(SnapshotTest, FourPageCopyOnWrite) {
  VolumeOptions o;
  o.size_bytes = 4 * kPage;
  ASSERT_TRUE(store_->CreateVolume("source", o).ok());
  std::string pages[4];
  for (int i = 0; i < 4; ++i) {
    pages[i] = Pattern(100 + i, kPage);
    Write("source", i * kPage, pages[i]);
  }
  const uint64_t before = Live();
  // After cloning: both point at the same four pages; nothing is copied.
  ASSERT_TRUE(store_->CloneVolume("source", "clone").ok());
  EXPECT_EQ(Live(), before);
  EXPECT_EQ(ReadVolume("clone", 0, 4 * kPage), pages[0] + pages[1] + pages[2] + pages[3]);
  // A change on the source: a new page for the source only.
  std::string p1 = Pattern(201, kPage);
  Write("source", 1 * kPage, p1);
  EXPECT_EQ(ReadVolume("source", 0, 4 * kPage), pages[0] + p1 + pages[2] + pages[3]);
  EXPECT_EQ(ReadVolume("clone", 0, 4 * kPage), pages[0] + pages[1] + pages[2] + pages[3]);
  EXPECT_EQ(
      Live(),
      before + (kPage + kRecordHeaderSize));  // one new record: the old page 1 stays for the clone
  // A change on the clone: a new page for the clone only.
  std::string p3 = Pattern(303, kPage);
  Write("clone", 3 * kPage, p3);
  EXPECT_EQ(ReadVolume("clone", 0, 4 * kPage), pages[0] + pages[1] + pages[2] + p3);
  EXPECT_EQ(ReadVolume("source", 0, 4 * kPage), pages[0] + p1 + pages[2] + pages[3]);
  EXPECT_EQ(Live(), before + 2 * (kPage + kRecordHeaderSize));
  Reopen();
  EXPECT_EQ(ReadVolume("clone", 0, 4 * kPage), pages[0] + pages[1] + pages[2] + p3);
  EXPECT_EQ(ReadVolume("source", 0, 4 * kPage), pages[0] + p1 + pages[2] + pages[3]);
}

TEST_F(SnapshotTest, SnapshotIsPointInTimeAndReadOnly) {
  VolumeOptions o;
  o.size_bytes = 1 << 20;
  ASSERT_TRUE(store_->CreateVolume("db", o).ok());
  std::string a = Pattern(1, 64 * 1024), b = Pattern(2, 64 * 1024);
  Write("db", 0, a);
  auto snap = store_->CreateSnapshot("db", "snap1", {{"env", "test"}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->size_bytes, 1u << 20);
  Write("db", 0, b);
  ASSERT_TRUE(store_->ResizeVolume("db", 2 << 20).ok());
  EXPECT_EQ(ReadSnapshot("snap1", 0, a.size()), a);
  EXPECT_EQ(ReadVolume("db", 0, b.size()), b);
  auto h = store_->OpenSnapshot("snap1");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((*h)->size(), 1u << 20);
  EXPECT_EQ((*h)->Write(0, "x").code(), Status::Code::kReadOnly);
  EXPECT_EQ(store_->CreateSnapshot("db", "snap1", {}).status().ErrorName(),
            "SnapshotAlreadyExists");
  EXPECT_EQ(store_->GetSnapshot("nope").status().ErrorName(), "SnapshotNotFound");
  EXPECT_EQ(store_->CreateSnapshot("nope", "s2", {}).status().ErrorName(), "VolumeNotFound");
  Reopen();
  EXPECT_EQ(ReadSnapshot("snap1", 0, a.size()), a);
  ASSERT_EQ(store_->GetSnapshot("snap1")->tags.size(), 1u);
  // Snapshot ids are never reused, even after the newest one is deleted and the store reopens.
  const uint64_t first_id = store_->GetSnapshot("snap1")->id;
  ASSERT_TRUE(store_->CreateSnapshot("db", "snap2", {}).ok());
  ASSERT_OK(store_->DeleteSnapshot("snap2"));
  Reopen();
  auto snap3 = store_->CreateSnapshot("db", "snap3", {});
  ASSERT_TRUE(snap3.ok());
  EXPECT_EQ(snap3->id, first_id + 2);
  // Restore: a writable volume with the snapshot's content, independent of it.
  ASSERT_TRUE(store_->RestoreSnapshot("snap1", "restored").ok());
  EXPECT_EQ(ReadVolume("restored", 0, a.size()), a);
  Write("restored", 0, b);
  EXPECT_EQ(ReadSnapshot("snap1", 0, a.size()), a);
}

TEST_F(SnapshotTest, FifteenDeepChainAndSixteenthRefused) {
  VolumeOptions o;
  o.size_bytes = 64 * kPage;
  ASSERT_TRUE(store_->CreateVolume("c0", o).ok());
  std::string model(64 * kPage, '\0');
  for (int depth = 1; depth <= 15; ++depth) {
    const std::string parent = "c" + std::to_string(depth - 1);
    std::string page = Pattern(depth, kPage);
    Write(parent, depth * kPage, page);
    model.replace(depth * kPage, kPage, page);
    ASSERT_TRUE(store_->CloneVolume(parent, "c" + std::to_string(depth)).ok()) << depth;
  }
  EXPECT_EQ(ReadVolume("c15", 0, model.size()), model);
  auto refused = store_->CloneVolume("c15", "c16");
  EXPECT_EQ(refused.status().ErrorName(), "CloneQuotaExceeded");
  EXPECT_NE(refused.status().message().find("--full-copy"), std::string::npos);
  ASSERT_TRUE(store_->CreateSnapshot("c3", "s3", {}).ok());
  EXPECT_EQ(store_->RestoreSnapshot("s3", "r3").status().ErrorName(), "CloneQuotaExceeded");
  EXPECT_FALSE(store_->GetVolume("c16").ok());
  // Deleting ancestors in the middle of the chain leaves the deepest clone intact.
  for (int depth = 0; depth < 15; ++depth) {
    ASSERT_OK(store_->DeleteVolume("c" + std::to_string(depth)));
  }
  EXPECT_EQ(ReadVolume("c15", 0, model.size()), model);
  Reopen();
  EXPECT_EQ(ReadVolume("c15", 0, model.size()), model);
  EXPECT_EQ(ReadSnapshot("s3", 0, 4 * kPage).substr(kPage), model.substr(kPage, 3 * kPage));
}

TEST_F(SnapshotTest, DeletingEverythingReturnsTheSpace) {
  VolumeOptions o;
  o.size_bytes = 4 << 20;
  ASSERT_TRUE(store_->CreateVolume("v", o).ok());
  Write("v", 0, Pattern(9, 4 << 20));
  ASSERT_TRUE(store_->CreateSnapshot("v", "s", {}).ok());
  ASSERT_TRUE(store_->CloneVolume("v", "c").ok());
  Write("v", 0, Pattern(10, 1 << 20));
  Write("c", 1 << 20, Pattern(11, 1 << 20));
  ASSERT_OK(store_->DeleteVolume("v"));
  EXPECT_EQ(ReadSnapshot("s", 0, 4 << 20), Pattern(9, 4 << 20));
  ASSERT_OK(store_->DeleteSnapshot("s"));
  ASSERT_OK(store_->CollectGarbage());
  std::string expect = Pattern(9, 4 << 20);
  expect.replace(1 << 20, 1 << 20, Pattern(11, 1 << 20));
  EXPECT_EQ(ReadVolume("c", 0, 4 << 20), expect);
  // Only the clone's view and its restore window are live now: 4 MiB of pages, and the 1 MiB
  // of its creation image it wrote over since (plus record headers).
  EXPECT_LE(Live(), (5u << 20) * 102 / 100);
  EXPECT_GE(Live(), 5u << 20);
  ASSERT_OK(store_->DeleteVolume("c"));
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_EQ(Live(), 0u);
  EXPECT_LE(store_->GetUsage().segment_count, 1u);  // only the active segment is left
}

TEST_F(SnapshotTest, UsageSplitsOwnedSharedAndAttributesDeletedSource) {
  VolumeOptions o;
  o.size_bytes = 4 << 20;
  ASSERT_TRUE(store_->CreateVolume("src", o).ok());
  Write("src", 0, Pattern(1, 4 << 20));
  ASSERT_TRUE(store_->CloneVolume("src", "c1").ok());
  ASSERT_TRUE(store_->CloneVolume("src", "c2").ok());
  Write("c1", 0, Pattern(2, 1 << 20));
  const uint64_t rec = kPage + kRecordHeaderSize;  // a stored page record
  auto u = store_->GetVolumeUsage("c1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->owned_pages, 256u);
  EXPECT_EQ(u->shared_pages, 768u);
  EXPECT_EQ(u->shared_bytes, 768 * rec);
  EXPECT_EQ(u->attributed_bytes, 256 * rec);  // the source still pays for what it wrote
  ASSERT_OK(store_->DeleteVolume("src"));
  u = store_->GetVolumeUsage("c1");
  // The deleted source's pages are now split between the two clones that read them.
  EXPECT_EQ(u->attributed_bytes, 256 * rec + 768 * rec / 2);
  auto u2 = store_->GetVolumeUsage("c2");
  EXPECT_EQ(u2->attributed_bytes, 768 * rec / 2 + 256 * rec);  // pages only c2 reads: all its
}

}  // namespace
}  // namespace clonefs::store
