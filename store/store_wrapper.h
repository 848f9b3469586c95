// StoreWrapper: a Store that hands every call to another Store. A subclass overrides only the
// calls it adds behaviour to (fs/notifying_store.h reports snapshot changes; quotas, access
// checks or tracing fit the same way), so that a new Store method needs one forward, here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/keys/key_service.h"
#include "store/store.h"

namespace clonefs::store {

class StoreWrapper : public Store {
 public:
  // `target` must outlive this object.
  explicit StoreWrapper(Store* target) : target_(target) {}
  StoreWrapper(const StoreWrapper&) = delete;
  StoreWrapper& operator=(const StoreWrapper&) = delete;
  Store* target() const { return target_; }

  const StoreInfo& info() const override { return target_->info(); }
  Result<VolumeInfo> CreateVolume(const std::string& name, const VolumeOptions& opts) override {
    return target_->CreateVolume(name, opts);
  }
  Result<VolumeInfo> GetVolume(const std::string& name) override {
    return target_->GetVolume(name);
  }
  Result<VolumeInfo> GetVolumeById(uint64_t id) override { return target_->GetVolumeById(id); }
  std::vector<VolumeInfo> ListVolumes() override { return target_->ListVolumes(); }
  using Store::ResizeVolume;
  Result<VolumeInfo> ResizeVolume(const std::string& name, uint64_t new_size,
                                  const ResizeOptions& options) override {
    return target_->ResizeVolume(name, new_size, options);
  }
  Status DeleteVolume(const std::string& name) override { return target_->DeleteVolume(name); }
  Result<VolumeUsage> GetVolumeUsage(const std::string& name) override {
    return target_->GetVolumeUsage(name);
  }
  Result<std::shared_ptr<VolumeHandle>> OpenVolume(const std::string& name) override {
    return target_->OpenVolume(name);
  }

  Result<SnapshotInfo> CreateSnapshot(const std::string& volume, const std::string& name,
                                      const Tags& tags) override {
    return target_->CreateSnapshot(volume, name, tags);
  }
  Result<SnapshotInfo> GetSnapshot(const std::string& name) override {
    return target_->GetSnapshot(name);
  }
  std::vector<SnapshotInfo> ListSnapshots() override { return target_->ListSnapshots(); }
  Status DeleteSnapshot(const std::string& name) override { return target_->DeleteSnapshot(name); }
  Result<std::shared_ptr<VolumeHandle>> OpenSnapshot(const std::string& name) override {
    return target_->OpenSnapshot(name);
  }
  Status VisitChangedPages(const std::string& target, const std::string& base,
                           const std::function<Status(const PageRun&)>& fn) override {
    return target_->VisitChangedPages(target, base, fn);
  }
  Result<std::unique_ptr<SnapshotPin>> PinSnapshot(const std::string& name) override {
    return target_->PinSnapshot(name);
  }
  Status VisitPinnedChanges(const SnapshotPin& target, const SnapshotPin* base,
                            const std::function<Status(const PageRun&)>& fn) override {
    return target_->VisitPinnedChanges(target, base, fn);
  }
  Status ReadPinnedChanges(SnapshotPin& target, const SnapshotPin* base,
                           const std::function<Status(PageBatch* batch)>& fn) override {
    return target_->ReadPinnedChanges(target, base, fn);
  }
  Result<std::unique_ptr<SnapshotImport>> BeginSnapshotImport(
      const std::string& name, const SnapshotImportOptions& options) override {
    return target_->BeginSnapshotImport(name, options);
  }
  Result<VolumeInfo> CloneVolume(const std::string& source, const std::string& name,
                                 const CloneOptions& options) override {
    return target_->CloneVolume(source, name, options);
  }
  Result<VolumeInfo> RestoreSnapshot(const std::string& snapshot, const std::string& name,
                                     const CloneOptions& options) override {
    return target_->RestoreSnapshot(snapshot, name, options);
  }
  Result<RestoreWindow> GetRestoreWindow(const std::string& name) override {
    return target_->GetRestoreWindow(name);
  }
  Result<RestoreWindow> GetRestoreWindowById(uint64_t volume_id) override {
    return target_->GetRestoreWindowById(volume_id);
  }
  Result<VolumeInfo> RestoreVolumeToTime(const std::string& source, const std::string& name,
                                         std::optional<uint64_t> time_us,
                                         const CloneOptions& options) override {
    return target_->RestoreVolumeToTime(source, name, time_us, options);
  }
  Result<VolumeInfo> RekeyVolume(const std::string& name, const std::string& kms_key) override {
    return target_->RekeyVolume(name, kms_key);
  }
  Result<VolumeInfo> UpdateVolumeTags(const std::string& name, const TagEdit& edit) override {
    return target_->UpdateVolumeTags(name, edit);
  }
  Result<SnapshotInfo> UpdateSnapshotTags(const std::string& name, const TagEdit& edit) override {
    return target_->UpdateSnapshotTags(name, edit);
  }
  Result<VolumeInfo> RenameVolume(const std::string& name, const std::string& new_name) override {
    return target_->RenameVolume(name, new_name);
  }
  Result<VolumeInfo> SetBackupPolicy(const std::string& name, const BackupPolicy& policy) override {
    return target_->SetBackupPolicy(name, policy);
  }
  Result<SnapshotInfo> CreateAutomatedSnapshot(const std::string& volume,
                                               const std::string& name) override {
    return target_->CreateAutomatedSnapshot(volume, name);
  }
  KeyService& keys() override { return target_->keys(); }
  std::unique_ptr<KeyService> KeysOf(const std::string& account) override {
    return target_->KeysOf(account);
  }
  Result<CloneIntoResult> CloneInto(const std::string& source, const std::string& dest) override {
    return target_->CloneInto(source, dest);
  }
  Result<CloneIntoResult> RestoreSnapshotInto(const std::string& snapshot,
                                              const std::string& dest) override {
    return target_->RestoreSnapshotInto(snapshot, dest);
  }

  Result<std::string> LoadDocument(std::string_view name) override {
    return target_->LoadDocument(name);
  }
  Status SaveDocument(std::string_view name, std::string_view bytes) override {
    return target_->SaveDocument(name, bytes);
  }

  Status Sync() override { return target_->Sync(); }
  StoreUsage GetUsage() override { return target_->GetUsage(); }
  StoreStats GetStats() override { return target_->GetStats(); }
  Status CollectGarbage() override { return target_->CollectGarbage(); }

  void SetChangeListener(ChangeListener listener) override {
    target_->SetChangeListener(std::move(listener));
  }

 private:
  Store* const target_;
};

}  // namespace clonefs::store
