// The in-memory state of one volume and one snapshot, shared by the catalog and every open
// handle, and a record on its way into the log.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/keys/volume_key_ring.h"
#include "store/log/record.h"
#include "store/map/page_map.h"
#include "store/types.h"

namespace clonefs::store {

// (volume id, epoch) of a clone's parent, grandparent, ...: where its reads fall through to.
using Ancestors = std::vector<std::pair<uint64_t, uint64_t>>;

// One volume's live state.
struct VolumeState {
  explicit VolumeState(VolumeInfo i)
      : info(std::move(i)), size(info.size_bytes), epoch(info.epoch) {}
  // What a read of this volume at `at_epoch` sees: itself up to that epoch, then its ancestors.
  ReadView View(uint64_t at_epoch) const {
    ReadView v{info.lineage_id, {{info.id, at_epoch}}};
    v.chain.insert(v.chain.end(), ancestors.begin(), ancestors.end());
    return v;
  }
  VolumeInfo info;  // GUARDED_BY(StoreImpl::catalog_mu_) for the mutable fields
  // Fixed when the volume is created, or when CloneInto makes an empty root volume a clone.
  // That is the one change to lineage_id, parent_*, page_size, compression and ancestors after
  // creation; it holds io_mu exclusively (no handle I/O in flight), catalog_mu_ and every
  // stripe lock (no GC relocation in flight).
  Ancestors ancestors;
  // Encrypted volumes only: the data keys that sealed the records it reads. Set when the volume
  // is created or loaded, or by CloneInto (under the same locks as `ancestors`).
  std::shared_ptr<VolumeKeyRing> ring;
  std::atomic<uint64_t> size;
  std::atomic<uint64_t> epoch;
  std::atomic<bool> deleted{false};
  std::atomic<int> open_handles{0};
  // Its restore window, oldest first: a point at its creation, then one at each durable sync
  // that followed writes. GUARDED_BY(StoreImpl::catalog_mu_)
  std::deque<RestorePoint> points;
  // Set by a write or discard; cleared when a sync makes them a restore point.
  std::atomic<bool> written_since_point{false};
  // VolumeHandle::generation(): bumped before every write, discard, resize or growth starts.
  std::atomic<uint64_t> generation{0};
  // Reads, writes and discards through a handle hold it shared; resize, growth, delete, the
  // epoch switch of a snapshot or clone, and CloneInto hold it exclusively.
  std::shared_mutex io_mu;
};

struct SnapshotState {
  SnapshotState(SnapshotInfo i, std::shared_ptr<VolumeState> v)
      : info(WithoutTags(std::move(i), &tags)), vol(std::move(v)) {}
  // Its tags, the one thing of a snapshot that changes (UpdateSnapshotTags).
  // GUARDED_BY(StoreImpl::catalog_mu_). Declared before `info`, which hands them over.
  Tags tags;
  // Fixed at creation. info.tags is always empty: `tags` has them.
  const SnapshotInfo info;
  const std::shared_ptr<VolumeState> vol;  // the source volume (maybe hidden by now)
  std::atomic<bool> deleted{false};
  std::atomic<int> open_handles{0};
  // SnapshotPins alive, and whether the snapshot was deleted while pinned (it is then out of
  // the catalog's names but still read: Catalog::pinned()). GUARDED_BY(StoreImpl::catalog_mu_).
  int pins = 0;
  bool unlisted = false;

 private:
  static SnapshotInfo WithoutTags(SnapshotInfo i, Tags* tags) {
    *tags = std::move(i.tags);
    i.tags.clear();
    return i;
  }
};

// A record waiting to be appended: its header (seq assigned) and payload. The payload is
// either owned (`payload`) or, to save a copy of a page image that is already in the caller's
// buffer, borrowed (`borrowed`, used when set).
struct PendingRecord {
  RecordHeader header;
  std::string payload;
  std::string_view borrowed;
  std::string_view bytes() const { return borrowed.data() != nullptr ? borrowed : payload; }
};

}  // namespace clonefs::store
