// The store's side of automated backups: a volume's backup policy in its catalog record, and
// automated snapshots. The schedule that takes and expires them is the daemon's
// (tools/control/backup_service.h).
#include <spdlog/spdlog.h>

#include "base/error_names.h"
#include "store/engine/store_impl.h"

namespace clonefs::store {

Result<VolumeInfo> StoreImpl::SetBackupPolicy(const std::string& name, const BackupPolicy& policy) {
  CLONEFS_RETURN_IF_ERROR(ValidateBackupRetention(policy.retention_days));
  if (policy.window.minutes() < kMinBackupWindowMinutes) {
    return Status::InvalidArgument("backup window " + FormatBackupWindow(policy.window) +
                                   " must be at least 30 minutes long");
  }
  CLONEFS_ASSIGN_OR_RETURN(VolumeInfo updated, EditVolumeRecord(name, [&](VolumeInfo* v) {
                             v->backup = policy;
                             return Status::OK();
                           }));
  spdlog::info("volume {} (id {}): backups kept {} day(s), window {} UTC", name, updated.id,
               policy.retention_days, FormatBackupWindow(policy.window));
  // A shorter retention shortens the restore window at once, and GC frees what left it. (A
  // longer one never reaches back past the points already dropped.)
  bool trimmed = false;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    if (auto vol = catalog_.VolumeById(updated.id); vol != nullptr) {
      trimmed = TrimRestorePointsLocked(*vol, env()->NowMicros());
    }
  }
  if (trimmed) RequestGc();
  return updated;
}

Result<SnapshotInfo> StoreImpl::CreateAutomatedSnapshot(const std::string& volume,
                                                        const std::string& name) {
  CLONEFS_RETURN_IF_ERROR(ValidateAutomatedSnapshotStoreName(name));
  return TakeSnapshot(volume, name, {}, SnapshotType::kAutomated);
}

}  // namespace clonefs::store
