// RunReader: reads batches of runs of pages of a scan (an export) on two threads of its own and
// hands them to the caller in the order they were queued. A scan reads past the page cache, so
// no kernel readahead keeps the disk busy while a batch is being opened, and opening sealed
// pages costs about as much CPU as reading them: with two batches in flight the disk and both
// cores work while the caller passes on what came before. Small runs travel in batches, so
// what a handover between threads costs is paid per batch, not per page. Page buffers come
// from and go back to BufferPool::Pages().
//
// Thread-compatible: one thread queues and takes delivery; the reads run on the workers, so
// a read must be safe to run on any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "store/store.h"

namespace clonefs::store {

class RunReader {
 public:
  // Fills `batch->pages` with the pages of the data runs of `batch->runs` (whatever it held
  // before may be overwritten).
  using ReadFn = std::function<Status(PageBatch* batch)>;
  // Takes a batch in queue order; it may swap `*batch` with one of its own.
  using DeliverFn = std::function<Status(PageBatch* batch)>;

  explicit RunReader(DeliverFn deliver);
  ~RunReader();  // drops what was not delivered, after the reads in flight finish

  // Queues a batch of `runs`, to be filled by `read` on a worker; without `read` (runs of zeros
  // only) it is delivered with no pages. While kDepth batches wait for delivery, first delivers
  // the oldest. Returns the failure of a read or of a delivery, at which the caller stops.
  Status Add(std::vector<PageRun> runs, ReadFn read);
  // Delivers everything queued, in order.
  Status Finish();

 private:
  static constexpr size_t kWorkers = 2;
  static constexpr size_t kDepth = 4;
  struct Item {
    PageBatch batch;
    ReadFn read;
    Status status;
    bool done = false;  // GUARDED_BY mu_
  };

  void Work();
  Status DeliverOldest();

  const DeliverFn deliver_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Item>> queued_;  // in order, until delivered; GUARDED_BY mu_
  std::deque<Item*> unread_;          // of queued_, not yet taken by a worker; GUARDED_BY mu_
  bool stopping_ = false;             // GUARDED_BY mu_
  std::vector<std::thread> workers_;  // last: they start once the rest is built
};

}  // namespace clonefs::store
