// MemorySegmentStore: segments held in memory, for tests, with a model of a crash.
//
// It keeps, for every segment, what was written and how much of it the last Sync() covered, and
// which creates the last SyncNames() covered. Crash() then does what a power cut does to files:
// segments whose creation was not yet synced vanish, and every other one goes back to its last
// synced length (writes after it are lost, the earlier bytes stay). Writes fail with NoSpace
// once `capacity` bytes are stored. It also proves that the log needs nothing of a filesystem.
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "store/log/segment_store.h"

namespace clonefs::store {

class MemorySegmentStore final : public SegmentStore {
 public:
  // `alignment`: the write_alignment() to demand of writers (4096 exercises the log's block
  // handling as files do; 1 lets it write any bytes).
  explicit MemorySegmentStore(size_t alignment = 4096, uint64_t capacity = UINT64_MAX)
      : alignment_(alignment), capacity_(capacity) {}

  size_t write_alignment() const override { return alignment_; }
  Result<std::vector<uint32_t>> List() override;
  Result<std::shared_ptr<Segment>> Create(uint32_t id) override;
  Result<std::shared_ptr<Segment>> Open(uint32_t id) override;
  Status Delete(uint32_t id) override;
  Status SyncNames() override;
  Result<uint64_t> FreeSpace() override;
  const std::string& description() const override { return description_; }

  // Models a power cut (see above). Segment objects opened before it keep working on the
  // state after it, as files would not: open them again.
  void Crash();
  void set_capacity(uint64_t bytes);
  uint64_t stored_bytes() const;

  struct Data;  // one segment's bytes and sync state

 private:
  const size_t alignment_;
  const std::string description_ = "memory";
  mutable std::mutex mu_;
  uint64_t capacity_;                                   // GUARDED_BY(mu_)
  std::map<uint32_t, std::shared_ptr<Data>> segments_;  // GUARDED_BY(mu_)
};

}  // namespace clonefs::store
