// SnapshotIndex: finds a snapshot by its catalog id, which is what its inode number carries,
// while the store looks snapshots up by name.
//
// It remembers the id -> name pairs seen in listings and lookups. Names never change (there is
// no rename) and ids are never reused while the store is open, so a remembered pair can only
// go stale by the snapshot being deleted, which the store lookup by name then reveals.
// Thread-safe; the mutex is a leaf and is not held across store calls.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "store/store.h"

namespace clonefs::fs {

class SnapshotIndex {
 public:
  // `store` must outlive this object.
  explicit SnapshotIndex(store::Store* store) : store_(store) {}

  // The snapshot with catalog id `id`; NotFound once it is deleted (or for an id never seen).
  Result<store::SnapshotInfo> Find(uint64_t id);
  // Notes snapshots just read from the store (a lookup).
  void Remember(const store::SnapshotInfo& snapshot);
  // Notes a whole listing: every snapshot that exists now and has an id up to the largest one
  // listed is in `all`.
  void RememberAll(const std::vector<store::SnapshotInfo>& all);
  void Forget(uint64_t id);

  size_t size() const;

 private:
  store::Store* const store_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::string> names_;  // by snapshot id
  // Every snapshot with an id up to this one was in a listing: an id at or below it that is
  // not in names_ was deleted, and needs no new listing to say so.
  uint64_t listed_through_ = 0;
};

}  // namespace clonefs::fs
