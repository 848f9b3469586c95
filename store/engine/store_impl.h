// StoreImpl: the Store of store.h, assembled from SegmentLog (records), PageMap (versioned
// map), MetaDb (catalog and checkpoints) and the Catalog (catalog.h, what is in memory). Split
// over several .cc files by concern:
//   open.cc          create, open, recovery
//   checkpoint.cc    checkpoints: the page-map overlay and pending deletions into MetaDb
//   background.cc    the write-back / checkpoint thread and the GC thread
//   volumes.cc       volume create / resize / delete / usage
//   handles.cc       VolumeHandle for volumes and snapshots (handles.h)
//   volume_io.cc     the data path: page reads, writes, discards
//   gc.cc            garbage collection: dead segments and compaction
//   snapshots.cc     snapshots, clones, restores; clone_into.cc: a volume made a clone in place
//   encryption.cc    encrypted volumes: key rings, key access, rekey (keys/volume_key_ring.h)
//   tags.cc          volume and snapshot tags
//   restore_points.cc point-in-time restore: restore points, windows, restores to a time
//
// Lock order (outer to inner): VolumeState::io_mu -> page stripe locks -> ckpt_mu_ ->
// PageMap / SegmentLog / MetaDb internals -> misc_mu_. gc_mu_ and checkpoint_mu_ serialize whole
// passes and are taken before anything else. segments_mu_ (shared by readers, exclusive while
// a segment file is deleted) is taken inside the stripe locks and never across a checkpoint.
// catalog_mu_ is taken inside io_mu; only CloneInto takes stripe locks inside it (nothing that
// holds a stripe lock waits for catalog_mu_). Two io_mu are held together only by CloneInto,
// lower volume id first.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <span>
#include <thread>
#include <vector>

#include "store/engine/catalog.h"
#include "store/engine/io_stats.h"
#include "store/engine/state.h"
#include "store/keys/key_service.h"
#include "store/keys/volume_key_ring.h"
#include "store/log/record.h"
#include "store/log/segment_log.h"
#include "store/map/page_map.h"
#include "store/meta/keys.h"
#include "store/meta/meta_db.h"
#include "store/store.h"

namespace clonefs::store {

class StoreImpl final : public Store {
 public:
  StoreImpl(std::string dir, StoreOptions options)
      : dir_(std::move(dir)), options_(options), open_time_us_(options.env->NowMicros()) {}
  ~StoreImpl() override;

  Status OpenAndRecover();

