#include "store/engine/run_reader.h"

#include <utility>

#include "base/buffer_pool.h"

namespace clonefs::store {

RunReader::RunReader(DeliverFn deliver) : deliver_(std::move(deliver)) {
  for (size_t i = 0; i < kWorkers; ++i) workers_.emplace_back([this] { Work(); });
}

RunReader::~RunReader() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    unread_.clear();
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  for (std::unique_ptr<Item>& item : queued_)
    BufferPool::Pages().Give(std::move(item->batch.pages));
}

void RunReader::Work() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stopping_ || !unread_.empty(); });
    if (stopping_) return;
    Item* item = unread_.front();
    unread_.pop_front();
    l.unlock();
    // The item stays in queued_ until it is done, so it outlives this read.
    Status s = item->read(&item->batch);
    l.lock();
    item->status = std::move(s);
    item->done = true;
    cv_.notify_all();
  }
}

Status RunReader::Add(std::vector<PageRun> runs, ReadFn read) {
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (queued_.size() < kDepth) break;
    }
    CLONEFS_RETURN_IF_ERROR(DeliverOldest());
  }
  auto item = std::make_unique<Item>();
  item->batch.runs = std::move(runs);
  item->read = std::move(read);
  if (item->read) item->batch.pages = BufferPool::Pages().Take();
  std::lock_guard<std::mutex> l(mu_);
  if (item->read) {
    unread_.push_back(item.get());
  } else {
    item->done = true;  // runs of zeros only: no pages
  }
  queued_.push_back(std::move(item));
  cv_.notify_all();
  return Status::OK();
}

Status RunReader::DeliverOldest() {
  std::unique_ptr<Item> item;
  {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return queued_.front()->done; });
    item = std::move(queued_.front());
    queued_.pop_front();
  }
  CLONEFS_RETURN_IF_ERROR(item->status);
  Status s = deliver_(&item->batch);
  BufferPool::Pages().Give(std::move(item->batch.pages));
  return s;
}

Status RunReader::Finish() {
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (queued_.empty()) return Status::OK();
    }
    CLONEFS_RETURN_IF_ERROR(DeliverOldest());
  }
}

}  // namespace clonefs::store
