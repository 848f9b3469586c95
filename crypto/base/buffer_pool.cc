#include "base/buffer_pool.h"

#include <utility>

namespace clonefs {

std::string BufferPool::Take() {
  std::lock_guard<std::mutex> l(mu_);
  if (kept_.empty()) return {};
  std::string b = std::move(kept_.back());
  kept_.pop_back();
  return b;
}

void BufferPool::Give(std::string buffer) {
  if (buffer.capacity() < kMinBytes || buffer.capacity() > max_bytes_) return;
  std::lock_guard<std::mutex> l(mu_);
  if (kept_.size() < max_buffers_) kept_.push_back(std::move(buffer));
}

size_t BufferPool::kept() const {
  std::lock_guard<std::mutex> l(mu_);
  return kept_.size();
}

BufferPool& BufferPool::Pages() {
  static BufferPool* pool = new BufferPool(32, size_t{2} << 20);  // never destroyed: no exit order
  return *pool;
}

}  // namespace clonefs