  const StoreInfo& info() const override { return info_; }
  Result<VolumeInfo> CreateVolume(const std::string& name, const VolumeOptions& opts) override;
  Result<VolumeInfo> GetVolume(const std::string& name) override;
  Result<VolumeInfo> GetVolumeById(uint64_t id) override;
  std::vector<VolumeInfo> ListVolumes() override;
  using Store::ResizeVolume;
  Result<VolumeInfo> ResizeVolume(const std::string& name, uint64_t new_size,
                                  const ResizeOptions& options) override;
  Status DeleteVolume(const std::string& name) override;
  Result<VolumeUsage> GetVolumeUsage(const std::string& name) override;
  Result<std::shared_ptr<VolumeHandle>> OpenVolume(const std::string& name) override;
  Result<SnapshotInfo> CreateSnapshot(const std::string& volume, const std::string& name,
                                      const Tags& tags) override;
  Result<SnapshotInfo> GetSnapshot(const std::string& name) override;
  std::vector<SnapshotInfo> ListSnapshots() override;
  Status DeleteSnapshot(const std::string& name) override;
  Result<std::shared_ptr<VolumeHandle>> OpenSnapshot(const std::string& name) override;
  Status VisitChangedPages(const std::string& target, const std::string& base,
                           const std::function<Status(const PageRun&)>& fn) override;
  Result<std::unique_ptr<SnapshotPin>> PinSnapshot(const std::string& name) override;
  Status VisitPinnedChanges(const SnapshotPin& target, const SnapshotPin* base,
                            const std::function<Status(const PageRun&)>& fn) override;
  Status ReadPinnedChanges(SnapshotPin& target, const SnapshotPin* base,
                           const std::function<Status(PageBatch* batch)>& fn) override;
  // Whether `base` is an older snapshot of `target`'s own volume: then their difference is
  // what the volume wrote in between (VisitWrittenBetween).
  static bool OfOneVolume(const SnapshotState& target, const SnapshotState& base);
  // Calls `fn` in page order for each page the volume wrote after `base` up to `target`: with
  // the version `target` reads, or null for a discarded page where `base` held data.
  // REQUIRES: OfOneVolume(target, base).
  Status VisitWrittenBetween(
      const SnapshotState& target, const SnapshotState& base,
      const std::function<Status(uint64_t page, const PageVersion* version)>& fn);
  // Snapshot `name` if its key may be used now (what OpenSnapshot and PinSnapshot read).
  Result<std::shared_ptr<SnapshotState>> ReadableSnapshot(const std::string& name);
  // A pin went away: the last pin of a snapshot deleted meanwhile lets its pages go.
  // Marks a snapshot that left the catalog deleted and lets go of what only it kept; true
  // when a volume was purged (a checkpoint then frees its pages). REQUIRES: catalog_mu_.
  bool ForgetSnapshotLocked(SnapshotState& snap);
  void ReleasePin(const std::shared_ptr<SnapshotState>& snap);
  Result<std::unique_ptr<SnapshotImport>> BeginSnapshotImport(
      const std::string& name, const SnapshotImportOptions& options) override;
  // --- import.cc, for SnapshotImportImpl ---
  // Makes the hidden volume `vol` snapshot `name`, durably, and hides the volume for good.
  Result<SnapshotInfo> CommitImport(const std::string& name, const SnapshotImportOptions& options,
                                    const std::shared_ptr<VolumeState>& vol);
  // Gives up an import: its name is free again, its volume goes at the next checkpoint.
  void AbandonImport(const std::string& name, const std::shared_ptr<VolumeState>& vol);
  Result<VolumeInfo> CloneVolume(const std::string& source, const std::string& name,
                                 const CloneOptions& options) override;
  Result<VolumeInfo> RestoreSnapshot(const std::string& snapshot, const std::string& name,
                                     const CloneOptions& options) override;
  Result<RestoreWindow> GetRestoreWindow(const std::string& name) override;
  Result<RestoreWindow> GetRestoreWindowById(uint64_t volume_id) override;
  Result<VolumeInfo> RestoreVolumeToTime(const std::string& source, const std::string& name,
                                         std::optional<uint64_t> time_us,
                                         const CloneOptions& options) override;
  Result<VolumeInfo> RekeyVolume(const std::string& name, const std::string& kms_key) override;
  Result<VolumeInfo> UpdateVolumeTags(const std::string& name, const TagEdit& edit) override;
  Result<SnapshotInfo> UpdateSnapshotTags(const std::string& name, const TagEdit& edit) override;
  Result<VolumeInfo> RenameVolume(const std::string& name, const std::string& new_name) override;
  Result<VolumeInfo> SetBackupPolicy(const std::string& name, const BackupPolicy& policy) override;
  Result<SnapshotInfo> CreateAutomatedSnapshot(const std::string& volume,
                                               const std::string& name) override;
  KeyService& keys() override { return *key_service_; }
  std::unique_ptr<KeyService> KeysOf(const std::string& account) override;
  Result<CloneIntoResult> CloneInto(const std::string& source, const std::string& dest) override;
  Result<CloneIntoResult> RestoreSnapshotInto(const std::string& snapshot,
                                              const std::string& dest) override;
  Result<std::string> LoadDocument(std::string_view name) override;
  Status SaveDocument(std::string_view name, std::string_view bytes) override;
  Status Sync() override;
  Status GrowVolume(VolumeState& vol, uint64_t new_size);
  // Whether ResizeVolume may shrink `vol` to `new_size` under `options`. REQUIRES: vol.io_mu.
  Status CheckShrink(const VolumeState& vol, uint64_t new_size, const ResizeOptions& options);
  StoreUsage GetUsage() override;
  StoreStats GetStats() override;
  // For the handles: their I/O counters and the clock they time calls with.
  IoStats& io_stats() { return io_stats_; }
  Env* clock() const { return options_.env; }
  Status CollectGarbage() override;
  void SetChangeListener(ChangeListener listener) override { listener_ = std::move(listener); }

  // A copy of vol.info, taken under catalog_mu_ (for VolumeHandleImpl).
  VolumeInfo InfoOf(const VolumeState& vol);
  // Data path, used by VolumeHandleImpl. Offsets and lengths are in bytes and already checked
  // against the volume size.
  // Reads `vol` as of `epoch` (its current epoch, or a snapshot's).
  Status ReadBytes(const VolumeState& vol, uint64_t epoch, uint64_t offset, size_t n, char* buf);
  Status WriteBytes(VolumeState& vol, uint64_t offset, std::string_view data);
  Status DiscardBytes(VolumeState& vol, uint64_t offset, uint64_t length);

