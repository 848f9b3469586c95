// SegmentLog: reading segments front to back, for recovery (Replay) and GC (ScanSegment).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "store/log/segment_log.h"

namespace clonefs::store {
namespace {

// Reads a segment file sequentially through one block-aligned window of at least this size.
constexpr size_t kWindowBytes = 1 << 20;

class WindowReader {
 public:
  // REQUIRES: `size` (the segment's size) is a multiple of the store's write alignment.
  WindowReader(const Segment& segment, uint64_t size) : segment_(segment), size_(size) {}

  // Bytes [offset, offset + n), or nullptr when they run past the end of the file.
  Result<const char*> Get(uint64_t offset, size_t n) {
    if (offset + n > size_) return static_cast<const char*>(nullptr);
    if (offset < window_start_ || offset + n > window_start_ + window_len_) {
      window_start_ = AlignedBuffer::RoundDown(offset);
      window_len_ = std::min<uint64_t>(
          std::max(kWindowBytes, AlignedBuffer::RoundUp(offset + n - window_start_)),
          size_ - window_start_);
      buf_.Reserve(window_len_);
      CLONEFS_RETURN_IF_ERROR(
          segment_.ReadAt(window_start_, window_len_, buf_.data(), /*stable=*/false));
    }
    return static_cast<const char*>(buf_.data() + (offset - window_start_));
  }

 private:
  const Segment& segment_;
  const uint64_t size_;
  AlignedBuffer buf_;
  uint64_t window_start_ = 0;
  size_t window_len_ = 0;
};

}  // namespace

Result<uint64_t> SegmentLog::ScanRecords(uint32_t id, const Segment& segment, uint64_t from,
                                         uint64_t size, const RecordVisitor& visit) {
  WindowReader reader(segment, size);
  uint64_t off = from;
  for (;;) {
    CLONEFS_ASSIGN_OR_RETURN(const char* head, reader.Get(off, kRecordHeaderSize));
    RecordHeader h;
    if (head == nullptr ||
        !DecodeRecordHeader(std::string_view(head, kRecordHeaderSize), &h).ok()) {
      break;
    }
    CLONEFS_ASSIGN_OR_RETURN(const char* record, reader.Get(off, h.record_size()));
    std::string_view payload;
    if (record == nullptr ||
        !DecodeRecord(std::string_view(record, h.record_size()), &h, &payload).ok()) {
      break;
    }
    RecordLocation loc{id, static_cast<uint32_t>(off), static_cast<uint32_t>(h.record_size())};
    CLONEFS_RETURN_IF_ERROR(visit(h, payload, loc));
    off += h.record_size();
  }
  return off;
}

Result<bool> SegmentLog::IsPadding(const Segment& segment, uint64_t from, uint64_t size) const {
  if (from >= size) return true;
  if (size - from >= block_) return false;
  std::string rest(size - from, '\0');
  CLONEFS_RETURN_IF_ERROR(segment.ReadAt(from, rest.size(), rest.data(), /*stable=*/false));
  return std::all_of(rest.begin(), rest.end(), [](char c) { return c == 0; });
}

Status SegmentLog::ScanSegment(uint32_t segment, const RecordVisitor& visit) const {
  std::shared_ptr<Segment> seg = SegmentFor(segment);
  if (seg == nullptr) return Status::NotFound("segment " + std::to_string(segment));
  CLONEFS_ASSIGN_OR_RETURN(uint64_t size, seg->Size());
  CLONEFS_ASSIGN_OR_RETURN(uint64_t end,
                           ScanRecords(segment, *seg, kSegmentHeaderSize, size, visit));
  CLONEFS_ASSIGN_OR_RETURN(bool clean, IsPadding(*seg, end, size));
  if (!clean) {
    return Status::Corruption("segment " + std::to_string(segment) + " has a bad record at " +
                              std::to_string(end));
  }
  return Status::OK();
}

Status SegmentLog::Replay(LogPosition from, const RecordVisitor& visit) {
  std::vector<uint32_t> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, size] : sizes_) {
      if (id >= from.segment) ids.push_back(id);
    }
  }
  bool torn = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint32_t id = ids[i];
    if (!torn && i > 0 && id != ids[i - 1] + 1) {
      // A segment whose name did not survive the crash (names are synced only by Sync()):
      // what came after it was never acknowledged as durable either.
      spdlog::warn("recovery: segment {} is missing; it ends the log", ids[i - 1] + 1);
      torn = true;
    }
    if (torn) {
      spdlog::warn("recovery: deleting segment {} written after a torn record", id);
      CLONEFS_RETURN_IF_ERROR(DeleteSegment(id));
      continue;
    }
    std::shared_ptr<Segment> seg = SegmentFor(id);
    CLONEFS_ASSIGN_OR_RETURN(uint64_t size, seg->Size());
    if (size < kSegmentHeaderSize) {
      // Created just before a crash: its header never reached the disk, so neither did records.
      spdlog::warn("recovery: deleting segment {} with an incomplete header", id);
      CLONEFS_RETURN_IF_ERROR(DeleteSegment(id));
      torn = true;
      continue;
    }
    const uint64_t start = id == from.segment ? std::max<uint64_t>(from.offset, kSegmentHeaderSize)
                                              : kSegmentHeaderSize;
    CLONEFS_ASSIGN_OR_RETURN(uint64_t end, ScanRecords(id, *seg, start, size, visit));
    CLONEFS_ASSIGN_OR_RETURN(bool clean, IsPadding(*seg, end, size));
    if (!clean) {
      spdlog::warn("recovery: segment {} ends in a torn record at offset {}; cutting {} bytes", id,
                   end, size - end);
      // Zeros after the cut, up to a whole block, read as the clean end of the segment.
      CLONEFS_RETURN_IF_ERROR(seg->Truncate(end));
      CLONEFS_RETURN_IF_ERROR(seg->Truncate(BlockUp(end)));
      CLONEFS_RETURN_IF_ERROR(seg->Sync());
      torn = true;
    }
    std::lock_guard<std::mutex> l(mu_);
    sizes_[id] = end;
  }
  return Status::OK();
}

}  // namespace clonefs::store
