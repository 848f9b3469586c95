// Store: one region's volumes on top of a copy-on-write, log-structured page store.
//
// A store is a directory (see docs/FORMAT.md): a lock file, a format file, RocksDB metadata
// (catalog and page map) and append-only segment files holding page records. One process at a
// time opens a store (the daemon or a direct `clonectl`); inside it every method is thread-safe.
//
// Durability contract: a Write() that returned OK is visible to every later Read(); once a
// Sync() that started after it returns OK, it also survives a crash of the process or machine.
// Catalog changes (create, resize, delete) are durable when they return.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/result.h"
#include "store/types.h"

namespace clonefs::crypto {
class RootSecret;
}  // namespace clonefs::crypto

namespace clonefs::store {

class KeyService;
class MetaDb;
class SegmentStore;

struct VolumeOptions {
  uint64_t size_bytes = 0;                // must be a positive multiple of 512 (a sector)
  uint32_t page_size = kDefaultPageSize;  // a power of two in [4 KiB, 64 KiB]
  Compression compression = Compression::kNone;
  // Encryption (docs/ENCRYPTION.md): pages sealed with AES-256-GCM under data keys wrapped by
  // the KMS key `kms_key` (a key id, ARN, alias/NAME or NAME; empty: the account's default
  // key). A non-empty kms_key implies encrypted.
  bool encrypted = false;
  std::string kms_key = {};
  Tags tags = {};  // the new volume's tags
  // Automated backups (store/backup_policy.h): retention 1-35 days; no window: the volume's
  // DefaultBackupWindow.
  uint32_t backup_retention_days = kDefaultBackupRetentionDays;
  std::optional<BackupWindow> backup_window = std::nullopt;
};

// How a clone or restore is encrypted. An encrypted source's clone is always encrypted: under
// the source's KMS key, or under `kms_key` when given (the source's data keys are then
// re-wrapped, no page is rewritten). A clone of an unencrypted source cannot name a key.
struct CloneOptions {
  std::string kms_key = {};
  Tags tags = {};  // the new volume's tags (a clone inherits none of its source's)
};

// How ResizeVolume may shrink. The defaults are a truncate's (the mount's ftruncate and
// O_TRUNC, whose caller holds the volume open); an administrator's resize asks for both checks,
// as `rbd resize` does.
struct ResizeOptions {
  // False: shrinking is refused (InvalidParameterCombination) and nothing changes.
  bool allow_shrink = true;
  // True: shrinking a volume with an open handle (a loop device, a mounted filesystem, a
  // reader) is refused (InvalidVolumeState), as DeleteVolume refuses it.
  bool refuse_shrink_in_use = false;
};

// A change of a volume's or snapshot's tags (Store::UpdateVolumeTags): the new tags, from the
// current ones. An error leaves them as they are.
using TagEdit = std::function<Result<Tags>(const Tags& current)>;

// What the catalog knows about one volume. A value type: a copy, not a live view.
// Space a volume uses. Pages it reads are either its own (written by it) or shared (inherited
// from the volume or snapshot it was cloned from).
struct VolumeUsage {
  uint64_t logical_bytes = 0;  // the volume's size
  uint64_t mapped_pages = 0;   // pages with stored data (zero pages and holes excluded)
  uint64_t stored_bytes = 0;   // bytes of the records of those pages (after compression)
  uint64_t owned_pages = 0;    // pages this volume wrote itself
  uint64_t owned_bytes = 0;
  uint64_t shared_pages = 0;  // pages inherited from its source
  uint64_t shared_bytes = 0;
  // owned_bytes plus this volume's share of pages whose writer was deleted: like Aurora, such
  // storage is divided equally among the volumes that still read it.
  uint64_t attributed_bytes = 0;
  // Bytes of page versions this volume wrote that only its restore window still reads (not the
  // volume now, nor a snapshot or clone): what point-in-time restore costs.
  uint64_t backup_storage_bytes = 0;
};

// The span of wall-clock times (microseconds) a volume can be restored to, both ends included.
struct RestoreWindow {
  uint64_t earliest_us = 0;
  uint64_t latest_us = 0;
};

struct StoreUsage {
  uint64_t segment_count = 0;
  uint64_t segment_bytes = 0;  // bytes in segment files
  uint64_t live_bytes = 0;     // bytes of records something can still read
  uint64_t garbage_bytes = 0;  // segment_bytes - live_bytes, reclaimed by GC
};

// One kind of volume I/O since the store was opened: calls, bytes, failed calls, and latency
// quantiles in microseconds (upper bounds of power-of-two buckets, so within 2x; max exact),
// measured from the call into the store to its return (the mount's own time not included).
struct OpStats {
  uint64_t count = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  uint64_t p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

struct StoreStats {
  uint64_t open_time_us = 0;  // wall time the store was opened
  uint64_t now_us = 0;        // wall time of these figures
  OpStats reads, writes, discards, syncs;
  StoreUsage usage;
  // Metadata lookups the block cache answered / that read the disk.
  uint64_t cache_hits = 0, cache_misses = 0;
  uint64_t gc_passes = 0, gc_segments_deleted = 0, gc_bytes_reclaimed = 0;
  uint64_t gc_last_pass_us = 0;  // 0: no pass yet
  uint64_t checkpoints = 0;
  uint64_t volumes = 0, snapshots = 0;
};

struct StoreOptions {
  Env* env = Env::Default();
  // Memory budget for metadata caches (RocksDB block cache and memtables) and write buffers.
  uint64_t cache_bytes = 512ull << 20;
  // A segment file is sealed and a new one started at this size.
  uint64_t segment_bytes = 64ull << 20;
  // About how many segment file handles stay open, however many segments there are: idle
  // ones are closed and reopen on their next use (store/log/file_handle_budget.h).
  size_t max_open_segment_files = 256;
  // Page-map entries kept in memory before they are checkpointed into RocksDB.
  size_t checkpoint_entries = 1 << 16;
  // Run checkpoints and garbage collection on a background thread.
  bool background_threads = true;
  // The key store's root secret (key file or passphrase). Null or none: the key store opens
  // locked, unencrypted volumes work and encrypted ones are refused (KMSKeyNotAccessible).
  std::shared_ptr<const crypto::RootSecret> root_secret;
  // Where page records and metadata live. Null: in the store directory, segment files in
  // segments/ (through `env`) and RocksDB in meta/. Tests pass memory ones
  // (store/log/memory_segment_store.h, store/meta/memory_meta_db.h); other backends plug in
  // here. The same ones must be passed to Create() and every Open() of the store.
  std::shared_ptr<SegmentStore> segment_store;
  std::shared_ptr<MetaDb> meta_db;
  // Point-in-time restore: every durable sync after writes is a restore point. Off, syncs make
  // none (a baseline for benchmarks) and windows end at the last one made.
  bool restore_points = true;
};

// Reads and writes one volume. Obtained from Store::OpenVolume(); thread-safe; follows resizes
// (size()). While any handle is open the volume (or snapshot) cannot be deleted: deleting it
// fails with InvalidVolumeState (InvalidSnapshotState), as an attached block device would.
class VolumeHandle {
 public:
  virtual ~VolumeHandle() = default;
  // Reads [offset, offset+n) into `buf`; bytes past the end of the volume are an error.
  // Unwritten ranges read as zeros. A record that fails its check is Corruption (never bytes).
  virtual Status Read(uint64_t offset, size_t n, char* buf) = 0;
  // Writes `data` at `offset`; pages of zeros store nothing. NoSpace leaves the old data intact.
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  // Zeroes [offset, offset+length) and frees the whole pages inside it (punch hole / discard).
  virtual Status Discard(uint64_t offset, uint64_t length) = 0;
  // Makes every write acknowledged before this call durable.
  virtual Status Sync() = 0;
  // Grows the volume to at least `new_size` (rounded up to 512 bytes) for a write past its end,
  // the way a regular file grows. Cheap: durable with the next Sync(), not before.
  virtual Status Grow(uint64_t new_size) = 0;
  virtual uint64_t size() const = 0;
  virtual bool read_only() const = 0;
  virtual const VolumeInfo& info() const = 0;  // as of open (size may be stale: use size())
  // A counter that moves whenever the volume's content or size may have changed: a write, a
  // discard, a resize or growth (even a failed one), or Store::CloneInto() making it a clone.
  // Constant for a snapshot. Equal values at two moments mean nothing changed in between, so a
  // caller can tell that data it knows about is still current without reading it again.
  virtual uint64_t generation() const = 0;
};

// What Store::CloneInto() did: the destination as it is now, and the generation() of both sides
// right after it became a clone, taken in the same instant.
// A run of a snapshot's pages: `count` pages from `first` that hold data, or that read as
// zeros where an older snapshot held data (Store::VisitChangedPages).
struct PageRun {
  uint64_t first = 0;
  uint64_t count = 0;
  bool zeros = false;
  bool operator==(const PageRun&) const = default;
};

// Runs in page order with the pages of its data runs back to back in `pages` (count * page
// size bytes each; a run of zeros has none): what Store::ReadPinnedChanges hands over.
struct PageBatch {
  std::vector<PageRun> runs;
  std::string pages;
};

// How Store::BeginSnapshotImport makes a snapshot: the volume it is a snapshot of (size, page
// size, compression, encryption), what it shows as its VolumeIdentifier, and its tags.
struct SnapshotImportOptions {
  VolumeOptions volume;
  std::string volume_name;
  Tags tags;
  std::string source_snapshot_arn;  // recorded in the snapshot (SnapshotInfo)
  std::string source_identity;
};

// A snapshot coming from outside the store (an export stream, a copy from another region). Its
// pages are written through volume(); nothing of it is visible until Commit() makes it an
// available manual snapshot in one durable step. Destroyed without a Commit(), or cut short by a
// crash, it leaves nothing behind. Not thread-safe; must not outlive its Store.
class SnapshotImport {
 public:
  virtual ~SnapshotImport() = default;
  virtual VolumeHandle& volume() = 0;
  virtual Result<SnapshotInfo> Commit() = 0;
};

// A snapshot held for reading whatever happens to its name (Store::PinSnapshot): a copy or an
// export in progress reads the version it started from even if the snapshot is deleted
// meanwhile. Its pages stay readable (GC keeps them) until the pin is destroyed. Not
// thread-safe; must not outlive its Store.
class SnapshotPin {
 public:
  virtual ~SnapshotPin() = default;
  virtual const SnapshotInfo& info() const = 0;  // as it was when pinned
  virtual VolumeHandle& reader() = 0;            // read-only
};

struct CloneIntoResult {
  VolumeInfo volume;
  uint64_t source_generation = 0;
  uint64_t dest_generation = 0;
};

class Store {
 public:
  virtual ~Store() = default;  // checkpoints and releases the lock