  // Writes everything in the page-map overlay to MetaDb and records the log position that
  // recovery starts from. Also carries out pending volume deletions.
  Status Checkpoint() { return CheckpointIfOver(0); }
  // Checkpoint() only if the overlay still holds more than `entries` once it is this caller's
  // turn: writers that queue up behind a running checkpoint then find the overlay small and
  // do not each run one of their own.
  Status CheckpointIfOver(size_t entries);

 private:
  // --- data path helpers (volume_io.cc) ---
  // How reads reach the records on disk: through the kernel's page cache (reads of a mounted
  // volume, which may well read the same pages again), or for scans that read each record once
  // (exports, copies) past it, into an aligned buffer the records are opened from in place,
  // which saves a copy of every byte and the cache's churn. kDirect reads small runs through
  // the cache all the same (their neighbours in the log come with the kernel's readahead).
  enum class ReadVia { kPageCache, kDirect };
  // Reads whole pages [first, first+count) at `epoch` into `out` (count * page_size bytes).
  Status ReadPages(const VolumeState& vol, uint64_t epoch, uint64_t first, uint32_t count,
                   char* out, ReadVia via = ReadVia::kPageCache);
  // ReadPages with the versions already looked up (nullopt: a page of zeros), `first` the page
  // of versions[0]. REQUIRES: segments_mu_ held shared (a version looked up before it was taken
  // may name a segment GC deleted since: that read fails, it never returns other bytes).
  Status ReadVersionsLocked(const VolumeState& vol, uint64_t first,
                            std::span<const std::optional<PageVersion>> versions, char* out,
                            ReadVia via = ReadVia::kPageCache);
  // `keys`: the data key of the previous record opened by this read (encrypted volumes).
  Status DecodeInto(const VolumeState& vol, uint64_t page, const PageVersion& version,
                    const char* record, char* out, VolumeKeyRing::OpenerCache* keys);
  Status WriteChunk(VolumeState& vol, uint64_t offset, std::string_view data);
  Status DiscardPages(VolumeState& vol, uint64_t first, uint64_t end);
  // Appends `records` and applies them to the page map. REQUIRES: the stripe locks of every
  // page they name are held.
  Status AppendAndApply(const VolumeState& vol, std::vector<PendingRecord>* records);
  // Applies one logged record of `vol` to the page map and the live-byte table (also used by
  // replay).
  Status ApplyRecord(const VolumeState& vol, const RecordHeader& h, const RecordLocation& loc);
  std::shared_ptr<VolumeState> FindVolumeById(uint64_t id);
  void AccountLive(const RecordLocation& added, const std::optional<MapValue>& replaced);
  void AccountLiveLocked(const RecordLocation& added,
                         const std::optional<MapValue>& replaced);  // REQUIRES: misc_mu_
  void MaybeCheckpointInline();

  // Stripe locks serialize writers of one page (read-modify-write, GC relocation).
  class StripeGuard;
  static constexpr size_t kStripes = 4096;
  static size_t StripeOf(uint64_t volume, uint64_t page);

  // --- catalog helpers (volumes.cc) ---
  // Writes a new root volume's record (and the counters) and returns its state, not yet in
  // the catalog. REQUIRES: catalog_mu_.
  Result<std::shared_ptr<VolumeState>> PersistRootVolume(const std::string& name,
                                                         const VolumeOptions& opts,
                                                         const std::string& kek,
                                                         VolumeStatus status);
  // What a snapshot of `vol` taken now records. REQUIRES: catalog_mu_ and vol's io_mu.
  // CreateSnapshot and CreateAutomatedSnapshot once the name is checked.
  Result<SnapshotInfo> TakeSnapshot(const std::string& volume, const std::string& name,
                                    const Tags& tags, SnapshotType type);
  SnapshotInfo SnapshotNow(const VolumeState& vol, const std::string& name, uint64_t id,
                           const Tags& tags);
  Result<std::shared_ptr<VolumeState>> FindVolume(const std::string& name);
  Status PersistVolume(const VolumeInfo& info);
  // Rewrites volume `name`'s catalog record with `edit` applied to a copy of it, in one synced
  // write, holding its io_mu exclusively (every other writer of the record does too) and
  // catalog_mu_; an error from `edit` or the write changes nothing.
  Result<VolumeInfo> EditVolumeRecord(const std::string& name,
                                      const std::function<Status(VolumeInfo*)>& edit);
  void Notify(const VolumeInfo& v, bool deleted);

