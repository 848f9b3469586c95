// SegmentLog: opening, appending through the write buffer, writing out, syncing and reading.
// Scanning (recovery, GC) is in segment_scan.cc.
#include "store/log/segment_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/coding.h"
#include "crypto/checksum.h"
#include "store/log/stream_copy.h"

namespace clonefs::store {
namespace {

constexpr char kSegmentMagic[8] = {'C', 'F', 'S', 'E', 'G', '0', '0', '1'};
// Appends are copied into chunks of this size (larger for a larger append), so that the
// buffer's memory is a few reused allocations and each disk write is a few MiB.
constexpr size_t kChunkCapacity = 4 << 20;
// Spare chunks kept for reuse: as many as can be in flight. Every write-out seals the chunks
// it takes, so a steady stream fills about flush_bytes of each chunk, and up to
// max_pending_bytes / flush_bytes of them are pending when the disk falls behind for a moment;
// with fewer spares, each such moment maps (and faults in) fresh memory again.
size_t MaxSpareChunks(const SegmentLog::Options& o) {
  return std::max<size_t>(2, o.max_pending_bytes / std::max<size_t>(1, o.flush_bytes));
}

std::string EncodeSegmentHeader(uint32_t id) {
  std::string h(kSegmentHeaderSize, '\0');
  std::memcpy(h.data(), kSegmentMagic, 8);
  PutLE32(h.data() + 8, id);
  PutLE32(h.data() + 12, crypto::Crc32c(0, h.data(), 12));
  return h;
}

}  // namespace

Result<std::unique_ptr<SegmentLog>> SegmentLog::Open(std::shared_ptr<SegmentStore> store,
                                                     const Options& options) {
  std::unique_ptr<SegmentLog> log(new SegmentLog(std::move(store), options));
  CLONEFS_ASSIGN_OR_RETURN(std::vector<uint32_t> ids, log->store_->List());
  for (uint32_t id : ids) {
    CLONEFS_ASSIGN_OR_RETURN(auto segment, log->store_->Open(id));
    CLONEFS_ASSIGN_OR_RETURN(uint64_t size, segment->Size());
    log->segments_[id] = std::move(segment);
    log->sizes_[id] = size;
    log->next_id_ = std::max(log->next_id_, id + 1);
  }
  log->writer_ = std::thread([l = log.get()] { l->WriterLoop(); });
  return log;
}

SegmentLog::~SegmentLog() {
  if (writer_.joinable()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    writer_.join();
  }
  Status s = Flush();
  if (!s.ok())
    spdlog::error("segment log {}: buffered records not written: {}", store_->description(),
                  s.ToString());
}

Status SegmentLog::StartSegmentLocked(uint32_t id) {
  CLONEFS_ASSIGN_OR_RETURN(auto segment, store_->Create(id));
  // The new segment must survive a crash before any record in it is acknowledged as durable:
  // Sync() syncs the store's names first. Not here - appenders wait for this lock, and a
  // directory sync commits the filesystem's journal. Recovery treats a lost segment as a torn
  // tail.
  ++segments_created_;
  if (active_ != 0) unsynced_.insert(active_);
  if (!chunks_.empty()) chunks_.back()->sealed = true;  // the old segment's last chunk
  segments_[id] = std::move(segment);
  sizes_[id] = 0;
  active_ = id;
  next_id_ = id + 1;
  const std::string header = EncodeSegmentHeader(id);  // written with the first records
  const std::string_view piece = header;
  BufferLocked(std::span<const std::string_view>(&piece, 1), header.size());
  return Status::OK();
}

Result<RecordLocation> SegmentLog::Append(std::string_view records) {
  return Append(std::span<const std::string_view>(&records, 1));
}

Result<RecordLocation> SegmentLog::Append(std::span<const std::string_view> pieces) {
  size_t total = 0;
  for (std::string_view p : pieces) total += p.size();
  std::unique_lock<std::mutex> l(mu_);
  while (pending_bytes_ >= options_.max_pending_bytes || !write_out_status_.ok()) {
    // Backpressure: the disk is behind, or the last write-out failed (a full disk). Help write,
    // and refuse the append while that fails, so the writer hears of it before the buffer
    // holds much that cannot reach the disk.
    l.unlock();
    Status s = Flush();
    l.lock();
    if (!s.ok()) return s;
  }
  if (active_ == 0 || sizes_[active_] + total > options_.segment_bytes) {
    CLONEFS_RETURN_IF_ERROR(StartSegmentLocked(next_id_));
  }
  CLONEFS_RETURN_IF_ERROR(CheckSpaceLocked(total));
  const uint64_t offset = sizes_[active_];
  BufferLocked(pieces, total);
  const RecordLocation loc{active_, static_cast<uint32_t>(offset), static_cast<uint32_t>(total)};
  const bool flush = pending_bytes_ >= options_.flush_bytes;
  l.unlock();
  if (flush) work_cv_.notify_one();
  return loc;
}

void SegmentLog::WriterLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    work_cv_.wait(l, [&] { return stopping_ || pending_bytes_ >= options_.flush_bytes; });
    if (stopping_) return;
    l.unlock();
    {
      // A failure is no append's: the records stay buffered and readable, appenders hear of
      // it (write_out_status_) and help retry, and the next write-out retries it.
      std::lock_guard<std::mutex> f(flush_mu_);
      Status s = FlushPendingChunks();
      if (!s.ok()) {
        spdlog::warn("segment log {}: write-out failed, will retry: {}", store_->description(),
                     s.ToString());
      }
    }
    l.lock();
    if (!write_out_status_.ok()) {
      // Do not spin on a full disk: retry in a second (appenders and Flush() retry sooner).
      work_cv_.wait_for(l, std::chrono::seconds(1), [&] { return stopping_; });
    }
  }
}

