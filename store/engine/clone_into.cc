// CloneInto / RestoreSnapshotInto: an existing, empty volume becomes a copy-on-write clone in
// place. A mount needs this for `cp SOURCE DEST`: cp creates DEST, keeps it open and then asks
// to copy, so the clone must take over DEST's id (its inode) rather than be a new volume.
//
// Why only an empty root volume. Page-map keys are (lineage, page, epoch, volume), and DEST
// moves into the source's lineage under its old id. Versions DEST wrote before would be
// orphaned in its old lineage, and, worse, recovery replays logged records into whatever
// lineage the catalog names at open: DEST's records after the last checkpoint would land in
// the new lineage, where DEST's new read view sees its own id at any older epoch, and would
// show through the clone after a crash. So DEST must own no map entry and have no record left
// to replay. The call checkpoints first (which also drops the tombstones an O_TRUNC left when
// nothing older shows through them), then, holding DEST's io_mu exclusively, checks that
//   (a) DEST's generation did not move since before that checkpoint: no write, discard or
//       resize of DEST can have appended a record after the checkpoint's log position, and
//   (b) the checkpointed map holds no entry of DEST.
// Every record a volume appends keeps a map entry (overlay, frozen or MetaDb) until a durable
// checkpoint lies past it, and GC only relocates records that still have one, so (a) and (b)
// prove that nothing of DEST is left anywhere. A clone or restore as DEST would own tombstones
// that hide its parent's pages and can never be dropped, so it is refused, as is a volume that
// snapshots or clones read (they read its lineage and id).
//
// The catalog loads volumes in id order and resolves a clone's ancestors from its parent's, so
// a clone must have a larger id than its parent unless the parent is a root (whose ancestors
// are empty). cp creates DEST after SOURCE, which satisfies this; the rare other case is
// refused and the mount copies bytes instead.
#include <spdlog/spdlog.h>

#include "base/coding.h"
#include "base/error_names.h"
#include "store/engine/store_impl.h"
#include "store/meta/catalog_codec.h"

