// SegmentStore: where the bytes of the segment log live (docs/ARCHITECTURE.md, "The store").
//
// The segment log (segment_log.h) owns the log's structure: records, the write buffer, block
// alignment, recovery. A SegmentStore only keeps numbered byte arrays: create, write at an
// offset, read, sync, delete, list, and say how much room is left. PosixSegmentStore keeps them
// as files in a directory (direct I/O, directory syncs, statvfs); MemorySegmentStore keeps them
// in memory for tests and models a crash. A second backend (RADOS objects) plugs in here.
//
// Every method is thread-safe. A Segment is written by one thread at a time (the log's
// write-out is serialized) and read by many at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace clonefs::store {

class Segment {
 public:
  virtual ~Segment() = default;
  // Writes all of `data` at `offset`. REQUIRES: offset, data.size() and data.data() are
  // multiples of the store's write_alignment(). NoSpace when the backend is full.
  virtual Status WriteAt(uint64_t offset, std::string_view data) = 0;
  // Reads exactly `n` bytes at `offset` into `out`; a short segment is Corruption. `stable`:
  // the caller promises these bytes are never written again, so they may be served from a
  // cache; otherwise the read must see the latest write, and goes past any cache (files: with
  // direct I/O, straight into `out` when offset, n and out are multiples of the
  // write_alignment(), so that a scan reading each byte once pays no copy for a cache).
  virtual Status ReadAt(uint64_t offset, size_t n, char* out, bool stable) const = 0;
  // Everything written so far survives a crash once this returns OK.
  virtual Status Sync() = 0;
  // Cuts or extends (with zeros) the segment to `size`. Durable with the next Sync().
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() const = 0;
};

class SegmentStore {
 public:
  virtual ~SegmentStore() = default;

  // What every write's offset, length and buffer address must be a multiple of (1: anything).
  virtual size_t write_alignment() const = 0;
  // Ids of the segments present, ascending.
  virtual Result<std::vector<uint32_t>> List() = 0;
  // A new, empty segment. Its existence survives a crash only after the next SyncNames().
  virtual Result<std::shared_ptr<Segment>> Create(uint32_t id) = 0;
  // An existing segment; NotFound when there is none with that id.
  virtual Result<std::shared_ptr<Segment>> Open(uint32_t id) = 0;
  // Removes a segment, durably. Open Segment objects of it must not be used afterwards.
  virtual Status Delete(uint32_t id) = 0;
  // Makes every Create() that returned before this call survive a crash.
  virtual Status SyncNames() = 0;
  // Bytes that can still be written.
  virtual Result<uint64_t> FreeSpace() = 0;
  // Where the segments are, for messages ("/var/lib/clonefs/local/segments").
  virtual const std::string& description() const = 0;
};

}  // namespace clonefs::store
