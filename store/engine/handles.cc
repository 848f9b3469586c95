// The two kinds of VolumeHandle: a volume's (read-write, checked against its size and state on
// every call) and a snapshot's (read-only, at the snapshot's epoch).
#include "store/engine/handles.h"

#include "base/error_names.h"
#include "store/engine/store_impl.h"

namespace clonefs::store {
namespace {

// Counts one call into `counters` when it returns, with its latency on the store's monotonic
// clock; Done() notes whether it failed.
class Timed {
 public:
  Timed(StoreImpl* store, OpCounters* counters, uint64_t bytes)
      : store_(store),
        counters_(counters),
        bytes_(bytes),
        start_(store->clock()->MonotonicMicros()) {}
  ~Timed() { counters_->Record(bytes_, store_->clock()->MonotonicMicros() - start_, ok_); }
  Status Done(Status s) {
    ok_ = s.ok();
    return s;
  }

 private:
  StoreImpl* const store_;
  OpCounters* const counters_;
  const uint64_t bytes_;
  const uint64_t start_;
  bool ok_ = true;
};

class VolumeHandleImpl final : public VolumeHandle {
 public:
  VolumeHandleImpl(StoreImpl* store, std::shared_ptr<VolumeState> vol)
      : store_(store), vol_(std::move(vol)), info_(store_->InfoOf(*vol_)) {
    vol_->open_handles++;
  }
  ~VolumeHandleImpl() override { vol_->open_handles--; }

  Status Read(uint64_t offset, size_t n, char* buf) override {
    Timed t(store_, &store_->io_stats().reads, n);
    // Shared, so that CloneInto (exclusive) never changes the volume's read view mid-read.
    std::shared_lock<std::shared_mutex> l(vol_->io_mu);
    if (vol_->deleted) return t.Done(errors::VolumeNotFound(vol_->info.name));
    CLONEFS_RETURN_IF_ERROR(t.Done(CheckRange(offset, n, "read")));
    return t.Done(store_->ReadBytes(*vol_, vol_->epoch, offset, n, buf));
  }
  Status Write(uint64_t offset, std::string_view data) override {
    Timed t(store_, &store_->io_stats().writes, data.size());
    std::shared_lock<std::shared_mutex> l(vol_->io_mu);
    if (vol_->deleted) return t.Done(errors::VolumeNotFound(vol_->info.name));
    CLONEFS_RETURN_IF_ERROR(t.Done(CheckRange(offset, data.size(), "write")));
    vol_->generation++;  // before the first byte changes: see VolumeHandle::generation()
    return t.Done(store_->WriteBytes(*vol_, offset, data));
  }
  Status Discard(uint64_t offset, uint64_t length) override {
    Timed t(store_, &store_->io_stats().discards, length);
    std::shared_lock<std::shared_mutex> l(vol_->io_mu);
    if (vol_->deleted) return t.Done(errors::VolumeNotFound(vol_->info.name));
    uint64_t size = vol_->size;
    if (offset >= size) return t.Done(Status::OK());
    vol_->generation++;
    return t.Done(store_->DiscardBytes(*vol_, offset, std::min(length, size - offset)));
  }
  Status Sync() override {
    Timed t(store_, &store_->io_stats().syncs, 0);
    return t.Done(store_->Sync());
  }
  Status Grow(uint64_t new_size) override { return store_->GrowVolume(*vol_, new_size); }
  uint64_t size() const override { return vol_->size; }
  bool read_only() const override { return false; }
  // A copy: the live record changes under catalog_mu_ (a rename, a rekey, tags).
  const VolumeInfo& info() const override { return info_; }
  uint64_t generation() const override { return vol_->generation; }

 private:
  Status CheckRange(uint64_t offset, uint64_t n, const char* what) const {
    uint64_t size = vol_->size;
    if (offset > size || n > size - offset) {
      return Status::InvalidArgument(std::string(what) + " of " + std::to_string(n) + " bytes at " +
                                     std::to_string(offset) + " goes past the end of volume '" +
                                     vol_->info.name + "'");
    }
    return Status::OK();
  }