void SegmentLog::BufferLocked(std::span<const std::string_view> pieces, size_t total) {
  const uint64_t end = sizes_[active_];
  Chunk* c = chunks_.empty() ? nullptr : chunks_.back().get();
  if (c == nullptr || c->sealed || c->segment != active_ || c->data.capacity() - c->len < total) {
    if (c != nullptr && c->segment == active_) c->sealed = true;
    auto fresh = std::make_unique<Chunk>();
    fresh->segment = active_;
    fresh->start = BlockDown(end);
    fresh->len = end - fresh->start;  // the partial block already written (or pending)
    const size_t need = std::max(kChunkCapacity, fresh->len + total);
    if (!spare_.empty() && spare_.back().data.capacity() >= need) {
      fresh->data = std::move(spare_.back().data);
      fresh->touched = spare_.back().touched;
      spare_touched_ -= spare_.back().touched;
      spare_.pop_back();
    } else {
      fresh->data.Reserve(need);
    }
    std::memcpy(fresh->data.data(), tail_.data(), fresh->len);
    pending_bytes_ += fresh->len;
    chunks_.push_back(std::move(fresh));
    c = chunks_.back().get();
  }
  for (std::string_view p : pieces) {
    StreamCopy(c->data.data() + c->len, p.data(), p.size());
    c->len += p.size();
  }
  StreamCopyFence();
  pending_bytes_ += total;
  const uint64_t new_end = end + total;
  sizes_[active_] = new_end;
  // Keep the new last partial block for the chunk after this one.
  const size_t tail_len = new_end % block_;
  std::memcpy(tail_.data(), c->data.data() + (new_end - tail_len - c->start), tail_len);
}

Status SegmentLog::CheckSpaceLocked(size_t n) {
  constexpr uint64_t kCheckEvery = 4ull << 20;
  appended_since_check_ += n;
  // Buffered bytes do not show in statvfs yet; count them as spent.
  const uint64_t spent = pending_bytes_ + n;
  const uint64_t need = options_.reserve_bytes + kCheckEvery + spent;
  if (appended_since_check_ < kCheckEvery && last_free_ > need + appended_since_check_) {
    return Status::OK();
  }
  auto free = store_->FreeSpace();
  if (!free.ok()) return Status::OK();  // cannot tell: let the write itself report ENOSPC
  last_free_ = *free;
  appended_since_check_ = 0;
  if (*free < options_.reserve_bytes + spent) {
    return Status::NoSpace("store is full (" + std::to_string(*free) + " bytes free, " +
                           std::to_string(options_.reserve_bytes) + " kept for metadata)");
  }
  return Status::OK();
}