  // --- snapshots.cc ---
  // The VolumeInfo of a new clone of `source_vol` seeing it at `parent_epoch`, its id and epoch
  // taken from `ids`; nothing is registered yet.
  // REQUIRES: the caller holds what keeps parent_epoch stable (the source's io_mu, or nothing
  // for a snapshot, which never changes).
  Result<VolumeInfo> AddClone(const std::shared_ptr<VolumeState>& source_vol, uint64_t parent_epoch,
                              const std::string& name, const std::string& source_snapshot,
                              Catalog::Reservation* ids);
  // A restore (from a snapshot, or to a time): registers and persists a new clone of
  // `source` seeing it at `epoch`, `size_bytes` long, encrypted under `kek` (empty: the
  // source's key). REQUIRES: catalog_mu_.
  Result<VolumeInfo> AddRestoredVolume(const std::shared_ptr<VolumeState>& source, uint64_t epoch,
                                       uint64_t size_bytes, const std::string& name,
                                       const std::string& source_snapshot, const std::string& kek,
                                       const Tags& tags);
  // CloneQuotaExceeded for a new clone of `source_name`'s lineage.
  static Status CloneQuotaError(const std::string& source_name);

  // --- clone_into.cc ---
  // Where a CloneInto takes its content from: a volume as of now (its io_mu held exclusively
  // by the caller) or a snapshot.
  struct CloneSource {
    std::shared_ptr<VolumeState> vol;
    std::shared_ptr<SnapshotState> snap;  // null for a volume
  };
  // CloneInto / RestoreSnapshotInto once the locks are held. REQUIRES: dest->io_mu (and a
  // volume source's io_mu) held exclusively, catalog_mu_ held.
  Result<CloneIntoResult> CloneIntoLocked(const CloneSource& src,
                                          const std::shared_ptr<VolumeState>& dest,
                                          uint64_t generation_seen);
  // A CloneInto target (an empty root volume) truncated after a sync still holds, for its
  // restore window, what it held before: the window ends (what dest was is not restorable as
  // the clone it becomes), and the versions only the window read are queued for removal.
  Status DropHistoryOf(VolumeState& dest);
  // The refusals that need no look at the page map. REQUIRES: catalog_mu_, dest->io_mu.
  Status CheckCloneIntoTarget(const CloneSource& src, const VolumeState& dest);
  // Purges hidden volumes that nothing depends on any more, walking up from `volume_id`.
  // REQUIRES: catalog_mu_
  void PurgeUnneededLocked(uint64_t volume_id);

  // --- encryption.cc ---
  // Opens the key store (locked without the root secret) and loads every volume's key ring.
  Status OpenEncryption();
  // How a new volume made from `source` (a clone, restore or CloneInto target `target_id`) is
  // encrypted: under `kms_key` (a usable key id, or empty for the source's key) with every
  // data key of the source re-wrapped for it by `account`, the target's owner (who needs
  // Decrypt on the source's key and ReEncrypt on the target's). Nothing when the source is not
  // encrypted; InvalidParameterCombination when it is not but a key is named. Changes nothing: the
  // caller persists the result with PutKeyRing and installs it with MakeKeyRing.
  struct InheritedKeys {
    bool encrypted = false;
    std::string kms_key_id;
    std::vector<crypto::WrappedDek> deks;
  };
  Result<InheritedKeys> InheritKeyRing(const VolumeState& source, uint64_t target_id,
                                       const std::string& kms_key, const std::string& account);
  // Adds `keys`' data keys for volume `volume_id` to `batch`, replacing what it held.
  static void PutKeyRing(uint64_t volume_id, const InheritedKeys& keys, MetaBatch* batch);
  // The in-memory ring for volume `v` (null when `keys` is not encrypted).
  std::shared_ptr<VolumeKeyRing> MakeKeyRing(const VolumeInfo& v, InheritedKeys keys);
  // The key id of KMS key `ref` (empty: the default key), as `account` names it (aliases and
  // the default key are per account), if it may be used now.
  Result<std::string> UsableKmsKey(const std::string& ref, const std::string& account);
  // The account owning the volume or snapshot named `store_name`: the ACCOUNT of ACCOUNT.NAME,
  // else the store owner's. The account its key ring acts as with the key store.
  std::string AccountOf(std::string_view store_name) const;
  // OK for an unencrypted volume; for an encrypted one, OK only while its KMS key is usable
  // (KMSKeyNotAccessible, naming `what` ("volume 'db'") and the key, otherwise). Checked when
  // a handle is opened.
  Status CheckKeyAccess(const VolumeState& vol, const std::string& what);
  // Replay: false (and a Corruption log line) for a record of an encrypted volume that is not
  // sealed, or a sealed discard whose tag fails; such a record was not written by the store.
  // Page images are authenticated when read.
  bool ReplayedRecordAuthentic(const VolumeState& vol, const RecordHeader& h,
                               std::string_view payload);
  // Blocks or unblocks every key ring wrapped by `key_id` after its state changed.
  void OnKeyStateChanged(const std::string& key_id);