  StoreImpl* const store_;
  const std::shared_ptr<VolumeState> vol_;
  const VolumeInfo info_;
};

class SnapshotHandle final : public VolumeHandle {
 public:
  ~SnapshotHandle() override {
    if (counted_) snap_->open_handles--;
  }
  // `counted`: in open_handles (an OpenSnapshot handle); a pin's reader is not.
  SnapshotHandle(StoreImpl* store, std::shared_ptr<SnapshotState> snap, bool counted)
      : store_(store), snap_(std::move(snap)), counted_(counted) {
    if (counted_) snap_->open_handles++;
    info_ = snap_->vol->info;
    info_.name = snap_->info.name;
    info_.size_bytes = snap_->info.size_bytes;
    info_.tags.clear();  // the volume's, not the snapshot's
  }
  Status Read(uint64_t offset, size_t n, char* buf) override {
    Timed t(store_, &store_->io_stats().reads, n);
    if (snap_->deleted) return t.Done(errors::SnapshotNotFound(snap_->info.name));
    if (offset > snap_->info.size_bytes || n > snap_->info.size_bytes - offset) {
      return t.Done(
          Status::InvalidArgument("read goes past the end of snapshot '" + snap_->info.name + "'"));
    }
    return t.Done(store_->ReadBytes(*snap_->vol, snap_->info.epoch, offset, n, buf));
  }
  Status Write(uint64_t, std::string_view) override { return ReadOnly(); }
  Status Discard(uint64_t, uint64_t) override { return ReadOnly(); }
  Status Sync() override { return Status::OK(); }
  Status Grow(uint64_t) override { return ReadOnly(); }
  uint64_t size() const override { return snap_->info.size_bytes; }
  bool read_only() const override { return true; }
  const VolumeInfo& info() const override { return info_; }
  uint64_t generation() const override { return 0; }  // a snapshot never changes

 private:
  Status ReadOnly() const {
    return Status::ReadOnly("snapshot '" + snap_->info.name + "' is read-only");
  }
  StoreImpl* const store_;
  const std::shared_ptr<SnapshotState> snap_;
  const bool counted_;
  VolumeInfo info_;
};

class SnapshotPinImpl final : public SnapshotPin {
 public:
  SnapshotPinImpl(StoreImpl* store, std::shared_ptr<SnapshotState> snap, SnapshotInfo info)
      : store_(store),
        snap_(std::move(snap)),
        info_(std::move(info)),
        reader_(store_, snap_, /*counted=*/false) {
    snap_->pins++;
  }
  ~SnapshotPinImpl() override { store_->ReleasePin(snap_); }
  const SnapshotInfo& info() const override { return info_; }
  VolumeHandle& reader() override { return reader_; }
  const std::shared_ptr<SnapshotState>& state() const { return snap_; }

 private:
  StoreImpl* const store_;
  const std::shared_ptr<SnapshotState> snap_;
  const SnapshotInfo info_;
  SnapshotHandle reader_;
};

}  // namespace

std::shared_ptr<VolumeHandle> NewVolumeHandle(StoreImpl* store, std::shared_ptr<VolumeState> vol) {
  return std::make_shared<VolumeHandleImpl>(store, std::move(vol));
}

std::shared_ptr<VolumeHandle> NewSnapshotHandle(StoreImpl* store,
                                                std::shared_ptr<SnapshotState> snap) {
  return std::make_shared<SnapshotHandle>(store, std::move(snap), /*counted=*/true);
}

std::unique_ptr<SnapshotPin> NewSnapshotPin(StoreImpl* store, std::shared_ptr<SnapshotState> snap,
                                            SnapshotInfo info) {
  return std::make_unique<SnapshotPinImpl>(store, std::move(snap), std::move(info));
}

const std::shared_ptr<SnapshotState>* PinnedState(const SnapshotPin& pin) {
  const auto* mine = dynamic_cast<const SnapshotPinImpl*>(&pin);
  return mine == nullptr ? nullptr : &mine->state();
}

}  // namespace clonefs::store
