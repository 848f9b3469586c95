#include "fs/snapshot_index.h"

#include <algorithm>
#include <iterator>
#include <unordered_set>

#include "base/error_names.h"

namespace clonefs::fs {
namespace {

Status NoSnapshot(uint64_t id) {
  return errors::Named(errors::kSnapshotNotFound,
                       Status::NotFound("snapshot id " + std::to_string(id) + " does not exist"));
}

}  // namespace

Result<store::SnapshotInfo> SnapshotIndex::Find(uint64_t id) {
  std::string name;
  bool listed = false;
  {
    std::lock_guard lock(mu_);
    auto it = names_.find(id);
    if (it != names_.end()) {
      name = it->second;
    } else {
      listed = id <= listed_through_;
    }
  }
  if (name.empty()) {
    if (listed) return NoSnapshot(id);
    std::vector<store::SnapshotInfo> all = store_->ListSnapshots();
    RememberAll(all);
    for (store::SnapshotInfo& s : all) {
      if (s.id == id) return std::move(s);
    }
    return NoSnapshot(id);
  }
  Result<store::SnapshotInfo> s = store_->GetSnapshot(name);
  if (s.ok() && s->id == id) return s;
  if (s.ok() || s.status().IsNotFound()) {
    // Deleted (and perhaps a new snapshot took its name): this id is gone for good.
    Forget(id);
    return NoSnapshot(id);
  }
  return s.status();
}

void SnapshotIndex::Remember(const store::SnapshotInfo& snapshot) {
  std::lock_guard lock(mu_);
  names_[snapshot.id] = snapshot.name;
}

void SnapshotIndex::RememberAll(const std::vector<store::SnapshotInfo>& all) {
  std::unordered_set<uint64_t> listed;
  uint64_t max_id = 0;
  for (const store::SnapshotInfo& s : all) {
    listed.insert(s.id);
    max_id = std::max(max_id, s.id);
  }
  std::lock_guard lock(mu_);
  // A remembered id up to max_id that the listing lacks was deleted since it was remembered.
  // (Ids only grow, so a snapshot made after the listing has an id above max_id.)
  for (auto it = names_.begin(); it != names_.end();) {
    it = it->first <= max_id && !listed.count(it->first) ? names_.erase(it) : std::next(it);
  }
  for (const store::SnapshotInfo& s : all) names_[s.id] = s.name;
  listed_through_ = std::max(listed_through_, max_id);
}

void SnapshotIndex::Forget(uint64_t id) {
  std::lock_guard lock(mu_);
  names_.erase(id);
}

size_t SnapshotIndex::size() const {
  std::lock_guard lock(mu_);
  return names_.size();
}

}  // namespace clonefs::fs
