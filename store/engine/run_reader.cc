#include "store/engine/run_reader.h"

#include <utility>

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
    Status s = item->read(item->run, &item->pages);
    l.lock();
    item->status = std::move(s);
    item->done = true;
    cv_.notify_all();
  }
}

Status RunReader::Add(const PageRun& run, ReadFn read) {
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (queued_.size() < kDepth) break;
    }
    CLONEFS_RETURN_IF_ERROR(DeliverOldest());
  }
  auto item = std::make_unique<Item>();
  item->run = run;
  item->read = std::move(read);
  if (!spare_.empty()) {
    item->pages = std::move(spare_.back());
    spare_.pop_back();
  }
  std::lock_guard<std::mutex> l(mu_);
  if (item->read) {
    unread_.push_back(item.get());
  } else {
    item->pages.clear();
    item->done = true;
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
  Status s = deliver_(item->run, &item->pages);
  spare_.push_back(std::move(item->pages));
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
