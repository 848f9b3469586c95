// Store::CloneInto and RestoreSnapshotInto: an existing empty volume becomes a copy-on-write
// clone in place, keeping its id and its open handles.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "store/log/record.h"
#include "store/store.h"
#include "tests/testing/fault_env.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using clonefs::testing::TempDir;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kSize = 64 * kPage;

class CloneIntoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(Store::Create(dir(), "local", Env::Default()));
    Reopen();
  }
  std::string dir() const { return tmp_.path() + "/s"; }
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.segment_bytes = 1 << 20;
    o.background_threads = false;
    auto s = Store::Open(dir(), o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void Create(const std::string& name, uint64_t size) {
    VolumeOptions o;
    o.size_bytes = size;
    auto v = store_->CreateVolume(name, o);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }
  std::shared_ptr<VolumeHandle> Open(const std::string& name) {
    auto h = store_->OpenVolume(name);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : nullptr;
  }
  std::string Read(const std::string& name) {
    auto h = Open(name);
    std::string out(h->size(), 'X');
    EXPECT_OK(h->Read(0, out.size(), out.data()));
    return out;
  }
  void Write(const std::string& name, uint64_t off, const std::string& data) {
    ASSERT_OK(Open(name)->Write(off, data));
  }
  // A source volume "src" of kSize bytes holding `content_` (every page written).
  void MakeSource() {
    Create("src", kSize);
    content_ = Pattern(7, kSize);
    Write("src", 0, content_);
  }
  uint64_t Live() { return store_->GetUsage().live_bytes; }
  // Whether volume `name` reads exactly `expected`; on a mismatch, says where (not the bytes).
  ::testing::AssertionResult Holds(const std::string& name, const std::string& expected) {
    const std::string got = Read(name);
    if (got == expected) return ::testing::AssertionSuccess();
    size_t i = 0;
    while (i < got.size() && i < expected.size() && got[i] == expected[i]) ++i;
    return ::testing::AssertionFailure()
           << name << " has " << got.size() << " bytes, expected " << expected.size()
           << "; first difference at byte " << i << " (page " << i / kPage << ")";
  }

  TempDir tmp_;
  std::unique_ptr<Store> store_;
  std::string content_;
};

TEST_F(CloneIntoTest, EmptyVolumeBecomesAPointInTimeCloneAndKeepsItsHandles) {
  MakeSource();
  Create("dst", 0);  // what `cp` creates through the mount
  auto dst = Open("dst");
  auto src = Open("src");
  const uint64_t id = dst->info().id;
  const uint64_t gen = dst->generation();
  const uint64_t live = Live();
  auto r = store_->CloneInto("src", "dst");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->volume.id, id);
  EXPECT_EQ(r->volume.size_bytes, kSize);
  EXPECT_EQ(r->volume.parent_id, src->info().id);
  EXPECT_EQ(r->volume.lineage_id, src->info().lineage_id);
  EXPECT_NE(r->dest_generation, gen);
  EXPECT_EQ(r->dest_generation, dst->generation());
  EXPECT_EQ(r->source_generation, src->generation());
  EXPECT_EQ(Live(), live);  // nothing copied
  // The handle opened before the clone reads the clone.
  ASSERT_EQ(dst->size(), kSize);
  std::string got(kSize, 'X');
  ASSERT_OK(dst->Read(0, kSize, got.data()));
  EXPECT_EQ(got, content_);
  // Point in time, and copy-on-write both ways.
  ASSERT_OK(src->Write(kPage, Pattern(8, kPage)));
  EXPECT_NE(src->generation(), r->source_generation);
  ASSERT_OK(dst->Write(5 * kPage, Pattern(9, kPage)));
  std::string src_now = content_, dst_now = content_;
  src_now.replace(kPage, kPage, Pattern(8, kPage));
  dst_now.replace(5 * kPage, kPage, Pattern(9, kPage));
  EXPECT_TRUE(Holds("src", src_now));
  EXPECT_TRUE(Holds("dst", dst_now));
  EXPECT_EQ(Live(), live + 2 * (kPage + kRecordHeaderSize));
  src.reset();
  dst.reset();
  Reopen();
  EXPECT_TRUE(Holds("src", src_now));
  EXPECT_TRUE(Holds("dst", dst_now));
  EXPECT_EQ(store_->GetVolume("dst")->parent_id, store_->GetVolume("src")->id);
  // It counts as a clone: the source can no longer be deleted outright, only hidden.
  ASSERT_OK(store_->DeleteVolume("src"));
  EXPECT_TRUE(Holds("dst", dst_now));
}

