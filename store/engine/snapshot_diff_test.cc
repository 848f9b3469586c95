// VisitChangedPages: the data runs of a snapshot, and what changed between two snapshots of a
// lineage (writes, overwrites, discards, clones), answered from the page map.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/testing/store_fixture.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;

constexpr uint64_t kPage = 4096;

class SnapshotDiffTest : public clonefs::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    VolumeOptions vo;
    vo.size_bytes = 1ull << 30;  // 262144 pages: several visit windows
    ASSERT_TRUE(store_->CreateVolume("v", vo).ok());
  }
  void Write(const std::string& vol, uint64_t page, uint64_t count, uint64_t seed) {
    auto h = store_->OpenVolume(vol);
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Write(page * kPage, Pattern(seed, count * kPage)));
  }
  void Discard(uint64_t page, uint64_t count) {
    auto h = store_->OpenVolume("v");
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Discard(page * kPage, count * kPage));
  }
  void Snap(const std::string& vol, const std::string& name) {
    ASSERT_TRUE(store_->CreateSnapshot(vol, name, {}).ok());
  }
  std::vector<PageRun> Diff(const std::string& target, const std::string& base) {
    std::vector<PageRun> runs;
    Status s = store_->VisitChangedPages(target, base, [&](const PageRun& r) {
      runs.push_back(r);
      return Status::OK();
    });
    EXPECT_OK(s);
    return runs;
  }
};

TEST_F(SnapshotDiffTest, AFullSnapshotIsItsDataRunsAndHolesCostNothing) {
  Write("v", 0, 10, 1);
  Write("v", 70000, 3, 2);   // in the second visit window
  Write("v", 65535, 2, 3);   // a run across the window boundary
  Write("v", 262143, 1, 4);  // the last page
  Snap("v", "s1");
  EXPECT_EQ(Diff("s1", ""),
            (std::vector<PageRun>{
                {0, 10, false}, {65535, 2, false}, {70000, 3, false}, {262143, 1, false}}));
  // Pages discarded before the snapshot are not data.
  Discard(2, 3);
  Snap("v", "s2");
  EXPECT_EQ(
      Diff("s2", ""),
      (std::vector<PageRun>{
          {0, 2, false}, {5, 5, false}, {65535, 2, false}, {70000, 3, false}, {262143, 1, false}}));
}

TEST_F(SnapshotDiffTest, AnIncrementalHoldsWritesOverwritesAndDiscardsSinceTheBase) {
  Write("v", 0, 100, 1);
  Snap("v", "base");
  Write("v", 10, 5, 2);   // overwrite
  Write("v", 200, 1, 3);  // new page
  Discard(50, 10);        // held data in base: now zeros
  Discard(150, 10);       // never held data: nothing to say
  Snap("v", "next");
  EXPECT_EQ(Diff("next", "base"),
            (std::vector<PageRun>{{10, 5, false}, {50, 10, true}, {200, 1, false}}));
  // Nothing changed: nothing to send. And the other way round, the changes undo.
  Snap("v", "same");
  EXPECT_TRUE(Diff("same", "next").empty());
  EXPECT_EQ(Diff("base", "next"),
            (std::vector<PageRun>{{10, 5, false}, {50, 10, false}, {200, 1, true}}));
  // It survives a restart (entries checkpointed into the MetaDb, not in memory).
  Reopen();
  EXPECT_EQ(Diff("next", "base"),
            (std::vector<PageRun>{{10, 5, false}, {50, 10, true}, {200, 1, false}}));
}

TEST_F(SnapshotDiffTest, AcrossACloneTheInheritedPagesAreNotChanges) {
  Write("v", 0, 20, 1);
  Snap("v", "parent-snap");
  ASSERT_TRUE(store_->CloneVolume("v", "c", {}).ok());
  Write("c", 5, 2, 9);
  Snap("c", "clone-snap");
  EXPECT_EQ(Diff("clone-snap", "parent-snap"), (std::vector<PageRun>{{5, 2, false}}));
  EXPECT_EQ(Diff("clone-snap", ""), (std::vector<PageRun>{{0, 20, false}}));
}

TEST_F(SnapshotDiffTest, RefusesMissingSnapshotsAndOtherLineages) {
  VolumeOptions vo;
  vo.size_bytes = 1 << 20;
  ASSERT_TRUE(store_->CreateVolume("w", vo).ok());
  Snap("v", "sv");
  Snap("w", "sw");
  auto none = [](const PageRun&) { return Status::OK(); };
  EXPECT_ERROR_NAME(store_->VisitChangedPages("nope", "", none), "SnapshotNotFound");
  EXPECT_ERROR_NAME(store_->VisitChangedPages("sv", "nope", none), "SnapshotNotFound");
  EXPECT_ERROR_NAME(store_->VisitChangedPages("sv", "sw", none), "InvalidParameterCombination");
  // A visitor's error ends the visit and comes back.
  Write("v", 0, 1, 1);
  Snap("v", "sv2");
  Status stop = store_->VisitChangedPages(
      "sv2", "", [](const PageRun&) { return Status::InvalidState("stop"); });
  EXPECT_EQ(stop.message(), "stop");
}

// Whatever the path (two snapshots of one volume, or of a clone and its source), every page
// whose content differs is named, data runs hold data, and zero runs read as zeros.
TEST_F(SnapshotDiffTest, RandomWritesAndDiscardsAreAllFound) {
  constexpr uint64_t kPages = 4096;
  std::mt19937_64 rng(42);
  auto mutate = [&](const std::string& vol, int n) {
    for (int i = 0; i < n; ++i) {
      const uint64_t page = rng() % (kPages - 8);
      const uint64_t count = 1 + rng() % 8;
      if (rng() % 4 == 0) {
        auto h = store_->OpenVolume(vol);
        ASSERT_TRUE(h.ok());
        ASSERT_OK((*h)->Discard(page * kPage, count * kPage));
      } else {
        Write(vol, page, count, rng());
      }
    }
  };
  auto image = [&](const std::string& snap) {
    auto h = store_->OpenSnapshot(snap);
    EXPECT_TRUE(h.ok());
    std::string buf(kPages * kPage, '\0');
    EXPECT_OK((*h)->Read(0, buf.size(), buf.data()));
    return buf;
  };
  auto check = [&](const std::string& target, const std::string& base) {
    const std::string t = image(target), b = image(base);
    std::vector<bool> named(kPages, false);
    for (const PageRun& r : Diff(target, base)) {
      for (uint64_t p = r.first; p < r.first + r.count && p < kPages; ++p) {
        named[p] = true;
        if (r.zeros) {
          EXPECT_EQ(t.substr(p * kPage, kPage), std::string(kPage, '\0')) << target << " " << p;
        }
      }
    }
    for (uint64_t p = 0; p < kPages; ++p) {
      if (t.compare(p * kPage, kPage, b, p * kPage, kPage) != 0) {
        EXPECT_TRUE(named[p]) << target << " vs " << base << ": page " << p << " differs";
      }
    }
  };
  mutate("v", 200);
  Snap("v", "r0");
  mutate("v", 50);
  Snap("v", "r1");
  mutate("v", 50);
  Snap("v", "r2");
  check("r1", "r0");
  check("r2", "r0");
  check("r2", "r1");
  ASSERT_TRUE(store_->CloneVolume("v", "c").ok());
  mutate("c", 50);
  Snap("c", "rc");
  check("rc", "r2");
}

}  // namespace
}  // namespace clonefs::store
