// SegmentLog: the append-only log of page records, split into segment files.
//
// Records are appended to the active segment; when it reaches the configured size it is sealed
// and a new one starts. The log is the write-ahead log of the page map: a map entry points at a
// RecordLocation, and recovery replays every record after the last checkpoint position.
// Garbage collection deletes whole segments. Thread-safe.
//
// The bytes live in a SegmentStore (segment_store.h): files in a directory, or memory in tests.
//
// Write path. Appends land in an in-memory write buffer (a list of Chunks, see below) and return at
// once; the buffer goes to disk in large block-aligned writes by the log's own writer thread once
// `flush_bytes` are pending (so no appender waits for the disk, and none holds its locks while
// the device writes), every second (the store's background thread), and on Flush()/Sync().
// Appenders wait only when `max_pending_bytes` are buffered. Readers see buffered records
// straight from memory, so an append is visible to every later read as soon as it returns.
// Records already written are read from the store, marked stable wherever the block can never
// be written again (everything but the active segment's last partial block), so that a store
// may cache them.
// Durability is unchanged: only Sync() promises anything, exactly as with the page cache; a
// crash loses an unsynced suffix of the log, never a record in the middle.
//
// Block alignment. Every write covers whole blocks of the store's write_alignment() (4 KiB for
// files written with direct I/O). The partial block at the end of the written log is
// zero-padded in the store, and the next write rewrites that block with the same leading bytes
// plus the new records (writes are serialized, so they land in order and a torn rewrite leaves
// the old bytes intact). So every segment's size is a multiple of the block size, and a segment
// ends with fewer than one block of zeros after its last record.
//
// Locks: flush_mu_ (one write-out at a time) -> mu_ (a leaf: no other store lock is taken while
// holding it). No file I/O happens under mu_ except creating a segment and opening its read
// segment.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "store/log/aligned_buffer.h"
#include "store/log/location.h"
#include "store/log/record.h"
#include "store/log/segment_store.h"

namespace clonefs::store {

constexpr size_t kSegmentHeaderSize = 64;

class SegmentLog {
 public:
  struct Options {
    uint64_t segment_bytes = 64ull << 20;
    // Appends fail with NoSpace while the filesystem has less than this free, so that the
    // metadata store always has room to checkpoint and the store keeps working.
    uint64_t reserve_bytes = 16ull << 20;
    // Buffered records are written out once this many bytes are pending.
    size_t flush_bytes = 1 << 20;
    // Appenders wait for the disk once this many bytes are pending; bounds the buffer's memory.
    size_t max_pending_bytes = 32 << 20;
  };

  // Opens the log kept in `store`. Appends go to a new segment after the highest existing one,
  // so that nothing is ever appended behind a torn tail.
  static Result<std::unique_ptr<SegmentLog>> Open(std::shared_ptr<SegmentStore> store,
                                                  const Options& options);

  ~SegmentLog();  // writes out what is buffered (best effort; Sync() first to know it worked)

  // Appends `records` (whole encoded records, back to back). Returns where the first starts;
  // the others follow contiguously in the same segment. NoSpace/IOError (a full filesystem, or
  // a buffer that cannot be written out) leave the log as if the call had not happened.
  Result<RecordLocation> Append(std::string_view records);
  // The same for records given in pieces (say, each header next to a payload that lives in the
  // caller's buffer): the pieces are copied back to back, so nothing has to assemble them first.
  Result<RecordLocation> Append(std::span<const std::string_view> pieces);
  // Reads the whole record at `loc` into `out`.
  Status Read(const RecordLocation& loc, std::string* out) const;
  // Reads a run of back-to-back records starting at `loc` with total size `length`.
  Status ReadRun(uint32_t segment, uint64_t offset, size_t length, char* out) const;
  // The same for a scan that reads each record once (an export): the written part is read
  // past any cache in whole blocks, straight into `buf` (grown as needed), rather than copied
  // out of the kernel's page cache. Returns where the run starts in `buf`.
  Result<const char*> ReadRunDirect(uint32_t segment, uint64_t offset, size_t length,
                                    AlignedBuffer* buf) const;
  // Writes every append that returned before this call to its segment file (not yet durable).
  // On error the records stay buffered, still readable, and the next Flush() retries them.
  Status Flush();
  // Makes every append that returned before this call durable.
  Status Sync();
  // Frees the write buffer's spare memory, kept while writes stream so that each new chunk is
  // memory already mapped. The store calls it once appends have paused.
  void ReleaseSpareMemory();
  // The position just past the last appended record.
  LogPosition Tail() const;

  // Visits every valid record at or after `from`, in log order. Stops at the first record that
  // does not verify (a torn tail after a crash), cuts that segment there and deletes any later
  // segment (nothing after a tear was ever acknowledged as durable).
  using RecordVisitor =
      std::function<Status(const RecordHeader&, std::string_view payload, const RecordLocation&)>;
  Status Replay(LogPosition from, const RecordVisitor& visit);
  // Visits the records of one sealed segment (for GC); Corruption at a bad record.
  Status ScanSegment(uint32_t segment, const RecordVisitor& visit) const;