  // Creates an empty store in `dir` (created if missing; must be empty if it exists), with
  // the backends of `options` (env, segment_store, meta_db; the rest is unused).
  static Status Create(const std::string& dir, const std::string& region,
                       const StoreOptions& options);
  // The same in the default backends, through `env`.
  static Status Create(const std::string& dir, const std::string& region, Env* env);
  // Opens an existing store, recovering from the segment log after a crash.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options);
  // True when `dir` looks like a store (has its format file).
  static bool IsStore(Env* env, const std::string& dir);

  virtual const StoreInfo& info() const = 0;

  // Catalog. Names follow Aurora identifier rules (ValidateName in types.h).
  virtual Result<VolumeInfo> CreateVolume(const std::string& name, const VolumeOptions& opts) = 0;
  virtual Result<VolumeInfo> GetVolume(const std::string& name) = 0;
  virtual Result<VolumeInfo> GetVolumeById(uint64_t id) = 0;
  virtual std::vector<VolumeInfo> ListVolumes() = 0;  // sorted by name
  // Grows or shrinks; shrinking discards the pages past the new end.
  virtual Result<VolumeInfo> ResizeVolume(const std::string& name, uint64_t new_size,
                                          const ResizeOptions& options) = 0;
  Result<VolumeInfo> ResizeVolume(const std::string& name, uint64_t new_size) {
    return ResizeVolume(name, new_size, ResizeOptions{});
  }
  // Deletes the volume and frees its pages; a volume that clones or snapshots still read stays
  // hidden until they are gone. InvalidVolumeState while a handle is open.
  virtual Status DeleteVolume(const std::string& name) = 0;
  virtual Result<VolumeUsage> GetVolumeUsage(const std::string& name) = 0;

