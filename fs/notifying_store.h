// NotifyingStore: a Store that forwards every call to another one (StoreWrapper) and reports
// snapshot creations and deletions, which the store's own change listener (volumes only) does not
// cover.
//
// The daemon hands this wrapper to both the control socket and the mount, so a snapshot made
// or deleted with clonectl reaches the mount's kernel cache invalidation at once instead of
// after the entry timeout. Thread-safe: the listeners may be set while other threads call in.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/store_wrapper.h"

namespace clonefs::fs {

class NotifyingStore final : public store::StoreWrapper {
 public:
  // Called after a snapshot was created (deleted = false) or deleted (deleted = true), from the
  // thread that made the change.
  using SnapshotListener = std::function<void(const store::SnapshotInfo& snapshot, bool deleted)>;

  // `base` must outlive this object. Takes over base's change listener.
  explicit NotifyingStore(store::Store* base);
  ~NotifyingStore() override;

  void SetSnapshotListener(SnapshotListener listener);
  void SetChangeListener(ChangeListener listener) override;

  Result<store::SnapshotInfo> CreateSnapshot(const std::string& volume, const std::string& name,
                                             const store::Tags& tags) override;
  Result<store::SnapshotInfo> CreateAutomatedSnapshot(const std::string& volume,
                                                      const std::string& name) override;
  Status DeleteSnapshot(const std::string& name) override;

 private:
  void NotifyVolume(const store::VolumeInfo& volume, bool deleted);
  void NotifySnapshot(const store::SnapshotInfo& snapshot, bool deleted);

  std::mutex mu_;  // guards the listeners; never held while one runs
  ChangeListener volume_listener_;
  SnapshotListener snapshot_listener_;
};

}  // namespace clonefs::fs
