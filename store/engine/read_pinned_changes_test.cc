// ReadPinnedChanges on an encrypted volume: the pages of a snapshot, and of what changed since
// an older one, read back whether their records are on disk, in the active segment's last
// partial block or still in the log's write buffer, in page order, and a failed delivery stops
// the read.
#include <algorithm>
#include <map>
#include <random>

#include "store/engine/encryption_test_util.h"

namespace clonefs::store::testing {
namespace {

class ReadPinnedChangesTest : public EncryptedStoreTest {
 protected:
  // Every run ReadPinnedChanges hands over, with its pages.
  std::vector<std::pair<PageRun, std::string>> ReadChanges(const std::string& target,
                                                           const std::string& base) {
    std::vector<std::pair<PageRun, std::string>> runs;
    auto t = store_->PinSnapshot(target);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    std::unique_ptr<SnapshotPin> b;
    if (!base.empty()) {
      auto p = store_->PinSnapshot(base);
      EXPECT_TRUE(p.ok()) << p.status().ToString();
      if (p.ok()) b = std::move(p).value();
    }
    if (!t.ok()) return runs;
    batches_ = 0;
    EXPECT_OK(store_->ReadPinnedChanges(**t, b.get(), [&](PageBatch* batch) {
      batches_++;
      uint64_t data_pages = 0;
      for (const PageRun& run : batch->runs) {
        const size_t bytes = run.zeros ? 0 : run.count * kPage;
        EXPECT_LE(data_pages * kPage + bytes, batch->pages.size()) << "a batch short of pages";
        if (data_pages * kPage + bytes > batch->pages.size()) break;
        runs.emplace_back(run, batch->pages.substr(data_pages * kPage, bytes));
        data_pages += bytes / kPage;
      }
      EXPECT_EQ(batch->pages.size(), data_pages * kPage) << "a batch with pages left over";
      EXPECT_LE(data_pages, 256u);
      EXPECT_LE(batch->runs.size(), 1024u);
      return Status::OK();
    }));
    return runs;
  }
  void Write(uint64_t page, uint64_t count, uint64_t seed) {
    auto h = store_->OpenVolume("v");
    ASSERT_TRUE(h.ok());
    const std::string data = Pattern(seed, count * kPage);
    ASSERT_OK((*h)->Write(page * kPage, data));
    for (uint64_t i = 0; i < count; ++i) image_[page + i] = data.substr(i * kPage, kPage);
  }
  // The pages of `runs` by page number (a zero run as empty pages).
  static std::map<uint64_t, std::string> Pages(
      const std::vector<std::pair<PageRun, std::string>>& runs) {
    std::map<uint64_t, std::string> pages;
    uint64_t next = 0;
    for (const auto& [run, data] : runs) {
      EXPECT_GE(run.first, next) << "runs out of order";
      next = run.first + run.count;
      EXPECT_EQ(data.size(), run.zeros ? 0 : run.count * kPage);
      for (uint64_t i = 0; i < run.count; ++i) {
        pages[run.first + i] = run.zeros ? std::string() : data.substr(i * kPage, kPage);
      }
    }
    return pages;
  }
  std::map<uint64_t, std::string> image_;  // what was written, by page
  int batches_ = 0;                        // handed over by the last ReadChanges
};

TEST_F(ReadPinnedChangesTest, PagesOnDiskAndInTheWriteBufferReadBackInOrder) {
  CreateEncrypted("v", "", Compression::kNone, 64 << 20);
  // Over a MiB (written out by the log's writer) in runs long enough to be read past the page
  // cache, then pages that stay in the write buffer: a long run, a short one, one past a hole.
  for (uint64_t i = 0; i < 12; ++i) Write(i * 50, 40, 100 + i);
  Write(3000, 64, 9);
  Write(2000, 3, 7);
  Write(5000, 1, 8);
  ASSERT_TRUE(store_->CreateSnapshot("v", "s0", {}).ok());
  EXPECT_EQ(Pages(ReadChanges("s0", "")), image_);

  // An incremental of one volume reads the records where its pass found them.
  image_.clear();
  Write(10, 2, 20);
  Write(2001, 300, 21);  // more than one run of 256 pages
  auto h = store_->OpenVolume("v");
  ASSERT_TRUE(h.ok());
  ASSERT_OK((*h)->Discard(5000 * kPage, kPage));
  image_[5000] = "";
  ASSERT_TRUE(store_->CreateSnapshot("v", "s1", {}).ok());
  EXPECT_EQ(Pages(ReadChanges("s1", "s0")), image_);
}

TEST_F(ReadPinnedChangesTest, ScatteredPagesTravelTogetherInBatches) {
  CreateEncrypted("v", "", Compression::kNone, 64 << 20);
  Write(0, 4096, 1);
  ASSERT_TRUE(store_->CreateSnapshot("v", "s0", {}).ok());
  // 1,500 pages two apart rewritten in a random order, some discarded: an incremental of
  // single-page runs whose records lie all over the log.
  image_.clear();
  std::vector<uint64_t> pages;
  for (uint64_t i = 0; i < 1500; ++i) pages.push_back(2 * i + 1);
  std::shuffle(pages.begin(), pages.end(), std::mt19937(7));
  auto h = store_->OpenVolume("v");
  ASSERT_TRUE(h.ok());
  for (uint64_t page : pages) {
    if (page % 7 == 0) {
      ASSERT_OK((*h)->Discard(page * kPage, kPage));
      image_[page] = "";
    } else {
      Write(page, 1, 1000 + page);
    }
  }
  ASSERT_TRUE(store_->CreateSnapshot("v", "s1", {}).ok());
  EXPECT_EQ(Pages(ReadChanges("s1", "s0")), image_);
  // Batches of about 256 data pages, not one per page (the runs per batch are checked above).
  EXPECT_LE(batches_, 8);
  // A snapshot of a clone against its source's: the pages are looked up, batched the same way.
  ASSERT_TRUE(store_->CloneVolume("v", "c", {}).ok());
  auto c = store_->OpenVolume("c");
  ASSERT_TRUE(c.ok());
  std::map<uint64_t, std::string> changed;
  for (uint64_t i = 0; i < 600; ++i) {
    const uint64_t page = 3 * i;
    const std::string data = Pattern(5000 + i, kPage);
    ASSERT_OK((*c)->Write(page * kPage, data));
    changed[page] = data;
  }
  ASSERT_TRUE(store_->CreateSnapshot("c", "c1", {}).ok());
  EXPECT_EQ(Pages(ReadChanges("c1", "s1")), changed);
  EXPECT_LE(batches_, 4);
}

TEST_F(ReadPinnedChangesTest, AFailedDeliveryStopsTheReadAndIsReturned) {
  CreateEncrypted("v", "", Compression::kNone, 64 << 20);
  for (uint64_t i = 0; i < 8; ++i) Write(i * 1000, 300, i);
  ASSERT_TRUE(store_->CreateSnapshot("v", "s0", {}).ok());
  auto pin = store_->PinSnapshot("s0");
  ASSERT_TRUE(pin.ok());
  int delivered = 0;
  Status s = store_->ReadPinnedChanges(**pin, nullptr, [&](PageBatch*) {
    return ++delivered == 3 ? Status::IOError("sink closed") : Status::OK();
  });
  EXPECT_EQ(s.ToString(), Status::IOError("sink closed").ToString());
  EXPECT_EQ(delivered, 3);
}

}  // namespace
}  // namespace clonefs::store::testing