  virtual Result<std::shared_ptr<VolumeHandle>> OpenVolume(const std::string& name) = 0;

  // Snapshots and clones: all O(1), copying no page and no map entry.
  // A snapshot holds every write acknowledged before the call and none that started after it
  // returned. SnapshotAlreadyExists / VolumeNotFound / InvalidParameterValue on bad input.
  virtual Result<SnapshotInfo> CreateSnapshot(const std::string& volume, const std::string& name,
                                              const Tags& tags) = 0;
  // An automated snapshot (SnapshotType kAutomated) of `volume` as CreateSnapshot takes one,
  // named [ACCOUNT.]auto:VOLUME-YYYY-MM-DD-HH-MM (ValidateAutomatedSnapshotStoreName), recording
  // the volume's retention. Taken by the daemon's backup schedule.
  virtual Result<SnapshotInfo> CreateAutomatedSnapshot(const std::string& volume,
                                                       const std::string& name) = 0;
  virtual Result<SnapshotInfo> GetSnapshot(const std::string& name) = 0;
  virtual std::vector<SnapshotInfo> ListSnapshots() = 0;  // sorted by name
  virtual Status DeleteSnapshot(const std::string& name) = 0;
  // A read-only handle: writes fail with ReadOnly.
  virtual Result<std::shared_ptr<VolumeHandle>> OpenSnapshot(const std::string& name) = 0;
  // Calls `fn` in page order with the runs of snapshot `target` that hold data. With a `base`
  // (a snapshot of the same lineage; InvalidParameterCombination otherwise), only the runs
  // whose content differs from base's: pages written since, and (zeros) pages that base held
  // and target reads as zeros. The cost follows the map entries of the two snapshots, not their
  // size: holes cost nothing. What export streams are made of.
  virtual Status VisitChangedPages(const std::string& target, const std::string& base,
                                   const std::function<Status(const PageRun&)>& fn) = 0;
  // Pins snapshot `name` (SnapshotPin). Unlike a handle from OpenSnapshot(), a pin does not
  // hold off DeleteSnapshot(): a snapshot deleted while pinned leaves the catalog at once (its
  // name is free, it is durably gone) and its pages go when the last pin does.
  virtual Result<std::unique_ptr<SnapshotPin>> PinSnapshot(const std::string& name) = 0;
  // VisitChangedPages() of pinned snapshots: `base` may be null (every run holding data).
  virtual Status VisitPinnedChanges(const SnapshotPin& target, const SnapshotPin* base,
                                    const std::function<Status(const PageRun&)>& fn) = 0;
  // The same runs with their data, in batches (PageBatch) of at most 256 data pages and 1024
  // runs, in page order: many small runs travel together. Each page is read once, where the
  // visit found it, not looked up again: what an export reads. `fn` may keep a batch without a
  // copy by swapping another one (of any content) into `*batch`.
  virtual Status ReadPinnedChanges(SnapshotPin& target, const SnapshotPin* base,
                                   const std::function<Status(PageBatch* batch)>& fn) = 0;
  // Starts filling snapshot `name` (see SnapshotImport). The name is taken from now on:
  // SnapshotAlreadyExists for it until the import is committed or given up.
  virtual Result<std::unique_ptr<SnapshotImport>> BeginSnapshotImport(
      const std::string& name, const SnapshotImportOptions& options) = 0;
  // A writable copy-on-write clone of `source` as of now; CloneQuotaExceeded past 15 per lineage.
  // Encryption follows `options` (CloneOptions); InvalidParameterCombination for a key named
  // for an unencrypted source.
  virtual Result<VolumeInfo> CloneVolume(const std::string& source, const std::string& name,
                                         const CloneOptions& options = {}) = 0;
  // A writable copy-on-write volume whose content is the snapshot's.
  virtual Result<VolumeInfo> RestoreSnapshot(const std::string& snapshot, const std::string& name,
                                             const CloneOptions& options = {}) = 0;
  // Point-in-time restore. The times volume `name` can be restored to; `name` may also be a
  // deleted volume whose automated backups were retained (its window then ends at its deletion).
  virtual Result<RestoreWindow> GetRestoreWindow(const std::string& name) = 0;
  // The same by volume id (the id a snapshot records), visible or deleted with retained backups.
  virtual Result<RestoreWindow> GetRestoreWindowById(uint64_t volume_id) = 0;
  // A writable copy-on-write volume whose content is `source`'s image as of its last durable
  // sync at or before `time_us` (wall-clock microseconds), or at its latest restorable time when
  // `time_us` is nullopt: O(1), like a clone. A time outside the window is InvalidRestoreTime,
  // naming the window. Encryption as for CloneVolume.
  virtual Result<VolumeInfo> RestoreVolumeToTime(const std::string& source, const std::string& name,
                                                 std::optional<uint64_t> time_us,
                                                 const CloneOptions& options = {}) = 0;
  // Makes the existing volume `dest` what CloneVolume(source, ...) would create, in place: a
  // copy-on-write clone of volume `source` as of now (same point-in-time guarantee, same
  // quota: CloneQuotaExceeded past 15 per lineage), with the source's size, page size and
  // compression. O(1) like CloneVolume. `dest` keeps its id, name and open handles, which read
  // the clone from then on. This is how a mount turns `cp SOURCE DEST` into a clone.
  // Only a volume that holds nothing qualifies: a root volume (not itself a clone or restore)
  // with no snapshot or clone of its own and no page stored, not even a discarded one (its
  // discards are forgotten by the checkpoint this call runs, if nothing older shows through).
  // Anything else is refused with InvalidVolumeState and left untouched, as is a source that
  // is a clone created after `dest` (the catalog loads parents first). InvalidParameterValue
  // when source == dest.
  virtual Result<CloneIntoResult> CloneInto(const std::string& source, const std::string& dest) = 0;
  // The same with a snapshot's content, like RestoreSnapshot.
  virtual Result<CloneIntoResult> RestoreSnapshotInto(const std::string& snapshot,
                                                      const std::string& dest) = 0;

