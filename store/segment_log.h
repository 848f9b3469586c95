// SegmentLog: the append-only log of page records, split into segment files.
//
// Records are appended to the active segment; when it reaches the configured size it is sealed
// and a new one starts. The log is the write-ahead log of the page map: a map entry points at a
// RecordLocation, and recovery replays every record after the last checkpoint position.
// Garbage collection deletes whole segments. Thread-safe.
//
// Lock order: mu_ is a leaf (no other store lock is taken while holding it). mu_ is held across
// the pwrite of an append: appends to one file are serialized by the kernel anyway, and holding
// it lets a failed append be cut off before anything is written after it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "crypto/base/env.h"
#include "store/record.h"

namespace clonefs::store {

struct RecordLocation {
  uint32_t segment = 0;
  uint32_t offset = 0;  // of the record header within the segment
  uint32_t length = 0;  // header + payload
  bool operator==(const RecordLocation&) const = default;
};

struct LogPosition {
  uint32_t segment = 0;
  uint64_t offset = 0;
  auto operator<=>(const LogPosition&) const = default;
};

constexpr size_t kSegmentHeaderSize = 64;

class SegmentLog {
 public:
  struct Options {
    uint64_t segment_bytes = 64ull << 20;
    // Appends fail with NoSpace while the filesystem has less than this free, so that the
    // metadata store always has room to checkpoint and the store keeps working.
    uint64_t reserve_bytes = 16ull << 20;
  };

  // Opens the log in `dir` (created if missing). Appends go to a new segment after the highest
  // existing one, so that nothing is ever appended behind a torn tail.
  static Result<std::unique_ptr<SegmentLog>> Open(Env* env, const std::string& dir,
                                                  const Options& options);

  // Appends `records` (whole encoded records, back to back). Returns where the first starts;
  // the others follow contiguously in the same segment. NoSpace/IOError leave the log as if the
  // call had not happened.
  Result<RecordLocation> Append(std::string_view records);
  // Reads the whole record at `loc` into `out`.
  Status Read(const RecordLocation& loc, std::string* out) const;
  // Reads a run of back-to-back records starting at `loc` with total size `length`.
  Status ReadRun(uint32_t segment, uint64_t offset, size_t length, char* out) const;
  // Makes every append that returned before this call durable.
  Status Sync();
  // The position just past the last appended record.
  LogPosition Tail() const;

  // Visits every valid record at or after `from`, in log order. Stops at the first record that
  // does not verify (a torn tail after a crash), cuts that segment there and deletes any later
  // segment (nothing after a tear was ever acknowledged as durable).
  using RecordVisitor = std::function<Status(const RecordHeader&, std::string_view payload,
                                             const RecordLocation&)>;
  Status Replay(LogPosition from, const RecordVisitor& visit);
  // Visits the records of one sealed segment (for GC); stops quietly at a bad record.
  Status ScanSegment(uint32_t segment, const RecordVisitor& visit) const;

  // Segment ids and sizes, ascending. The active segment is included.
  std::vector<std::pair<uint32_t, uint64_t>> Segments() const;
  uint32_t active_segment() const;
  Status DeleteSegment(uint32_t segment);

 private:
  SegmentLog(Env* env, std::string dir, Options options)
      : env_(env), dir_(std::move(dir)), options_(options) {}
  std::string SegmentPath(uint32_t id) const;
  Status StartSegmentLocked(uint32_t id);  // REQUIRES: mu_ held
  std::shared_ptr<File> FileFor(uint32_t segment) const;
  Status CheckSpaceLocked(size_t n);  // REQUIRES: mu_ held

  Env* const env_;
  const std::string dir_;
  const Options options_;

  mutable std::mutex mu_;
  std::map<uint32_t, std::shared_ptr<File>> files_;  // GUARDED_BY(mu_)
  std::map<uint32_t, uint64_t> sizes_;               // GUARDED_BY(mu_)
  std::set<uint32_t> unsynced_;                      // GUARDED_BY(mu_) sealed, not yet synced
  uint32_t active_ = 0;                              // GUARDED_BY(mu_) 0 = none yet
  uint32_t next_id_ = 1;                             // GUARDED_BY(mu_)
  // Free space seen at the last statvfs, and bytes appended since: statvfs runs only every few
  // MiB while space is plentiful, and before every append once it is getting short.
  uint64_t last_free_ = 0;            // GUARDED_BY(mu_)
  uint64_t appended_since_check_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace clonefs::store