namespace clonefs::store {
namespace {

Status NotEligible(const std::string& dest, const std::string& why) {
  return errors::InvalidVolumeState("volume '" + dest +
                                    "' cannot become a copy-on-write clone: " + why);
}

}  // namespace

Status StoreImpl::CheckCloneIntoTarget(const CloneSource& src, const VolumeState& dest) {
  const VolumeState& parent = *src.vol;
  if (dest.deleted) return errors::VolumeNotFound(dest.info.name);
  if (src.snap != nullptr) {
    if (src.snap->deleted) {
      return errors::SnapshotNotFound(src.snap->info.name);
    }
  } else if (parent.deleted) {
    return errors::VolumeNotFound(parent.info.name);
  }
  if (&parent == &dest) {
    // Only reachable through a snapshot of dest, which the dependents check refuses anyway.
    return NotEligible(dest.info.name, "it is its own source");
  }
  if (dest.info.parent_id != 0) {
    return NotEligible(dest.info.name, "it is already a clone or restore");
  }
  if (catalog_.HasDependents(dest.info.id)) {
    return NotEligible(dest.info.name, "snapshots or clones of it exist");
  }
  if (parent.info.parent_id != 0 && dest.info.id < parent.info.id) {
    return NotEligible(dest.info.name, "it is older than its source '" + parent.info.name + "'");
  }
  if (catalog_.ClonesInLineage(parent.info.lineage_id) >= kMaxClonesPerLineage) {
    return CloneQuotaError(parent.info.name);
  }
  return Status::OK();
}

Result<CloneIntoResult> StoreImpl::CloneIntoLocked(const CloneSource& src,
                                                   const std::shared_ptr<VolumeState>& dest,
                                                   uint64_t generation_seen) {
  CLONEFS_RETURN_IF_ERROR(CheckCloneIntoTarget(src, *dest));
  const std::string& name = dest->info.name;
  if (dest->generation != generation_seen) {
    return NotEligible(name, "it was written to while the clone was being set up");
  }
  // (b): any checkpointed map entry of dest. Its lineage is its own id (a root), shared with
  // nothing but leftovers of purged clones, so the first entry of dest ends the scan.
  auto it = db_->NewIterator();
  const uint64_t lineage = dest->info.lineage_id;
  for (it->Seek(keys::MapPrefix(lineage)); it->Valid(); it->Next()) {
    MapKey k;
    if (!DecodeMapDbKey(it->key(), &k) || k.lineage != lineage) break;
    if (k.volume == dest->info.id) {  // k.page: the first page of the map block
      return NotEligible(name, "it holds data (pages " + std::to_string(k.page) + "-" +
                                   std::to_string(k.page + kMapBlockPages - 1) + ")");
    }
  }
  CLONEFS_RETURN_IF_ERROR(it->status());

  const VolumeState& parent = *src.vol;
  VolumeInfo v = dest->info;
  v.size_bytes = src.snap ? src.snap->info.size_bytes : parent.size.load();
  v.page_size = parent.info.page_size;
  v.compression = parent.info.compression;
  Catalog::Reservation ids = catalog_.Reserve();
  v.epoch = ids.NewEpoch();
  v.lineage_id = parent.info.lineage_id;
  v.parent_id = parent.info.id;
  v.parent_epoch = src.snap ? src.snap->info.epoch : parent.epoch.load();
  v.source_snapshot = src.snap ? src.snap->info.name : "";
  // Encryption (encryption.cc): dest takes the source's data keys, re-wrapped under dest's
  // own KMS key when it was created encrypted, else under the source's. An encrypted dest
  // cannot take an unencrypted source's pages (the mount then copies the bytes, encrypting).
  if (dest->ring != nullptr && parent.ring == nullptr) {
    return NotEligible(name, "it is encrypted and its source is not");
  }
  CLONEFS_ASSIGN_OR_RETURN(
      InheritedKeys keys,
      InheritKeyRing(parent, v.id, dest->ring != nullptr ? dest->ring->kek_id() : "",
                     AccountOf(name)));
  v.encrypted = keys.encrypted;
  v.kms_key_id = keys.kms_key_id;
  MetaBatch b;
  b.Put(keys::VolumeKey(v.id), EncodeVolume(v));
  PutKeyRing(v.id, keys, &b);  // replaces dest's own data keys: being empty, it sealed nothing
  VolumeInfo moved;
  if (src.snap == nullptr) {
    // As in CloneVolume: the source moves to a fresh epoch so that its later writes stay
    // invisible to the clone.
    moved = parent.info;
    moved.epoch = ids.NewEpoch();
    b.Put(keys::VolumeKey(moved.id), EncodeVolume(moved));
  }
  ids.PutCounters(&b);
  // Its restore window starts now: what it was before is not restorable as this clone.
  if (options_.restore_points) StartRestoreWindow(*dest, v, env()->NowMicros(), &b);
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  catalog_.Commit(ids);
  {
    // Every stripe: GC relocation reads a volume's lineage under the page's stripe lock only.
    StripeGuard all(this, v.id, 0, kStripes);
    dest->ancestors = catalog_.AncestorsOf(v.parent_id, v.parent_epoch);
    dest->ring = MakeKeyRing(v, std::move(keys));
    dest->info = v;
    dest->epoch = v.epoch;
    dest->generation++;
    dest->size = v.size_bytes;
  }
  if (src.snap == nullptr) {
    src.vol->info.epoch = moved.epoch;
    src.vol->epoch = moved.epoch;
  }
  CloneIntoResult r;
  r.volume = v;
  r.source_generation = src.snap ? 0 : src.vol->generation.load();
  r.dest_generation = dest->generation;
  return r;
}

Status StoreImpl::DropHistoryOf(VolumeState& dest) {
  std::unique_lock<std::shared_mutex> io(dest.io_mu);  // nothing written while it is looked at
  ReadView now;
  uint64_t pages = 0;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    if (dest.points.size() <= 1 || dest.deleted) return Status::OK();  // no sync since made
    now = dest.View(dest.epoch);
    pages = (dest.size + dest.info.page_size - 1) / dest.info.page_size;
  }
  bool holds_data = false;
  CLONEFS_RETURN_IF_ERROR(map_->VisitRange(now, 0, pages, [&](uint64_t, const PageVersion& v) {
    holds_data = holds_data || !v.value.tombstone;
    return Status::OK();
  }));
  if (holds_data) return Status::OK();  // not a target: CloneIntoLocked refuses it
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    ClearRestorePointsLocked(dest);
  }
  // A root with no dependents: every version in its lineage that it wrote is its own, and
  // none is read now. They go with the caller's checkpoint, tombstones and all.
  std::lock_guard<std::mutex> gc(gc_mu_);  // not beside a GC pass queuing the same versions
  CLONEFS_RETURN_IF_ERROR(Checkpoint());   // the scan reads checkpointed versions only
  std::vector<std::pair<MapKey, MapValue>> dead;
  const uint64_t id = dest.info.id;
  CLONEFS_RETURN_IF_ERROR(
      map_->ForEachStored(dest.info.lineage_id, [&](const MapKey& k, const MapValue& v) {
        if (k.volume == id) dead.emplace_back(k, v);
      }));
  std::lock_guard<std::mutex> l(misc_mu_);
  pending_dead_.insert(pending_dead_.end(), dead.begin(), dead.end());
  return Status::OK();
}