TEST_F(CloneIntoTest, ReadersOfTheDestinationSeeEitherNothingOrTheWholeClone) {
  MakeSource();
  Create("dst", 0);
  auto dst = Open("dst");
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, full{0};
  std::thread reader([&] {
    std::string buf(kSize, 'X');
    while (!done) {
      const uint64_t n = dst->size();
      if (n == 0) continue;
      if (n != kSize || !dst->Read(0, n, buf.data()).ok() || buf != content_) {
        ++bad;
      } else {
        ++full;
      }
    }
  });
  std::thread gc([&] {
    while (!done) EXPECT_OK(store_->CollectGarbage());
  });
  ASSERT_TRUE(store_->CloneInto("src", "dst").ok());
  while (full == 0 && bad == 0) std::this_thread::yield();
  done = true;
  reader.join();
  gc.join();
  EXPECT_EQ(bad, 0);
}

TEST_F(CloneIntoTest, DiscardedDataDoesNotShowThroughEvenAfterACrash) {
  // The case `cp SRC DST` over an existing DST: its pages are written (and logged after the
  // last checkpoint), then O_TRUNC discards them, then DST becomes the clone. Recovery must not
  // replay DST's old records into the clone.
  MakeSource();
  Create("dst", kSize);
  store_.reset();  // the child opens the store
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FaultInjectionEnv env(Env::Default());
    StoreOptions o;
    o.env = &env;
    o.background_threads = false;
    o.checkpoint_entries = 1 << 20;  // no checkpoint but the one CloneInto runs
    auto store = Store::Open(dir(), o);
    if (!store.ok()) _exit(3);
    auto dst = (*store)->OpenVolume("dst");
    if (!dst.ok() || !(*dst)->Write(0, Pattern(99, kSize)).ok() || !(*dst)->Sync().ok()) _exit(4);
    if (!(*store)->ResizeVolume("dst", 0).ok()) _exit(5);
    if (!(*store)->CloneInto("src", "dst").ok()) _exit(6);
    auto src = (*store)->OpenVolume("src");
    if (!src.ok() || !(*src)->Write(0, Pattern(98, kPage)).ok() || !(*src)->Sync().ok()) _exit(7);
    if (!env.DropUnsyncedData().ok()) _exit(8);
    _exit(0);  // a crash: no final checkpoint
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  Reopen();
  EXPECT_TRUE(Holds("dst", content_));
  std::string src_now = content_;
  src_now.replace(0, kPage, Pattern(98, kPage));
  EXPECT_TRUE(Holds("src", src_now));
}

TEST_F(CloneIntoTest, RefusesAnythingButAnEmptyRootAndLeavesItUntouched) {
  MakeSource();
  auto refused = [&](const std::string& dest, const std::string& why) {
    auto r = store_->CloneInto("src", dest);
    EXPECT_FALSE(r.ok()) << dest;
    EXPECT_EQ(r.status().ErrorName(), "InvalidVolumeState") << r.status().ToString();
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().ToString();
  };
  // Holds data.
  Create("full", kSize);
  Write("full", 3 * kPage, Pattern(3, kPage));
  refused("full", "holds data");
  EXPECT_EQ(Read("full").substr(3 * kPage, kPage), Pattern(3, kPage));
  // Already a clone.
  ASSERT_TRUE(store_->CloneVolume("src", "clone").ok());
  ASSERT_TRUE(store_->ResizeVolume("clone", 0).ok());
  refused("clone", "already a clone");
  // Has a snapshot (which reads its lineage and id).
  Create("snapped", 0);
  ASSERT_TRUE(store_->CreateSnapshot("snapped", "snap", {}).ok());
  refused("snapped", "snapshots or clones");
  // Older than a source that is a clone: the catalog could not resolve its ancestors.
  Create("old", 0);
  ASSERT_TRUE(store_->CloneVolume("src", "young").ok());
  auto r = store_->CloneInto("young", "old");
  EXPECT_EQ(r.status().ErrorName(), "InvalidVolumeState") << r.status().ToString();
  // Itself; unknown names.
  EXPECT_EQ(store_->CloneInto("src", "src").status().ErrorName(), "InvalidParameterValue");
  EXPECT_EQ(store_->CloneInto("src", "nope").status().ErrorName(), "VolumeNotFound");
  EXPECT_EQ(store_->CloneInto("nope", "old").status().ErrorName(), "VolumeNotFound");
  EXPECT_EQ(store_->RestoreSnapshotInto("nope", "old").status().ErrorName(), "SnapshotNotFound");
  // A written-then-discarded root is empty again once the checkpoint forgets its discards.
  ASSERT_TRUE(store_->ResizeVolume("full", 0).ok());
  ASSERT_TRUE(store_->CloneInto("src", "full").ok());
  EXPECT_TRUE(Holds("full", content_));
  // Older than a root source is fine (a root's ancestors are empty).
  ASSERT_TRUE(store_->CloneInto("src", "old").ok());
  Reopen();
  EXPECT_TRUE(Holds("full", content_));
  EXPECT_TRUE(Holds("old", content_));
}

