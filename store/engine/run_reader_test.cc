// RunReader: batches read on its workers reach the caller in the order they were queued,
// whatever order the reads finish in; the first failure (of a read or a delivery) stops it and
// is returned; a reader given no batches delivers nothing.
#include "store/engine/run_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;

// What a batch of `runs` reads as: Pattern(run.first, run.count) for each data run.
std::string PagesOf(const std::vector<PageRun>& runs) {
  std::string pages;
  for (const PageRun& run : runs) {
    if (!run.zeros) pages += Pattern(run.first, run.count);
  }
  return pages;
}

// Reads a batch as PagesOf its runs, taking longer for some batches than for later ones, so
// that the workers finish out of order.
Status SlowRead(PageBatch* batch) {
  const uint64_t first = batch->runs.front().first;
  std::this_thread::sleep_for(std::chrono::milliseconds(first % 3 == 0 ? 20 : 1));
  batch->pages = PagesOf(batch->runs);
  return Status::OK();
}

TEST(RunReader, DeliversBatchesInQueueOrderWhateverOrderTheReadsFinish) {
  std::vector<std::vector<PageRun>> got;
  RunReader reader([&](PageBatch* batch) {
    EXPECT_EQ(batch->pages, PagesOf(batch->runs));
    got.push_back(batch->runs);
    PageBatch mine;
    std::swap(mine, *batch);  // the caller may keep the batch
    return Status::OK();
  });
  std::vector<std::vector<PageRun>> queued;
  for (uint64_t i = 0; i < 40; ++i) {
    // Batches of one to three runs; every fifth of zeros only (no read).
    std::vector<PageRun> runs;
    for (uint64_t j = 0; j <= i % 3; ++j) runs.push_back(PageRun{i * 100 + j * 10, 1 + j, j == 1});
    if (i % 5 == 4) runs = {PageRun{i * 100, 7, true}};
    queued.push_back(runs);
    ASSERT_OK(reader.Add(runs, i % 5 == 4 ? RunReader::ReadFn() : SlowRead));
  }
  ASSERT_OK(reader.Finish());
  EXPECT_EQ(got, queued);
}

TEST(RunReader, AFailedReadStopsDeliveryAndIsReturned) {
  std::vector<uint64_t> delivered;
  RunReader reader([&](PageBatch* batch) {
    delivered.push_back(batch->runs.front().first);
    return Status::OK();
  });
  Status s;
  uint64_t added = 0;
  for (; added < 100 && s.ok(); ++added) {
    s = reader.Add({PageRun{added, 1, false}}, [](PageBatch* batch) {
      if (batch->runs.front().first == 5) return Status::IOError("read failed");
      return SlowRead(batch);
    });
  }
  if (s.ok()) s = reader.Finish();
  EXPECT_EQ(s.ToString(), Status::IOError("read failed").ToString());
  // Everything before the failed run, nothing after it.
  EXPECT_EQ(delivered, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_LT(added, 100u);  // the caller heard of it while queueing
}

TEST(RunReader, AFailedDeliveryIsReturnedAndTheRestIsDropped) {
  std::atomic<int> reads{0};
  std::vector<uint64_t> delivered;
  {
    RunReader reader([&](PageBatch* batch) {
      delivered.push_back(batch->runs.front().first);
      return batch->runs.front().first == 2 ? Status::InvalidState("stop") : Status::OK();
    });
    Status s;
    for (uint64_t i = 0; i < 100 && s.ok(); ++i) {
      s = reader.Add({PageRun{i, 1, false}}, [&](PageBatch* batch) {
        reads++;
        return SlowRead(batch);
      });
    }
    EXPECT_EQ(s.ToString(), Status::InvalidState("stop").ToString());
  }  // destroyed with reads queued or in flight
  EXPECT_EQ(delivered, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_LT(reads.load(), 100);
}

TEST(RunReader, NoBatchesDeliverNothing) {
  int deliveries = 0;
  RunReader reader([&](PageBatch*) {
    deliveries++;
    return Status::OK();
  });
  ASSERT_OK(reader.Finish());
  EXPECT_EQ(deliveries, 0);
}

TEST(RunReader, ADestroyedReaderWaitsForTheReadsInFlight) {
  std::atomic<int> started{0}, finished{0};
  {
    RunReader reader([](PageBatch*) { return Status::OK(); });
    for (uint64_t i = 0; i < 3; ++i) {
      ASSERT_OK(reader.Add({PageRun{i, 1, false}}, [&](PageBatch* batch) {
        started++;
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        batch->pages = PagesOf(batch->runs);
        finished++;
        return Status::OK();
      }));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Reads not yet started were dropped; none that started was cut short.
  EXPECT_EQ(finished.load(), started.load());
}

}  // namespace
}  // namespace clonefs::store