  // --- restore_points.cc ---
  // Makes each volume written since its last restore point end its epoch at a new one (a
  // kRestorePoint record appended to the log). Sync() calls it before it syncs the log, so
  // the points become durable with the writes they cover.
  Status MarkRestorePoints();
  Status MarkRestorePoint(VolumeState& vol);
  // Notes a write or discard of `vol`: the next sync makes a restore point. REQUIRES: vol.io_mu
  // held (shared), so that a point being made waits for it.
  void NoteWritten(VolumeState& vol);
  // The point a new volume's window starts with (its image when created, `info` its record),
  // into its state and `batch`; points it had before go. REQUIRES: catalog_mu_ (or the state
  // not yet shared).
  void StartRestoreWindow(VolumeState& vol, const VolumeInfo& info, uint64_t time_us,
                          MetaBatch* batch);
  // Drops the points that left the window (all but the last one at or before its start); true
  // when any went (GC may then free what only they read). REQUIRES: catalog_mu_.
  bool TrimRestorePointsLocked(VolumeState& vol, uint64_t now_us);
  void TrimAllRestorePoints();
  // Wakes the GC thread for a pass now (what left a window is then freed at once).
  void RequestGc();
  // Ends `vol`'s window: its points go (a volume deleted without retained backups).
  // REQUIRES: catalog_mu_.
  void ClearRestorePointsLocked(VolumeState& vol);
  // VolumeUsage::backup_storage_bytes of `vol`: bytes of the versions it wrote that only its
  // restore window reads. Checkpoints first, then scans the lineage's stored versions.
  Result<uint64_t> BackupStorageBytes(const VolumeState& vol);
  // Whether automated snapshots of volume `volume_id` are in the catalog. REQUIRES: catalog_mu_.
  bool HasAutomatedSnapshotsLocked(uint64_t volume_id) const;
  // Replay of a kRestorePoint record.
  Status ReplayRestorePoint(VolumeState& vol, const RecordHeader& h, std::string_view payload);
  // The window of `vol` now. REQUIRES: catalog_mu_, !vol.points.empty().
  RestoreWindow WindowOfLocked(const VolumeState& vol, uint64_t now_us) const;
  // The volume a restore to time reads: a visible volume, else the newest deleted one of that
  // name that still has a window. REQUIRES: catalog_mu_.
  std::shared_ptr<VolumeState> RestoreSourceLocked(const std::string& name);

  // --- gc.cc ---
  // Finds page versions of a lineage that no volume or snapshot can read any more and queues
  // them for removal by the next checkpoint.
  Status CollectInvisibleVersions(uint64_t lineage_id);
  Status RelocateLiveRecords(uint32_t segment);
  Status DeleteDeadSegment(uint32_t segment);

  // --- checkpoint.cc --- the steps of CheckpointIfOver, in order
  struct CheckpointWork;
  Status LoadCheckpoint();
  // Freezes the overlay and takes the pending deletions and dead versions, appenders held off.
  void FreezeForCheckpoint(CheckpointWork* w);
  // The frozen entries to store, and what entries of deleted volumes free.
  void CollectFrozenChanges(CheckpointWork* w);
  // The map entries, catalog records and key rings of purged volumes; invisible versions.
  Status CollectPurges(CheckpointWork* w);
  // Map blocks, live-byte table and the new checkpoint position in one synced batch.
  Status WriteCheckpointBatch(CheckpointWork* w);
  // After a failed step: thaws the overlay and gives the pending work back for the next try.
  Status AbandonCheckpoint(CheckpointWork* w, Status why);
  bool CanDropTombstone(const MapKey& key);

  // --- background.cc ---
  void BackgroundLoop();  // log write-back each second, checkpoints
  void GcLoop();          // garbage collection once a minute when there is enough garbage

