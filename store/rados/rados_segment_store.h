// RadosSegmentStore: the segment log's segments as RADOS objects, one object per segment, named
// "seg.<id, 10 digits>" in the namespace of a RadosCluster (so a store owns a namespace, and
// other objects there, which are not segments, are left alone).
//
// What a RADOS object gives, against what the SegmentStore contract asks:
//   - A write, create, truncate or remove returns only once the OSDs of the acting set have
//     committed it to their stores (librados completes an operation on commit; Luminous dropped
//     the earlier "ack before commit" stage). So each call is durable when it returns, and
//     Sync() and SyncNames() have nothing left to do: both are no-ops.
//   - One operation on one object is atomic: a write is never torn, so no alignment is needed
//     (write_alignment() is 1: the log writes each record once, with no zero-padded blocks).
//   - An object is at most osd_max_object_size (128 MiB by default): Open refuses a segment
//     size above the cluster's, and a write past it fails with a message that says so.
//   - Writes and truncates assert that the object exists, so a stale handle of a deleted segment
//     gets NotFound instead of bringing the segment back.
//   - Writes and deletes are sent with FULL_TRY: on a full cluster (or pool over quota)
//     librados would otherwise hold them until there is room, i.e. until the op timeout; this
//     way writes fail at once with NoSpace, which the log reports as it does a full disk, and
//     deletes (which the OSDs take even when full) free room.
// Thread-safe: every call is one librados operation on a shared IoCtx, and a Segment keeps no
// state of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "store/log/segment_store.h"

namespace clonefs::store {

class RadosCluster;

class RadosSegmentStore final : public SegmentStore {
 public:
  struct Options {
    // The size at which the log seals a segment (StoreOptions::segment_bytes). Checked against
    // the cluster's osd_max_object_size: a segment must fit in one object.
    uint64_t segment_bytes = 64ull << 20;
  };
  // What osd_max_object_size is when the cluster does not say (Ceph's default).
  static constexpr uint64_t kDefaultMaxObjectBytes = 128ull << 20;

  // Segments in the pool and namespace of `cluster`. InvalidArgument when
  // options.segment_bytes does not fit in one object.
  static Result<std::shared_ptr<RadosSegmentStore>> Open(std::shared_ptr<RadosCluster> cluster,
                                                         const Options& options);

  size_t write_alignment() const override { return 1; }
  Result<std::vector<uint32_t>> List() override;
  // Exclusive: AlreadyExists when a segment with this id exists.
  Result<std::shared_ptr<Segment>> Create(uint32_t id) override;
  Result<std::shared_ptr<Segment>> Open(uint32_t id) override;
  // NotFound when there is no such segment (as a file's unlink says ENOENT).
  Status Delete(uint32_t id) override;
  Status SyncNames() override;
  // See the .cc: the cluster's free space divided by the pool's replica count, or "unlimited"
  // when the cluster reports no usage (no mgr); a full cluster still fails writes with NoSpace.
  Result<uint64_t> FreeSpace() override;
  const std::string& description() const override;

  // "seg.0000000042"
  static std::string ObjectName(uint32_t id);
  // The largest object the cluster's OSDs accept, as Open found it.
  uint64_t max_object_bytes() const { return max_object_bytes_; }

 private:
  RadosSegmentStore(std::shared_ptr<RadosCluster> cluster, uint64_t max_object_bytes,
                    uint64_t replicas)
      : cluster_(std::move(cluster)), max_object_bytes_(max_object_bytes), replicas_(replicas) {}
  std::shared_ptr<Segment> SegmentFor(uint32_t id) const;

  const std::shared_ptr<RadosCluster> cluster_;
  const uint64_t max_object_bytes_;
  const uint64_t replicas_;  // copies of each byte the pool keeps (its "size")
};

}  // namespace clonefs::store
