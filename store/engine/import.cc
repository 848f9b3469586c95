// Snapshots made from outside the store. An import fills a hidden root volume (status
// importing, in the catalog by id only) through an ordinary volume handle; Commit() writes the
// snapshot record and the volume's final "deleted" state in one synced batch, so the snapshot
// appears whole or not at all. A hidden volume still marked importing at the next open is
// purged: a crash mid-import leaves nothing behind.
#include <spdlog/spdlog.h>

#include "base/error_names.h"
#include "store/engine/handles.h"
#include "store/engine/store_impl.h"
#include "store/meta/catalog_codec.h"

namespace clonefs::store {
namespace {

constexpr char kImportPrefix[] = "import:";  // hidden volumes' names (no volume name has ':')

class SnapshotImportImpl final : public SnapshotImport {
 public:
  SnapshotImportImpl(StoreImpl* store, std::string name, SnapshotImportOptions options,
                     std::shared_ptr<VolumeState> vol)
      : store_(store),
        name_(std::move(name)),
        options_(std::move(options)),
        vol_(std::move(vol)),
        handle_(NewVolumeHandle(store, vol_)) {}
  ~SnapshotImportImpl() override {
    handle_.reset();
    if (!committed_) store_->AbandonImport(name_, vol_);
  }
  VolumeHandle& volume() override { return *handle_; }
  Result<SnapshotInfo> Commit() override {
    if (committed_) return Status::InvalidState("snapshot '" + name_ + "' is already committed");
    CLONEFS_ASSIGN_OR_RETURN(SnapshotInfo s, store_->CommitImport(name_, options_, vol_));
    committed_ = true;
    return s;
  }

 private:
  StoreImpl* const store_;
  const std::string name_;
  const SnapshotImportOptions options_;
  const std::shared_ptr<VolumeState> vol_;
  std::shared_ptr<VolumeHandle> handle_;
  bool committed_ = false;
};

}  // namespace

Result<std::unique_ptr<SnapshotImport>> StoreImpl::BeginSnapshotImport(
    const std::string& name, const SnapshotImportOptions& options) {
  CLONEFS_RETURN_IF_ERROR(ValidateStoreName(name, "snapshot"));
  const VolumeOptions& opts = options.volume;
  CLONEFS_RETURN_IF_ERROR(ValidateVolumeSize(opts.size_bytes));
  CLONEFS_RETURN_IF_ERROR(ValidatePageSize(opts.page_size));
  std::string kek;
  if (opts.encrypted || !opts.kms_key.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(kek, UsableKmsKey(opts.kms_key, AccountOf(name)));
  }
  std::shared_ptr<VolumeState> state;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    if (catalog_.SnapshotNameTaken(name)) return errors::SnapshotAlreadyExists(name);
    CLONEFS_ASSIGN_OR_RETURN(
        state, PersistRootVolume(kImportPrefix + name, opts, kek, VolumeStatus::kImporting));
    catalog_.AddHiddenVolume(state);
    catalog_.ReserveSnapshotName(name);
  }
  spdlog::info("import of snapshot {} started ({} bytes{})", name, opts.size_bytes,
               kek.empty() ? "" : ", encrypted with KMS key " + kek);
  return std::unique_ptr<SnapshotImport>(
      std::make_unique<SnapshotImportImpl>(this, name, options, state));
}

Result<SnapshotInfo> StoreImpl::CommitImport(const std::string& name,
                                             const SnapshotImportOptions& options,
                                             const std::shared_ptr<VolumeState>& vol) {
  // Every page written so far is durable before the snapshot that names it.
  CLONEFS_RETURN_IF_ERROR(Sync());
  std::unique_lock<std::shared_mutex> io(vol->io_mu);
  std::lock_guard<std::mutex> l(catalog_mu_);
  Catalog::Reservation ids = catalog_.Reserve();
  SnapshotInfo s = SnapshotNow(*vol, name, ids.NewSnapshotId(), options.tags);
  s.volume_name = options.volume_name;
  s.source_snapshot_arn = options.source_snapshot_arn;
  s.source_identity = options.source_identity;
  VolumeInfo hidden = vol->info;
  hidden.status = VolumeStatus::kDeleted;  // kept, hidden, while the snapshot reads it
  hidden.size_bytes = vol->size;
  MetaBatch b;
  b.Put(keys::SnapshotKey(s.id), EncodeSnapshot(s));
  b.Put(keys::VolumeKey(hidden.id), EncodeVolume(hidden));
  ids.PutCounters(&b);
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  catalog_.Commit(ids);
  vol->info = hidden;
  vol->deleted = true;
  catalog_.ReleaseSnapshotName(name);
  catalog_.AddSnapshot(std::make_shared<SnapshotState>(s, vol));
  spdlog::info("snapshot {} imported: {} bytes", name, s.size_bytes);
  return s;
}

void StoreImpl::AbandonImport(const std::string& name, const std::shared_ptr<VolumeState>& vol) {
  {
    std::unique_lock<std::shared_mutex> io(vol->io_mu);
    std::lock_guard<std::mutex> l(catalog_mu_);
    vol->deleted = true;
    catalog_.ReleaseSnapshotName(name);
    PurgeUnneededLocked(vol->info.id);
  }
  // The checkpoint removes its catalog record and map entries and frees its pages; if it
  // fails, the next one does, and a restart before that purges the volume too (still
  // marked importing).
  Status s = Checkpoint();
  spdlog::info("import of snapshot {} given up{}", name,
               s.ok() ? "" : "; its space is freed at the next checkpoint");
}

}  // namespace clonefs::store