namespace {

// Locks the io_mu of both volumes exclusively, in id order (two CloneIntos in opposite
// directions must not deadlock); `a` may be null.
class ExclusiveIo {
 public:
  ExclusiveIo(VolumeState* a, VolumeState* b) {
    if (a != nullptr && a->info.id > b->info.id) std::swap(a, b);
    if (a != nullptr) first_ = std::unique_lock<std::shared_mutex>(a->io_mu);
    second_ = std::unique_lock<std::shared_mutex>(b->io_mu);
  }

 private:
  std::unique_lock<std::shared_mutex> first_, second_;
};

}  // namespace

Result<CloneIntoResult> StoreImpl::CloneInto(const std::string& source, const std::string& dest) {
  if (source == dest) {
    return errors::InvalidParameterValue("a volume cannot be cloned into itself");
  }
  CLONEFS_ASSIGN_OR_RETURN(auto dst, FindVolume(dest));
  CLONEFS_ASSIGN_OR_RETURN(auto src_vol, FindVolume(source));
  CloneSource src{src_vol, nullptr};
  uint64_t seen = 0;
  {
    // The generation is read with no write of dest in flight; the cheap checks run before the
    // checkpoint is paid for.
    std::unique_lock<std::shared_mutex> io(dst->io_mu);
    std::lock_guard<std::mutex> l(catalog_mu_);
    CLONEFS_RETURN_IF_ERROR(CheckCloneIntoTarget(src, *dst));
    seen = dst->generation;
  }
  CLONEFS_RETURN_IF_ERROR(DropHistoryOf(*dst));
  CLONEFS_RETURN_IF_ERROR(Checkpoint());
  Result<CloneIntoResult> r = [&] {
    ExclusiveIo io(src_vol.get(), dst.get());  // the source's clone point is one instant
    std::lock_guard<std::mutex> l(catalog_mu_);
    return CloneIntoLocked(src, dst, seen);
  }();
  if (!r.ok()) return r;
  spdlog::info("volume {} became a copy-on-write clone of {} at epoch {}", dest, source,
               r->volume.parent_epoch);
  Notify(r->volume, false);
  return r;
}

Result<CloneIntoResult> StoreImpl::RestoreSnapshotInto(const std::string& snapshot,
                                                       const std::string& dest) {
  CLONEFS_ASSIGN_OR_RETURN(auto dst, FindVolume(dest));
  CloneSource src;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    std::shared_ptr<SnapshotState> snap = catalog_.Snapshot(snapshot);
    if (snap == nullptr) return errors::SnapshotNotFound(snapshot);
    src = CloneSource{snap->vol, snap};
  }
  uint64_t seen = 0;
  {
    std::unique_lock<std::shared_mutex> io(dst->io_mu);
    std::lock_guard<std::mutex> l(catalog_mu_);
    CLONEFS_RETURN_IF_ERROR(CheckCloneIntoTarget(src, *dst));
    seen = dst->generation;
  }
  CLONEFS_RETURN_IF_ERROR(DropHistoryOf(*dst));
  CLONEFS_RETURN_IF_ERROR(Checkpoint());
  Result<CloneIntoResult> r = [&] {
    ExclusiveIo io(nullptr, dst.get());  // a snapshot never changes: only dest holds still
    std::lock_guard<std::mutex> l(catalog_mu_);
    return CloneIntoLocked(src, dst, seen);
  }();
  if (!r.ok()) return r;
  spdlog::info("volume {} became a copy-on-write restore of snapshot {}", dest, snapshot);
  Notify(r->volume, false);
  return r;
}

}  // namespace clonefs::store
