#include "store/store.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using clonefs::testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(Store::Create(dir_.path() + "/s", "local", Env::Default()));
    Reopen();
  }
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.segment_bytes = 4 * kMiB;
    o.checkpoint_entries = 512;
    o.restore_points = restore_points_;
    o.max_open_segment_files = max_open_segment_files_;
    auto s = Store::Open(dir_.path() + "/s", o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::shared_ptr<VolumeHandle> Volume(const std::string& name, uint64_t size,
                                       Compression c = Compression::kNone) {
    VolumeOptions o;
    o.size_bytes = size;
    o.compression = c;
    auto v = store_->CreateVolume(name, o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return Open(name);
  }
  std::shared_ptr<VolumeHandle> Open(const std::string& name) {
    auto h = store_->OpenVolume(name);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : nullptr;
  }
  std::string Read(VolumeHandle& v, uint64_t off, size_t n) {
    std::string out(n, 'X');
    Status s = v.Read(off, n, out.data());
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  TempDir dir_;
  bool restore_points_ = true;
  size_t max_open_segment_files_ = 256;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, ManySegmentsKeepFewFilesOpenAndEveryPageReadsBack) {
  max_open_segment_files_ = 6;
  Reopen();
  const std::string segments = dir_.path() + "/s/segments";
  auto v = Volume("vol1", 64 * kMiB);
  for (uint64_t mib = 0; mib < 64; ++mib) {
    ASSERT_OK(v->Write(mib * kMiB, Pattern(mib, kMiB)));
    // Reads of earlier segments along the way, through both kinds of handle.
    EXPECT_EQ(Read(*v, (mib / 2) * kMiB, 4096), Pattern(mib / 2, kMiB).substr(0, 4096));
    EXPECT_LE(clonefs::testing::DescriptorsUnder(segments), 6u) << "after MiB " << mib;
  }
  ASSERT_OK(v->Sync());
  EXPECT_GE(store_->GetUsage().segment_count, 16u) << "the test needs more segments than handles";
  v.reset();
  Reopen();
  v = Open("vol1");
  for (uint64_t mib = 0; mib < 64; ++mib) {
    EXPECT_EQ(Read(*v, mib * kMiB, kMiB), Pattern(mib, kMiB)) << "MiB " << mib;
  }
  EXPECT_LE(clonefs::testing::DescriptorsUnder(segments), 6u);
}

TEST_F(StoreTest, UnwrittenReadsZeroAndCostsNothing) {
  auto v = Volume("vol1", 1ull << 40);  // 1 TiB, sparse
  EXPECT_EQ(Read(*v, (1ull << 40) - 8192, 8192), std::string(8192, '\0'));
  EXPECT_EQ(store_->GetUsage().live_bytes, 0u);
  EXPECT_EQ(store_->GetVolumeUsage("vol1")->mapped_pages, 0u);
}

TEST_F(StoreTest, WriteReadAlignedAndUnaligned) {
  auto v = Volume("vol1", 16 * kMiB);
  std::string a = Pattern(1, 3 * kMiB + 5);
  ASSERT_OK(v->Write(12345, a));
  EXPECT_EQ(Read(*v, 12345, a.size()), a);
  std::string b = Pattern(2, 100);
  ASSERT_OK(v->Write(4090, b));  // straddles a page boundary
  std::string expect = a.substr(0, 4090 - 12345 + 12345);
  std::string got = Read(*v, 0, 16384);
  EXPECT_EQ(got.substr(0, 4090), std::string(4090, '\0'));
  EXPECT_EQ(got.substr(4090, 100), b);
  EXPECT_EQ(got.substr(12345, 16384 - 12345), a.substr(0, 16384 - 12345));
}

TEST_F(StoreTest, ZeroPagesStoreNothing) {
  auto v = Volume("vol1", 4 * kMiB);
  ASSERT_OK(v->Write(0, std::string(kMiB, '\0')));
  EXPECT_EQ(store_->GetUsage().live_bytes, 0u);
  ASSERT_OK(v->Write(0, Pattern(3, 4096)));
  EXPECT_GT(store_->GetUsage().live_bytes, 0u);
  ASSERT_OK(v->Write(0, std::string(4096, '\0')));  // overwrite with zeros frees it
  EXPECT_EQ(store_->GetUsage().live_bytes, 0u);
  EXPECT_EQ(Read(*v, 0, 4096), std::string(4096, '\0'));
}

TEST_F(StoreTest, DiscardFreesWholePagesAndZeroesEdges) {
  auto v = Volume("vol1", 4 * kMiB);
  std::string data = Pattern(4, 64 * 1024);
  ASSERT_OK(v->Write(0, data));
  ASSERT_OK(v->Discard(1000, 40000));
  std::string got = Read(*v, 0, data.size());
  EXPECT_EQ(got.substr(0, 1000), data.substr(0, 1000));
  EXPECT_EQ(got.substr(1000, 40000), std::string(40000, '\0'));
  EXPECT_EQ(got.substr(41000), data.substr(41000));
  // Pages 1..9 ([4096, 40960)) lie wholly inside the range: they no longer count.
  EXPECT_EQ(store_->GetVolumeUsage("vol1")->mapped_pages, 16u - 9u);
}

TEST_F(StoreTest, OverwriteMakesOldRecordGarbageAndGcReclaimsIt) {
  // Without restore points: a sync the background thread makes between the rounds would keep
  // the older rounds for the restore window (restore_points_test.cc).
  restore_points_ = false;
  Reopen();
  auto v = Volume("vol1", 64 * kMiB);
  for (int round = 0; round < 3; ++round) {
    ASSERT_OK(v->Write(0, Pattern(10 + round, 16 * kMiB)));
  }
  ASSERT_OK(store_->Sync());
  StoreUsage before = store_->GetUsage();
  EXPECT_GE(before.garbage_bytes, 30 * kMiB);
  ASSERT_OK(store_->CollectGarbage());
  StoreUsage after = store_->GetUsage();
  EXPECT_LT(after.segment_bytes, before.segment_bytes);
  EXPECT_LE(after.segment_bytes, 16 * kMiB * 11 / 10 + 4 * kMiB);  // live data + active segment
  EXPECT_EQ(Read(*v, 0, 16 * kMiB), Pattern(12, 16 * kMiB));
  Reopen();
  v = Open("vol1");
  EXPECT_EQ(Read(*v, 0, 16 * kMiB), Pattern(12, 16 * kMiB));
}

TEST_F(StoreTest, CompactionKeepsEveryLivePage) {
  auto v = Volume("vol1", 64 * kMiB);
  ASSERT_OK(v->Write(0, Pattern(20, 16 * kMiB)));
  // Overwrite every other page so that each old segment is half dead.
  std::string model = Pattern(20, 16 * kMiB);
  for (uint64_t p = 0; p < 4096; p += 2) {
    std::string page = Pattern(1000 + p, 4096);
    ASSERT_OK(v->Write(p * 4096, page));
    model.replace(p * 4096, 4096, page);
  }
  ASSERT_OK(store_->CollectGarbage());
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_EQ(Read(*v, 0, model.size()), model);
  Reopen();
  v = Open("vol1");
  EXPECT_EQ(Read(*v, 0, model.size()), model);
}

TEST_F(StoreTest, CompressedVolumeRoundTripsAndSavesSpace) {
  auto v = Volume("vol1", 8 * kMiB, Compression::kZstd);
  std::string text;
  while (text.size() < 2 * kMiB) text += "clonefs compresses database pages well. ";
  text.resize(2 * kMiB);
  ASSERT_OK(v->Write(0, text));
  EXPECT_EQ(Read(*v, 0, text.size()), text);
  EXPECT_LT(store_->GetVolumeUsage("vol1")->stored_bytes, kMiB / 4);
  Reopen();
  v = Open("vol1");
  EXPECT_EQ(Read(*v, 0, text.size()), text);
}

TEST_F(StoreTest, CatalogValidatesAndPersists) {
  VolumeOptions o;
  o.size_bytes = kMiB;
  for (const char* bad : {"", "1abc", "a--b", "abc-", "a_b", "with space"}) {
    EXPECT_EQ(store_->CreateVolume(bad, o).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(store_->CreateVolume(std::string(64, 'a'), o).ok());
  EXPECT_TRUE(store_->CreateVolume(std::string(63, 'a'), o).ok());
  o.size_bytes = 1000;
  EXPECT_EQ(store_->CreateVolume("odd", o).status().code(), Status::Code::kInvalidArgument);
  o.size_bytes = kMiB;
  o.page_size = 3000;
  EXPECT_EQ(store_->CreateVolume("odd", o).status().code(), Status::Code::kInvalidArgument);
  o.page_size = 65536;
  ASSERT_TRUE(store_->CreateVolume("big-pages", o).ok());
  auto dup = store_->CreateVolume("big-pages", o);
  EXPECT_EQ(dup.status().ErrorName(), "VolumeAlreadyExists");
  EXPECT_EQ(store_->ListVolumes().size(), 2u);
  Reopen();
  auto got = store_->GetVolume("big-pages");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->page_size, 65536u);
  EXPECT_EQ(store_->GetVolume("nope").status().ErrorName(), "VolumeNotFound");
}

TEST_F(StoreTest, ShrinkThenGrowShowsZeros) {
  auto v = Volume("vol1", 4 * kMiB);
  ASSERT_OK(v->Write(0, Pattern(30, 4 * kMiB)));
  ASSERT_TRUE(store_->ResizeVolume("vol1", kMiB + 512).ok());
  EXPECT_EQ(v->size(), kMiB + 512);
  std::string b;
  EXPECT_FALSE(v->Read(kMiB, 4096, b.data()).ok());  // past the end now
  ASSERT_TRUE(store_->ResizeVolume("vol1", 4 * kMiB).ok());
  std::string got = Read(*v, 0, 4 * kMiB);
  EXPECT_EQ(got.substr(0, kMiB + 512), Pattern(30, 4 * kMiB).substr(0, kMiB + 512));
  EXPECT_EQ(got.substr(kMiB + 512), std::string(3 * kMiB - 512, '\0'));
}

TEST_F(StoreTest, DeleteRefusedWhileOpenThenFreesSpace) {
  auto v = Volume("vol1", 16 * kMiB);
  ASSERT_OK(v->Write(0, Pattern(40, 12 * kMiB)));
  Status busy = store_->DeleteVolume("vol1");
  EXPECT_EQ(busy.ErrorName(), "InvalidVolumeState") << busy.ToString();
  EXPECT_EQ(Read(*v, 0, 4096), Pattern(40, 4096));  // refused: nothing changed
  v.reset();
  ASSERT_OK(store_->DeleteVolume("vol1"));
  EXPECT_EQ(store_->GetUsage().live_bytes, 0u);
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_LT(store_->GetUsage().segment_bytes, 5 * kMiB);  // only the active segment is left
  Reopen();
  EXPECT_TRUE(store_->ListVolumes().empty());
  EXPECT_EQ(store_->GetUsage().live_bytes, 0u);
  // The name can be used again and starts empty.
  auto w = Volume("vol1", 16 * kMiB);
  EXPECT_EQ(Read(*w, 0, 4096), std::string(4096, '\0'));
}

TEST_F(StoreTest, GrowForWritesIsDurableAfterSync) {
  auto v = Volume("vol1", 0);
  ASSERT_OK(v->Grow(10000));
  EXPECT_EQ(v->size(), 10240u);  // rounded up to a sector
  ASSERT_OK(v->Write(9000, "tail"));
  ASSERT_OK(v->Grow(512));  // never shrinks
  EXPECT_EQ(v->size(), 10240u);
  ASSERT_OK(v->Sync());
  v.reset();
  Reopen();
  EXPECT_EQ(store_->GetVolume("vol1")->size_bytes, 10240u);
  EXPECT_EQ(Read(*Open("vol1"), 9000, 4), "tail");
}

TEST_F(StoreTest, SecondOpenIsRefusedWithPid) {
  StoreOptions o;
  auto second = Store::Open(dir_.path() + "/s", o);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("store is in use by pid"), std::string::npos);
}

TEST_F(StoreTest, NotAStoreIsRefused) {
  StoreOptions o;
  auto s = Store::Open(dir_.path(), o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().ErrorName(), "StoreNotFound");
  EXPECT_EQ(Store::Create(dir_.path() + "/s", "local", Env::Default()).ErrorName(),
            "StoreAlreadyExists");
  EXPECT_FALSE(Store::Create(dir_.path() + "/t", "Bad_Region", Env::Default()).ok());
}

TEST_F(StoreTest, ConcurrentWritersOnDistinctAndSharedPages) {
  auto v = Volume("vol1", 32 * kMiB);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        // Each thread owns a 1 MiB region; all threads also hit page 0's bytes [t*8, t*8+8).
        EXPECT_OK(v->Write(kMiB * (t + 1) + (i % 64) * 4096, Pattern(t * 1000 + i, 4096)));
        EXPECT_OK(v->Write(t * 8, std::string(8, static_cast<char>('a' + t))));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::string head = Read(*v, 0, 32);
  for (int t = 0; t < 4; ++t) EXPECT_EQ(head.substr(t * 8, 8), std::string(8, 'a' + t));
  for (int t = 0; t < 4; ++t) {
    for (int slot = 0; slot < 64; ++slot) {
      int last = slot < 8 ? 192 + slot : 128 + slot;  // the last i < 200 with i % 64 == slot
      EXPECT_EQ(Read(*v, kMiB * (t + 1) + slot * 4096, 4096), Pattern(t * 1000 + last, 4096));
    }
  }
}

}  // namespace
}  // namespace clonefs::store
