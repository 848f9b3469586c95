// Volume and snapshot tags: read-modify-write of one catalog record, synced.
#include <spdlog/spdlog.h>

#include "base/error_names.h"
#include "store/engine/store_impl.h"
#include "store/meta/catalog_codec.h"

namespace clonefs::store {

Result<VolumeInfo> StoreImpl::UpdateVolumeTags(const std::string& name, const TagEdit& edit) {
  CLONEFS_ASSIGN_OR_RETURN(VolumeInfo updated, EditVolumeRecord(name, [&](VolumeInfo* v) {
                             CLONEFS_ASSIGN_OR_RETURN(v->tags, edit(v->tags));
                             return Status::OK();
                           }));
  spdlog::info("volume {} (id {}) now has {} tag(s)", name, updated.id, updated.tags.size());
  return updated;
}

Result<SnapshotInfo> StoreImpl::UpdateSnapshotTags(const std::string& name, const TagEdit& edit) {
  SnapshotInfo updated;
  {
    // A snapshot's record is written at its creation and by this only.
    std::lock_guard<std::mutex> l(catalog_mu_);
    std::shared_ptr<SnapshotState> snap = catalog_.Snapshot(name);
    if (snap == nullptr) return errors::SnapshotNotFound(name);
    updated = snap->info;
    CLONEFS_ASSIGN_OR_RETURN(updated.tags, edit(snap->tags));
    MetaBatch b;
    b.Put(keys::SnapshotKey(updated.id), EncodeSnapshot(updated));
    CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
    snap->tags = updated.tags;
    updated.encrypted = snap->vol->info.encrypted;  // as GetSnapshot shows it
    updated.kms_key_id = snap->vol->info.kms_key_id;
  }
  spdlog::info("snapshot {} (id {}) now has {} tag(s)", name, updated.id, updated.tags.size());
  return updated;
}

}  // namespace clonefs::store
