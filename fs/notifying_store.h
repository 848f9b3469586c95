// NotifyingStore: a Store that forwards every call to another one and also reports snapshot
// creations and deletions, which the store's own change listener (volumes only) does not cover.
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

#include "store/store.h"

namespace clonefs::fs {

class NotifyingStore final : public store::Store {
 public:
  // Called after a snapshot was created (deleted = false) or deleted (deleted = true), from the
  // thread that made the change.
  using SnapshotListener = std::function<void(const store::SnapshotInfo& snapshot, bool deleted)>;

  // `base` must outlive this object. Takes over base's change listener.
  explicit NotifyingStore(store::Store* base);
  ~NotifyingStore() override;
  NotifyingStore(const NotifyingStore&) = delete;
  NotifyingStore& operator=(const NotifyingStore&) = delete;

  void SetSnapshotListener(SnapshotListener listener);
  void SetChangeListener(ChangeListener listener) override;

  const store::StoreInfo& info() const override { return base_->info(); }
  Result<store::VolumeInfo> CreateVolume(const std::string& name,
                                         const store::VolumeOptions& opts) override {
    return base_->CreateVolume(name, opts);
  }
  Result<store::VolumeInfo> GetVolume(const std::string& name) override {
    return base_->GetVolume(name);
  }
  Result<store::VolumeInfo> GetVolumeById(uint64_t id) override { return base_->GetVolumeById(id); }
  std::vector<store::VolumeInfo> ListVolumes() override { return base_->ListVolumes(); }
  Result<store::VolumeInfo> ResizeVolume(const std::string& name, uint64_t new_size) override {
    return base_->ResizeVolume(name, new_size);
  }
  Status DeleteVolume(const std::string& name) override { return base_->DeleteVolume(name); }
  Result<store::VolumeUsage> GetVolumeUsage(const std::string& name) override {
    return base_->GetVolumeUsage(name);
  }
  Result<std::shared_ptr<store::VolumeHandle>> OpenVolume(const std::string& name) override {
    return base_->OpenVolume(name);
  }

  Result<store::SnapshotInfo> CreateSnapshot(const std::string& volume, const std::string& name,
                                             const store::Tags& tags) override;
  Result<store::SnapshotInfo> GetSnapshot(const std::string& name) override {
    return base_->GetSnapshot(name);
  }
  std::vector<store::SnapshotInfo> ListSnapshots() override { return base_->ListSnapshots(); }
  Status DeleteSnapshot(const std::string& name) override;
  Result<std::shared_ptr<store::VolumeHandle>> OpenSnapshot(const std::string& name) override {
    return base_->OpenSnapshot(name);
  }
  Result<store::VolumeInfo> CloneVolume(const std::string& source, const std::string& name,
                                        const store::CloneOptions& options) override {
    return base_->CloneVolume(source, name, options);
  }
  Result<store::VolumeInfo> RestoreSnapshot(const std::string& snapshot, const std::string& name,
                                            const store::CloneOptions& options) override {
    return base_->RestoreSnapshot(snapshot, name, options);
  }
  Result<store::VolumeInfo> RekeyVolume(const std::string& name,
                                        const std::string& kms_key) override {
    return base_->RekeyVolume(name, kms_key);
  }
  store::KeyService& keys() override { return base_->keys(); }
  Result<store::CloneIntoResult> CloneInto(const std::string& source,
                                           const std::string& dest) override {
    return base_->CloneInto(source, dest);
  }
  Result<store::CloneIntoResult> RestoreSnapshotInto(const std::string& snapshot,
                                                     const std::string& dest) override {
    return base_->RestoreSnapshotInto(snapshot, dest);
  }

  Status Sync() override { return base_->Sync(); }
  store::StoreUsage GetUsage() override { return base_->GetUsage(); }
  Status CollectGarbage() override { return base_->CollectGarbage(); }

 private:
  void NotifyVolume(const store::VolumeInfo& volume, bool deleted);
  void NotifySnapshot(const store::SnapshotInfo& snapshot, bool deleted);

  store::Store* const base_;
  std::mutex mu_;  // guards the listeners; never held while one runs
  ChangeListener volume_listener_;
  SnapshotListener snapshot_listener_;
};

}  // namespace clonefs::fs
