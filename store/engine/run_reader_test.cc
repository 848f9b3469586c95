// RunReader: runs read on its workers reach the caller in the order they were queued, whatever
// order the reads finish in; the first failure (of a read or a delivery) stops it and is
// returned; a reader given no runs delivers nothing.
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

// Reads `run` as Pattern(run.first, run.count), taking longer for some runs than for later
// ones, so that the workers finish out of order.
Status SlowRead(const PageRun& run, std::string* out) {
  std::this_thread::sleep_for(std::chrono::milliseconds(run.first % 3 == 0 ? 20 : 1));
  *out = Pattern(run.first, run.count);
  return Status::OK();
}

TEST(RunReader, DeliversRunsInQueueOrderWhateverOrderTheReadsFinish) {
  std::vector<PageRun> got;
  RunReader reader([&](const PageRun& run, std::string* pages) {
    EXPECT_EQ(*pages, run.zeros ? std::string() : Pattern(run.first, run.count));
    got.push_back(run);
    std::string mine;
    mine.swap(*pages);  // the caller may keep the buffer
    return Status::OK();
  });
  std::vector<PageRun> queued;
  for (uint64_t i = 0; i < 40; ++i) {
    const PageRun run{i * 10, 1 + i % 4, i % 5 == 4};
    queued.push_back(run);
    ASSERT_OK(reader.Add(run, run.zeros ? RunReader::ReadFn() : SlowRead));
  }
  ASSERT_OK(reader.Finish());
  EXPECT_EQ(got, queued);
}

TEST(RunReader, AFailedReadStopsDeliveryAndIsReturned) {
  std::vector<uint64_t> delivered;
  RunReader reader([&](const PageRun& run, std::string*) {
    delivered.push_back(run.first);
    return Status::OK();
  });
  Status s;
  uint64_t added = 0;
  for (; added < 100 && s.ok(); ++added) {
    s = reader.Add(PageRun{added, 1, false}, [](const PageRun& run, std::string* out) {
      if (run.first == 5) return Status::IOError("read failed");
      return SlowRead(run, out);
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
    RunReader reader([&](const PageRun& run, std::string*) {
      delivered.push_back(run.first);
      return run.first == 2 ? Status::InvalidState("stop") : Status::OK();
    });
    Status s;
    for (uint64_t i = 0; i < 100 && s.ok(); ++i) {
      s = reader.Add(PageRun{i, 1, false}, [&](const PageRun& run, std::string* out) {
        reads++;
        return SlowRead(run, out);
      });
    }
    EXPECT_EQ(s.ToString(), Status::InvalidState("stop").ToString());
  }  // destroyed with reads queued or in flight
  EXPECT_EQ(delivered, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_LT(reads.load(), 100);
}

TEST(RunReader, NoRunsDeliverNothing) {
  int deliveries = 0;
  RunReader reader([&](const PageRun&, std::string*) {
    deliveries++;
    return Status::OK();
  });
  ASSERT_OK(reader.Finish());
  EXPECT_EQ(deliveries, 0);
}

TEST(RunReader, ADestroyedReaderWaitsForTheReadsInFlight) {
  std::atomic<int> started{0}, finished{0};
  {
    RunReader reader([](const PageRun&, std::string*) { return Status::OK(); });
    for (uint64_t i = 0; i < 3; ++i) {
      ASSERT_OK(reader.Add(PageRun{i, 1, false}, [&](const PageRun& run, std::string* out) {
        started++;
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        *out = Pattern(run.first, 1);
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
