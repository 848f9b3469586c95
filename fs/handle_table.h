// HandleTable: FUSE file handles (fuse_file_info::fh) mapped to shared objects.
//
// The kernel hands back the number it got from open/opendir; a table (rather than a pointer
// cast into fh) keeps a bogus or stale number from ever becoming a wild pointer, and lets the
// mount ask whether a volume is still open. Thread-safe: lookups take a shared lock, open and
// release an exclusive one; no lock is held while the caller uses the object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace clonefs::fs {

template <typename T>
class HandleTable {
 public:
  // Stores `obj` and returns its handle number (never 0).
  uint64_t Add(std::shared_ptr<T> obj) {
    std::unique_lock lock(mu_);
    uint64_t fh = ++last_fh_;
    map_.emplace(fh, std::move(obj));
    return fh;
  }

  // The object behind `fh`, or null when there is none.
  std::shared_ptr<T> Get(uint64_t fh) const {
    std::shared_lock lock(mu_);
    auto it = map_.find(fh);
    return it == map_.end() ? nullptr : it->second;
  }

  // Removes `fh` and returns what it held (destroyed by the caller, outside the lock).
  std::shared_ptr<T> Remove(uint64_t fh) {
    std::unique_lock lock(mu_);
    auto it = map_.find(fh);
    if (it == map_.end()) return nullptr;
    std::shared_ptr<T> obj = std::move(it->second);
    map_.erase(it);
    return obj;
  }

  // True when some handle's object satisfies `pred` (called under the shared lock).
  bool Any(const std::function<bool(const T&)>& pred) const {
    std::shared_lock lock(mu_);
    for (const auto& [fh, obj] : map_) {
      if (pred(*obj)) return true;
    }
    return false;
  }

  size_t size() const {
    std::shared_lock lock(mu_);
    return map_.size();
  }

 private:
  mutable std::shared_mutex mu_;  // leaf lock: nothing else is taken while it is held
  uint64_t last_fh_ = 0;
  std::unordered_map<uint64_t, std::shared_ptr<T>> map_;
};

}  // namespace clonefs::fs