  // Re-wraps every data key of an encrypted volume under the KMS key `kms_key`: O(number of
  // data keys), no page is touched. Its snapshots follow it; its clones keep their own keys.
  virtual Result<VolumeInfo> RekeyVolume(const std::string& name, const std::string& kms_key) = 0;
  // Tags (the rules are the caller's: base/tags.h). Replaces the tags of volume (snapshot)
  // `name` with edit(its tags) in one synced catalog write, atomic with respect to every other
  // change of it; any error (edit's, VolumeNotFound / SnapshotNotFound, an I/O error) changes
  // nothing. Answers with the volume (snapshot) as it is afterwards.
  virtual Result<VolumeInfo> UpdateVolumeTags(const std::string& name, const TagEdit& edit) = 0;
  // Gives volume `name` the name `new_name` (same account: AccountOfStoreName), as `mv` does:
  // its id, pages, snapshots (which keep the volume name they were taken of), clones and open
  // handles stay as they are. One synced catalog write; VolumeNotFound, VolumeAlreadyExists,
  // InvalidArgument (a bad name, another account's) or an I/O error change nothing. The change
  // listener hears of the volume under its old name and then under the new one.
  virtual Result<VolumeInfo> RenameVolume(const std::string& name, const std::string& new_name) = 0;
  virtual Result<SnapshotInfo> UpdateSnapshotTags(const std::string& name, const TagEdit& edit) = 0;
  // Replaces volume `name`'s backup policy in one synced catalog write (InvalidArgument for a
  // retention outside 1-35 days or a window shorter than 30 minutes, changing nothing).
  virtual Result<VolumeInfo> SetBackupPolicy(const std::string& name,
                                             const BackupPolicy& policy) = 0;

