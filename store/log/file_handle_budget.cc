#include "store/log/file_handle_budget.h"

namespace clonefs::store {

void FileHandleBudget::Add(Holder* holder) {
  std::lock_guard<std::mutex> l(mu_);
  holders_.insert(holder);
}

void FileHandleBudget::Remove(Holder* holder, size_t still_open) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (hand_ == holder) {
      auto next = holders_.upper_bound(holder);
      hand_ = next == holders_.end() ? nullptr : *next;
    }
    holders_.erase(holder);
  }
  open_.fetch_sub(static_cast<int64_t>(still_open), std::memory_order_relaxed);
}

void FileHandleBudget::Opened() {
  if (open_.fetch_add(1, std::memory_order_relaxed) + 1 > static_cast<int64_t>(limit_)) Sweep();
}

size_t FileHandleBudget::open() const {
  int64_t n = open_.load(std::memory_order_relaxed);
  return n < 0 ? 0 : static_cast<size_t>(n);
}

void FileHandleBudget::Sweep() {
  std::lock_guard<std::mutex> l(mu_);
  const auto target = static_cast<int64_t>(limit_ - limit_ / 4);
  // Two turns of the clock: the first clears the marks of what was used, the second closes
  // what was not used since. What is still over after that is all in use: leave it.
  size_t looks = 2 * holders_.size();
  auto it = hand_ == nullptr ? holders_.begin() : holders_.lower_bound(hand_);
  while (looks-- > 0 && !holders_.empty() && open_.load(std::memory_order_relaxed) > target) {
    if (it == holders_.end()) it = holders_.begin();
    size_t closed = (*it)->CloseIfIdle();
    open_.fetch_sub(static_cast<int64_t>(closed), std::memory_order_relaxed);
    ++it;
  }
  hand_ = it == holders_.end() ? nullptr : *it;
}

}  // namespace clonefs::store