  const std::string dir_;
  const StoreOptions options_;
  Env* env() const { return options_.env; }
  StoreInfo info_;
  std::unique_ptr<FileLock> lock_;
  std::shared_ptr<MetaDb> db_;
  std::unique_ptr<SegmentLog> log_;
  std::unique_ptr<PageMap> map_;
  ChangeListener listener_;
  // Encryption: the key store (locked without its root secret), what every key ring shares,
  // and the owner account's view of the keys.
  std::unique_ptr<crypto::KeyStore> key_store_;
  EncryptionEnv encryption_;
  std::unique_ptr<KeyService> key_service_;

  std::mutex catalog_mu_;
  Catalog catalog_;  // GUARDED_BY(catalog_mu_)

  std::array<std::mutex, kStripes> stripes_;
  std::atomic<uint64_t> next_seq_{1};
  IoStats io_stats_;
  const uint64_t open_time_us_;
  // Appenders hold it shared from append to map update; a checkpoint's freeze holds it
  // exclusively, so that every record before the checkpoint position is in the frozen layer.
  std::shared_mutex ckpt_mu_;
  std::mutex checkpoint_mu_;  // one checkpoint at a time
  std::mutex gc_mu_;          // one GC pass at a time
  std::shared_mutex segments_mu_;
  LogPosition checkpoint_pos_;  // GUARDED_BY(checkpoint_mu_)

  // Restore points: volumes written since their last point (ids, each once), one marking pass
  // at a time (a sync that finds nothing to mark waits for one in progress, whose records it
  // must cover), the point records not yet in MetaDb (key, value; nullopt deletes), and when a
  // sync last ran (Env monotonic microseconds; the background thread syncs a dirty store).
  std::vector<uint64_t> dirty_volumes_;  // GUARDED_BY(misc_mu_)
  std::mutex marking_mu_;
  std::vector<std::pair<std::string, std::optional<std::string>>>
      pending_points_;  // GUARDED_BY(misc_mu_)
  std::atomic<uint64_t> last_sync_us_{0};
  // Set when restore points left a window: the GC thread's next pass looks for what they freed.
  std::atomic<bool> history_gc_wanted_{false};

  // Set when a catalog change was written without a WAL sync (growth by writes); Sync() then
  // syncs the metadata WAL too.
  std::atomic<bool> catalog_unsynced_{false};
  std::mutex misc_mu_;
  std::map<uint32_t, int64_t> live_;  // GUARDED_BY(misc_mu_) live record bytes per segment
  // Volumes to purge at the next checkpoint: (volume id, lineage id).
  std::vector<std::pair<uint64_t, uint64_t>> pending_deletes_;  // GUARDED_BY(misc_mu_)
  // Checkpointed map entries no reader can see any more, to delete at the next checkpoint.
  std::vector<std::pair<MapKey, MapValue>> pending_dead_;  // GUARDED_BY(misc_mu_)
  std::set<uint64_t> lineages_to_scan_;  // GUARDED_BY(misc_mu_) lineages with new garbage

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;  // wakes the flush-and-checkpoint thread
  std::condition_variable gc_cv_;  // wakes the GC thread
  bool stopping_ = false;          // GUARDED_BY(bg_mu_)
  bool gc_requested_ = false;      // GUARDED_BY(bg_mu_) RequestGc(): a GC pass now

  // Set by a writer when the overlay passed checkpoint_entries; cleared by the background
  // thread when it wakes. Atomic so that writers look at it without bg_mu_.
  std::atomic<bool> checkpoint_wanted_{false};
  std::thread bg_thread_;
  std::thread gc_thread_;
};

// Locks the stripes of pages [first, end) of one volume in index order (no deadlock between
// two guards); a range wider than the stripe table locks every stripe.
class StoreImpl::StripeGuard {
 public:
  StripeGuard(StoreImpl* store, uint64_t volume, uint64_t first, uint64_t end) : store_(store) {
    if (end - first >= kStripes) {
      for (size_t i = 0; i < kStripes; ++i) held_.push_back(i);
    } else {
      for (uint64_t p = first; p < end; ++p) held_.push_back(StripeOf(volume, p));
      std::sort(held_.begin(), held_.end());
      held_.erase(std::unique(held_.begin(), held_.end()), held_.end());
    }
    for (size_t i : held_) store_->stripes_[i].lock();
  }
  ~StripeGuard() {
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) store_->stripes_[*it].unlock();
  }

 private:
  StoreImpl* const store_;
  std::vector<size_t> held_;
};

}  // namespace clonefs::store