  // The store's key store (KMS keys), as the store owner's account. Never null.
  virtual KeyService& keys() = 0;
  // The key store as `account` sees it (its own keys and those shared with it); a disabled key
  // takes effect on the open volumes as through keys().
  virtual std::unique_ptr<KeyService> KeysOf(const std::string& account) = 0;

  // Documents: small opaque blobs that the layers above the store keep in its metadata (the
  // account registry's "accounts"), so they live wherever the store's metadata does, whatever
  // the backend. `name` is 1 to 64 letters, digits, '-', '_' or '.'; InvalidArgument otherwise.
  // NotFound when the document was never saved.
  virtual Result<std::string> LoadDocument(std::string_view name) = 0;
  // Replaces document `name` with `bytes` in one step: after a crash it is either the old or the
  // new bytes. Durable when it returns OK.
  virtual Status SaveDocument(std::string_view name, std::string_view bytes) = 0;

  // Makes every acknowledged write of every volume durable.
  virtual Status Sync() = 0;
  virtual StoreUsage GetUsage() = 0;
  // I/O, cache and GC figures since open (clonectl store stats, the daemon's metrics file).
  virtual StoreStats GetStats() = 0;
  // Runs one full garbage-collection pass now (compacts segments, deletes dead ones).
  virtual Status CollectGarbage() = 0;

  // Called (from the thread that made the change) after a volume is created, resized or
  // deleted, so that a mount can drop cached names and sizes. Set once, before serving.
  using ChangeListener = std::function<void(const VolumeInfo& volume, bool deleted)>;
  virtual void SetChangeListener(ChangeListener listener) = 0;
};

}  // namespace clonefs::store