TEST_F(CloneIntoTest, CountsTowardTheCloneQuota) {
  MakeSource();
  for (int i = 0; i < kMaxClonesPerLineage - 1; ++i) {
    const std::string name = std::string("c").append(std::to_string(i));
    ASSERT_TRUE(store_->CloneVolume("src", name).ok()) << i;
  }
  Create("fifteenth", 0);
  Create("sixteenth", 0);
  ASSERT_TRUE(store_->CloneInto("src", "fifteenth").ok());
  auto r = store_->CloneInto("src", "sixteenth");
  EXPECT_EQ(r.status().ErrorName(), "CloneQuotaExceeded");
  EXPECT_EQ(store_->GetVolume("sixteenth")->parent_id, 0u);
  EXPECT_EQ(store_->CloneVolume("fifteenth", "x").status().ErrorName(), "CloneQuotaExceeded");
  // The refused volume is still an ordinary empty root.
  EXPECT_EQ(store_->GetVolume("sixteenth")->size_bytes, 0u);
  EXPECT_EQ(store_->GetVolume("sixteenth")->lineage_id, store_->GetVolume("sixteenth")->id);
}

TEST_F(CloneIntoTest, RestoreSnapshotIntoTakesTheSnapshotsContent) {
  MakeSource();
  ASSERT_TRUE(store_->CreateSnapshot("src", "snap", {}).ok());
  Write("src", 0, Pattern(50, kPage));
  Create("dst", 0);
  auto r = store_->RestoreSnapshotInto("snap", "dst");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->volume.source_snapshot, "snap");
  EXPECT_EQ(r->source_generation, 0u);
  EXPECT_TRUE(Holds("dst", content_));
  Reopen();
  EXPECT_TRUE(Holds("dst", content_));
  ASSERT_OK(store_->DeleteSnapshot("snap"));
  EXPECT_TRUE(Holds("dst", content_));
}

TEST_F(CloneIntoTest, GenerationMovesOnEveryChange) {
  Create("v", kSize);
  auto h = Open("v");
  uint64_t g = h->generation();
  ASSERT_OK(h->Write(0, "x"));
  EXPECT_GT(h->generation(), g);
  g = h->generation();
  ASSERT_OK(h->Discard(0, kPage));
  EXPECT_GT(h->generation(), g);
  g = h->generation();
  ASSERT_OK(h->Grow(2 * kSize));
  EXPECT_GT(h->generation(), g);
  g = h->generation();
  ASSERT_TRUE(store_->ResizeVolume("v", kSize).ok());
  EXPECT_GT(h->generation(), g);
  g = h->generation();
  std::string buf(kPage, '\0');
  ASSERT_OK(h->Read(0, kPage, buf.data()));
  ASSERT_TRUE(store_->CreateSnapshot("v", "s", {}).ok());
  EXPECT_EQ(h->generation(), g);  // reads and snapshots change nothing
}

}  // namespace
}  // namespace clonefs::store