Status SegmentLog::Flush() {
  std::lock_guard<std::mutex> f(flush_mu_);
  return FlushPendingChunks();
}

Status SegmentLog::FlushPendingChunks() {
  struct Write {
    Chunk* chunk;
    std::shared_ptr<Segment> segment;
  };
  std::vector<Write> writes;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& c : chunks_) {
      c->sealed = true;  // appends after this point start a new chunk
      writes.push_back({c.get(), segments_[c->segment]});
    }
  }
  // Sealed chunks are immutable and stay in chunks_ until removed below (only here, under
  // flush_mu_), so they can be read without mu_.
  size_t written = 0;
  Status status;
  for (const Write& w : writes) {
    Chunk& c = *w.chunk;
    const size_t padded = BlockUp(c.len);
    std::memset(c.data.data() + c.len, 0, padded - c.len);
    status = w.segment->WriteAt(c.start, std::string_view(c.data.data(), padded));
    if (!status.ok()) break;
    ++written;
  }
  std::lock_guard<std::mutex> l(mu_);
  write_out_status_ = status;
  for (size_t i = 0; i < written; ++i) {
    pending_bytes_ -= chunks_.front()->len;
    Chunk& c = *chunks_.front();
    RecycleLocked(std::move(c.data), std::max(c.touched, static_cast<size_t>(BlockUp(c.len))));
    chunks_.pop_front();
  }
  return status;
}

void SegmentLog::ReleaseSpareMemory() {
  std::vector<SpareChunk> spare;
  std::lock_guard<std::mutex> l(mu_);
  spare.swap(spare_);  // freed after the lock is released
  spare_touched_ = 0;
}

void SegmentLog::RecycleLocked(AlignedBuffer buf, size_t touched) {
  if (spare_.size() < MaxSpareChunks(options_) &&
      spare_touched_ + touched <= 2 * options_.max_pending_bytes &&
      buf.capacity() == AlignedBuffer::RoundUp(kChunkCapacity)) {
    spare_.push_back(SpareChunk{std::move(buf), touched});
    spare_touched_ += touched;
  }
}

std::shared_ptr<Segment> SegmentLog::SegmentFor(uint32_t segment) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = segments_.find(segment);
  return it == segments_.end() ? nullptr : it->second;
}

uint64_t SegmentLog::CopyBufferedLocked(uint32_t segment, uint64_t offset, size_t n,
                                        char* out) const {
  uint64_t first = UINT64_MAX;
  for (const auto& c : chunks_) {
    if (c->segment != segment) continue;
    first = std::min(first, c->start);
    const uint64_t from = std::max(offset, c->start);
    const uint64_t to = std::min(offset + n, c->start + c->len);
    if (from < to)
      std::memcpy(out + (from - offset), c->data.data() + (from - c->start), to - from);
  }
  return first;
}

Result<std::shared_ptr<Segment>> SegmentLog::StartRead(uint32_t segment, uint64_t offset, size_t n,
                                                       char* out, uint64_t* buffered_from,
                                                       uint64_t* stable_end) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = segments_.find(segment);
  if (it == segments_.end()) {
    return Status::Corruption("page map points at missing segment " + std::to_string(segment));
  }
  *buffered_from = CopyBufferedLocked(segment, offset, n, out);
  // Everything before the first buffered chunk is in the store and never rewritten (chunks
  // start on a block boundary, and only the block a chunk starts in is ever written twice).
  // With nothing buffered, the active segment's last partial block is still to be rewritten.
  *stable_end = *buffered_from;
  if (segment == active_ && *buffered_from == UINT64_MAX) {
    *stable_end = BlockDown(sizes_.at(segment));
  }
  return it->second;
}

Status SegmentLog::ReadRun(uint32_t segment, uint64_t offset, size_t length, char* out) const {
  uint64_t buffered_from;
  uint64_t stable_end;
  CLONEFS_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                           StartRead(segment, offset, length, out, &buffered_from, &stable_end));
  if (offset >= buffered_from) return Status::OK();
  const uint64_t written_end = std::min<uint64_t>(offset + length, buffered_from);
  const uint64_t stable_to = std::min(written_end, stable_end);
  if (offset < stable_to) {
    CLONEFS_RETURN_IF_ERROR(seg->ReadAt(offset, stable_to - offset, out, /*stable=*/true));
  }
  const uint64_t unstable_from = std::max(offset, stable_to);
  if (unstable_from < written_end) {
    CLONEFS_RETURN_IF_ERROR(seg->ReadAt(unstable_from, written_end - unstable_from,
                                        out + (unstable_from - offset), /*stable=*/false));
  }
  return Status::OK();
}