  // Segment ids and sizes, ascending. The active segment is included.
  std::vector<std::pair<uint32_t, uint64_t>> Segments() const;
  uint32_t active_segment() const;
  Status DeleteSegment(uint32_t segment);

 private:
  // Buffered log bytes [start, start + len) of one segment; `start` is block-aligned. The last
  // chunk may be open (appends go into it); a sealed chunk is immutable until it is written.
  struct Chunk {
    uint32_t segment = 0;
    uint64_t start = 0;
    size_t len = 0;
    bool sealed = false;
    AlignedBuffer data;
    size_t touched = 0;  // bytes of `data` ever written, in this chunk or before it was reused
  };
  // A written chunk's memory kept for reuse, and how much of it was ever written (resident).
  struct SpareChunk {
    AlignedBuffer data;
    size_t touched = 0;
  };

  SegmentLog(std::shared_ptr<SegmentStore> store, Options options)
      : store_(std::move(store)), options_(options), block_(store_->write_alignment()) {}
  std::shared_ptr<Segment> SegmentFor(uint32_t segment) const;
  uint64_t BlockDown(uint64_t n) const { return n / block_ * block_; }
  uint64_t BlockUp(uint64_t n) const { return (n + block_ - 1) / block_ * block_; }
  // The following REQUIRE mu_ held.
  Status StartSegmentLocked(uint32_t id);
  Status CheckSpaceLocked(size_t n);
  // Copies `pieces` (`total` bytes in all) to the end of the active segment's buffer.
  void BufferLocked(std::span<const std::string_view> pieces, size_t total);
  // Copies what the buffer holds of [offset, offset + n) of `segment` into `out` (at the
  // matching position) and returns where the buffered part starts (UINT64_MAX: nothing buffered).
  uint64_t CopyBufferedLocked(uint32_t segment, uint64_t offset, size_t n, char* out) const;
  // What a read of [offset, offset + n) of `segment` starts with, under mu_: the segment, the
  // buffered bytes copied into `out`, where they start (*buffered_from, as above) and the end
  // of the bytes that can never be written again (*stable_end).
  Result<std::shared_ptr<Segment>> StartRead(uint32_t segment, uint64_t offset, size_t n, char* out,
                                             uint64_t* buffered_from, uint64_t* stable_end) const;
  void RecycleLocked(AlignedBuffer buf, size_t touched);

  // Writes out the chunks that were pending when called. REQUIRES: flush_mu_ held, mu_ not.
  Status FlushPendingChunks();
  // The writer thread: writes the buffer out whenever flush_bytes are pending.
  void WriterLoop();
  // Visits valid records of `segment` in [from, size) and returns where it stopped.
  static Result<uint64_t> ScanRecords(uint32_t id, const Segment& segment, uint64_t from,
                                      uint64_t size, const RecordVisitor& visit);
  // True when [from, size) is the zero padding after a segment's last record.
  Result<bool> IsPadding(const Segment& segment, uint64_t from, uint64_t size) const;

  const std::shared_ptr<SegmentStore> store_;
  const Options options_;
  const size_t block_;  // store_->write_alignment()

  mutable std::mutex mu_;
  std::map<uint32_t, std::shared_ptr<Segment>> segments_;  // GUARDED_BY(mu_)
  std::map<uint32_t, uint64_t> sizes_;                     // GUARDED_BY(mu_)
  std::set<uint32_t> unsynced_;                            // GUARDED_BY(mu_) sealed, not yet synced
  uint32_t active_ = 0;                                    // GUARDED_BY(mu_) 0 = none yet
  uint32_t next_id_ = 1;                                   // GUARDED_BY(mu_)
  // Segments created, and how many of those the name syncs so far covered.
  uint64_t segments_created_ = 0;      // GUARDED_BY(mu_)
  uint64_t names_synced_created_ = 0;  // GUARDED_BY(mu_)
  // The buffer: chunks in log order, the open one last. Chunks leave only once written.
  std::deque<std::unique_ptr<Chunk>> chunks_;  // GUARDED_BY(mu_)
  size_t pending_bytes_ = 0;                   // GUARDED_BY(mu_) sum of chunk lengths
  // The active segment's last partial block [RoundDown(size), size), to start the next chunk.
  AlignedBuffer tail_{block_};  // GUARDED_BY(mu_)
  // Written chunks' memory, reused: as many chunks as can be in flight, holding at most twice
  // max_pending_bytes of written (resident) memory (a chunk counts the most it ever held), so
  // that a steady stream of appends never maps (and page-faults in) fresh memory.
  std::vector<SpareChunk> spare_;  // GUARDED_BY(mu_)
  size_t spare_touched_ = 0;       // GUARDED_BY(mu_): the sum of spare_'s `touched`
  Status write_out_status_;        // GUARDED_BY(mu_) of the last write-out
  std::mutex flush_mu_;
  std::condition_variable work_cv_;  // with mu_: flush_bytes pending, or stopping
  bool stopping_ = false;            // GUARDED_BY(mu_)
  std::thread writer_;
  // Free space seen at the last look, and bytes appended since: the store is asked only every
  // few MiB while space is plentiful, and before every append once it is getting short.
  uint64_t last_free_ = 0;             // GUARDED_BY(mu_)
  uint64_t appended_since_check_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace clonefs::store
