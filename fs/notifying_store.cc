#include "fs/notifying_store.h"

#include <utility>

namespace clonefs::fs {

NotifyingStore::NotifyingStore(store::Store* base) : StoreWrapper(base) {
  // Registered once, now, before any other thread uses the store; the listener it forwards to
  // can then change safely under mu_.
  target()->SetChangeListener(
      [this](const store::VolumeInfo& v, bool deleted) { NotifyVolume(v, deleted); });
}

NotifyingStore::~NotifyingStore() { target()->SetChangeListener(nullptr); }

void NotifyingStore::SetSnapshotListener(SnapshotListener listener) {
  std::lock_guard lock(mu_);
  snapshot_listener_ = std::move(listener);
}

void NotifyingStore::SetChangeListener(ChangeListener listener) {
  std::lock_guard lock(mu_);
  volume_listener_ = std::move(listener);
}

void NotifyingStore::NotifyVolume(const store::VolumeInfo& volume, bool deleted) {
  ChangeListener listener;
  {
    std::lock_guard lock(mu_);
    listener = volume_listener_;
  }
  if (listener) listener(volume, deleted);
}

void NotifyingStore::NotifySnapshot(const store::SnapshotInfo& snapshot, bool deleted) {
  SnapshotListener listener;
  {
    std::lock_guard lock(mu_);
    listener = snapshot_listener_;
  }
  if (listener) listener(snapshot, deleted);
}

Result<store::SnapshotInfo> NotifyingStore::CreateSnapshot(const std::string& volume,
                                                           const std::string& name,
                                                           const store::Tags& tags) {
  Result<store::SnapshotInfo> s = target()->CreateSnapshot(volume, name, tags);
  if (s.ok()) NotifySnapshot(*s, /*deleted=*/false);
  return s;
}

Result<store::SnapshotInfo> NotifyingStore::CreateAutomatedSnapshot(const std::string& volume,
                                                                    const std::string& name) {
  Result<store::SnapshotInfo> s = target()->CreateAutomatedSnapshot(volume, name);
  if (s.ok()) NotifySnapshot(*s, /*deleted=*/false);
  return s;
}

Status NotifyingStore::DeleteSnapshot(const std::string& name) {
  // The listener wants the snapshot's id (its inode), which is gone after the delete.
  Result<store::SnapshotInfo> info = target()->GetSnapshot(name);
  Status s = target()->DeleteSnapshot(name);
  // A failed lookup means someone else deleted it first (and told the listener).
  if (s.ok() && info.ok()) NotifySnapshot(*info, /*deleted=*/true);
  return s;
}

}  // namespace clonefs::fs