Result<const char*> SegmentLog::ReadRunDirect(uint32_t segment, uint64_t offset, size_t length,
                                              AlignedBuffer* buf) const {
  const uint64_t start = BlockDown(offset);
  buf->Reserve(BlockUp(offset + length) - start);
  char* out = buf->data() + (offset - start);
  uint64_t buffered_from;
  uint64_t stable_end;  // not needed: a direct read always sees the latest write
  CLONEFS_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                           StartRead(segment, offset, length, out, &buffered_from, &stable_end));
  if (offset < buffered_from) {
    // Buffered chunks start on a block boundary, so the whole blocks read here end at or
    // before the buffered bytes just copied; a block the next write-out rewrites keeps the
    // leading bytes this run needs.
    const uint64_t end = BlockUp(std::min<uint64_t>(offset + length, buffered_from));
    CLONEFS_RETURN_IF_ERROR(seg->ReadAt(start, end - start, buf->data(), /*stable=*/false));
  }
  return out;
}

Status SegmentLog::Read(const RecordLocation& loc, std::string* out) const {
  out->resize(loc.length);
  return ReadRun(loc.segment, loc.offset, loc.length, out->data());
}

Status SegmentLog::Sync() {
  struct Todo {
    uint32_t id;
    std::shared_ptr<Segment> segment;
    uint64_t size;  // bytes appended when this sync started: what it covers
  };
  std::vector<Todo> todo;
  uint64_t created;
  bool new_names;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (uint32_t id : unsynced_) todo.push_back({id, segments_[id], sizes_[id]});
    if (active_ != 0) todo.push_back({active_, segments_[active_], sizes_[active_]});
    created = segments_created_;
    new_names = created != names_synced_created_;
  }
  // Written out after the sizes above were taken, so that each size is on disk when its file
  // is synced below; a size taken later could cover records appended after this write-out.
  CLONEFS_RETURN_IF_ERROR(Flush());
  for (auto& t : todo) CLONEFS_RETURN_IF_ERROR(t.segment->Sync());
  // The names last: on a journaling filesystem the first file sync above commits the journal,
  // names included, so this one is only a cache flush; synced first, it would be a journal
  // commit of its own (100-250 ms while the log streams).
  if (new_names) {
    CLONEFS_RETURN_IF_ERROR(store_->SyncNames());  // the segments created since
    std::lock_guard<std::mutex> l(mu_);
    names_synced_created_ =
        std::max(names_synced_created_, created);  // syncs may finish out of order
  }
  std::lock_guard<std::mutex> l(mu_);
  for (auto& t : todo) {
    // Done with a segment only if it is sealed and nothing was appended after we looked: a
    // segment that was active when we started may have grown before it was sealed.
    auto it = sizes_.find(t.id);
    if (t.id != active_ && it != sizes_.end() && it->second == t.size) unsynced_.erase(t.id);
  }
  return Status::OK();
}

LogPosition SegmentLog::Tail() const {
  std::lock_guard<std::mutex> l(mu_);
  if (active_ == 0) return LogPosition{next_id_, kSegmentHeaderSize};
  return LogPosition{active_, sizes_.at(active_)};
}

uint32_t SegmentLog::active_segment() const {
  std::lock_guard<std::mutex> l(mu_);
  return active_;
}

std::vector<std::pair<uint32_t, uint64_t>> SegmentLog::Segments() const {
  std::lock_guard<std::mutex> l(mu_);
  return {sizes_.begin(), sizes_.end()};
}

Status SegmentLog::DeleteSegment(uint32_t segment) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (segment == active_) return Status::InvalidState("cannot delete the active segment");
    for (const auto& c : chunks_) {
      if (c->segment == segment) return Status::InvalidState("segment is not written out yet");
    }
    segments_.erase(segment);
    sizes_.erase(segment);
    unsynced_.erase(segment);
  }
  return store_->Delete(segment);
}

}  // namespace clonefs::store
