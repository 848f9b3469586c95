// The data path: reading, writing and discarding pages of a volume.
#include <spdlog/spdlog.h>
#include <zstd.h>

#include <cstring>

#include "store/engine/store_impl.h"
#include "store/log/aligned_buffer.h"

namespace clonefs::store {
namespace {

// Writes and reads are cut into chunks of at most this many bytes (and at least one page), so
// that a chunk's records are appended with one write and its map lookups with one scan.
constexpr uint64_t kChunkBytes = 1 << 20;
// Reads coalesce back-to-back records into one pread of at most this size.
constexpr size_t kMaxRunBytes = 4 << 20;
// Direct reads (ReadVia::kDirect) only for runs of at least this many bytes: a small run (an
// incremental's scattered pages) is a device round trip of its own past the cache, while
// through it the kernel's readahead serves its neighbours in the log.
constexpr size_t kMinDirectRunBytes = 128 << 10;

bool IsZero(const char* p, size_t n) { return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0; }

// zstd level 1: fast enough for the write path; compresses database pages well.
std::string CompressPage(const char* page, size_t n) {
  thread_local ZSTD_CCtx* cctx = ZSTD_createCCtx();
  std::string out(ZSTD_compressBound(n), '\0');
  size_t r = ZSTD_compressCCtx(cctx, out.data(), out.size(), page, n, 1);
  if (ZSTD_isError(r) || r >= n) return {};
  out.resize(r);
  return out;
}

// Appends record `r` to `buf` with its payload sealed under the ring's writer data key.
Status AppendSealed(VolumeKeyRing& ring, crypto::PageCipher& writer, PendingRecord* r,
                    std::string* buf) {
  const std::string_view plain = r->bytes();
  const size_t at = buf->size();
  buf->resize(at + kRecordHeaderSize + plain.size() + crypto::kPageSealOverhead);
  CLONEFS_RETURN_IF_ERROR(
      ring.Seal(writer, &r->header, plain, buf->data() + at + kRecordHeaderSize));
  FinishRecordInPlace(r->header, buf->data() + at);
  return Status::OK();
}

}  // namespace

size_t StoreImpl::StripeOf(uint64_t volume, uint64_t page) {
  return static_cast<size_t>((page ^ (volume * 0x9E3779B97F4A7C15ull)) % kStripes);
}

Status StoreImpl::DecodeInto(const VolumeState& vol, uint64_t page, const PageVersion& version,
                             const char* record, char* out, VolumeKeyRing::OpenerCache* keys) {
  const uint32_t ps = vol.info.page_size;
  RecordHeader h;
  std::string_view payload;
  // A sealed record is authenticated by its tag when it is opened below: no CRC pass for it.
  Status s = DecodeRecordToOpen(std::string_view(record, version.value.loc.length), &h, &payload);
  // The record must be the very write the map entry names (seq: not an older or newer write
  // of the same page), checked before any key is used.
  if (s.ok() &&
      (h.volume_id != version.volume || h.page_no != page || h.epoch != version.epoch ||
       h.seq != version.value.seq || h.type == RecordType::kDiscard || h.plain_len != ps)) {
    s = Status::Corruption("record belongs to another page");
  }
  thread_local std::string opened;
  if (s.ok() && vol.ring != nullptr) {
    // Verified before anything is decoded; a raw page opens straight into the caller's buffer.
    if (payload.size() < crypto::kPageSealOverhead) {
      s = Status::Corruption("sealed payload too short");
    } else if (h.codec == Codec::kRaw && payload.size() == ps + crypto::kPageSealOverhead) {
      s = vol.ring->Open(h, payload, out, keys);
      payload = std::string_view(out, ps);
    } else {
      opened.resize(payload.size() - crypto::kPageSealOverhead);
      s = vol.ring->Open(h, payload, opened.data(), keys);
      payload = opened;
    }
    if (!s.ok() && !s.IsCorruption()) return s;  // the key is not accessible: not corruption
  } else if (s.ok() && h.cipher != kCipherNone) {
    s = Status::Corruption("sealed record in an unencrypted volume");
  }
  if (s.ok() && h.codec == Codec::kRaw) {
    if (payload.size() != ps) {
      s = Status::Corruption("raw page has the wrong length");
    } else if (payload.data() != out) {
      std::memcpy(out, payload.data(), ps);
    }
  } else if (s.ok()) {
    size_t r = ZSTD_decompress(out, ps, payload.data(), payload.size());
    if (ZSTD_isError(r) || r != ps) s = Status::Corruption("page does not decompress");
  }
  if (!s.ok()) {
    spdlog::error("Corruption: volume {} page {} (segment {} offset {}): {}", vol.info.name, page,
                  version.value.loc.segment, version.value.loc.offset, s.message());
    return Status::Corruption("volume " + vol.info.name + " page " + std::to_string(page) + ": " +
                              s.message());
  }
  return Status::OK();
}

Status StoreImpl::ReadPages(const VolumeState& vol, uint64_t epoch, uint64_t first, uint32_t count,
                            char* out, ReadVia via) {
  std::vector<std::optional<PageVersion>> versions(count);
  // Held while reading, so that GC cannot delete a segment between lookup and pread.
  std::shared_lock<std::shared_mutex> segments(segments_mu_);
  CLONEFS_RETURN_IF_ERROR(map_->VisitRange(vol.View(epoch), first, first + count,
                                           [&](uint64_t page, const PageVersion& v) {
                                             if (!v.value.tombstone) versions[page - first] = v;
                                             return Status::OK();
                                           }));
  return ReadVersionsLocked(vol, first, versions, out, via);
}

Status StoreImpl::ReadVersionsLocked(const VolumeState& vol, uint64_t first,
                                     std::span<const std::optional<PageVersion>> versions,
                                     char* out, ReadVia via) {
  const uint32_t ps = vol.info.page_size;
  const auto count = static_cast<uint32_t>(versions.size());
  thread_local std::string run;
  thread_local AlignedBuffer direct_run;
  VolumeKeyRing::OpenerCache keys;
  for (uint32_t i = 0; i < count;) {
    if (!versions[i]) {
      std::memset(out + static_cast<size_t>(i) * ps, 0, ps);
      ++i;
      continue;
    }
    // Extend the run while the next page's record directly follows this one in the log.
    const RecordLocation start = versions[i]->value.loc;
    size_t run_bytes = start.length;
    uint32_t j = i + 1;
    while (j < count && versions[j]) {
      const RecordLocation& prev = versions[j - 1]->value.loc;
      const RecordLocation& next = versions[j]->value.loc;
      if (next.segment != start.segment || next.offset != prev.offset + prev.length ||
          run_bytes + next.length > kMaxRunBytes) {
        break;
      }
      run_bytes += next.length;
      ++j;
    }
    const char* records = nullptr;
    if (via == ReadVia::kDirect && run_bytes >= kMinDirectRunBytes) {
      CLONEFS_ASSIGN_OR_RETURN(
          records, log_->ReadRunDirect(start.segment, start.offset, run_bytes, &direct_run));
    } else {
      run.resize(run_bytes);
      CLONEFS_RETURN_IF_ERROR(log_->ReadRun(start.segment, start.offset, run_bytes, run.data()));
      records = run.data();
    }
    for (uint32_t k = i; k < j; ++k) {
      const size_t rel = versions[k]->value.loc.offset - start.offset;
      CLONEFS_RETURN_IF_ERROR(DecodeInto(vol, first + k, *versions[k], records + rel,
                                         out + static_cast<size_t>(k) * ps, &keys));
    }
    i = j;
  }
  return Status::OK();
}

Status StoreImpl::ReadBytes(const VolumeState& vol, uint64_t epoch, uint64_t offset, size_t n,
                            char* buf) {
  const uint64_t ps = vol.info.page_size;
  std::string tmp;
  while (n > 0) {
    const uint64_t first = offset / ps;
    const size_t len = std::min<uint64_t>(n, std::max(kChunkBytes, ps) - offset % ps);
    const uint32_t count = static_cast<uint32_t>((offset + len + ps - 1) / ps - first);
    if (offset % ps == 0 && len % ps == 0) {
      CLONEFS_RETURN_IF_ERROR(ReadPages(vol, epoch, first, count, buf));
    } else {
      tmp.resize(count * ps);
      CLONEFS_RETURN_IF_ERROR(ReadPages(vol, epoch, first, count, tmp.data()));
      std::memcpy(buf, tmp.data() + offset % ps, len);
    }
    offset += len;
    buf += len;
    n -= len;
  }
  return Status::OK();
}

Status StoreImpl::WriteBytes(VolumeState& vol, uint64_t offset, std::string_view data) {
  const uint64_t ps = vol.info.page_size;
  while (!data.empty()) {
    const size_t len = std::min<uint64_t>(data.size(), std::max(kChunkBytes, ps) - offset % ps);
    CLONEFS_RETURN_IF_ERROR(WriteChunk(vol, offset, data.substr(0, len)));
    offset += len;
    data.remove_prefix(len);
  }
  MaybeCheckpointInline();
  return Status::OK();
}

Status StoreImpl::WriteChunk(VolumeState& vol, uint64_t offset, std::string_view data) {
  const uint64_t ps = vol.info.page_size;
  const uint64_t id = vol.info.id;
  const uint64_t first = offset / ps;
  const uint64_t end = (offset + data.size() + ps - 1) / ps;
  const uint32_t count = static_cast<uint32_t>(end - first);
  StripeGuard guard(this, id, first, end);
  const uint64_t epoch = vol.epoch;

  // Page images: whole pages point into `data`; partial pages are read, then patched.
  std::vector<const char*> images(count);
  std::string partial(2 * ps, '\0');
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t page_start = (first + i) * ps;
    if (page_start >= offset && page_start + ps <= offset + data.size()) {
      images[i] = data.data() + (page_start - offset);
      continue;
    }
    char* img = partial.data() + (i == 0 ? 0 : ps);
    CLONEFS_RETURN_IF_ERROR(ReadPages(vol, epoch, first + i, 1, img));
    const uint64_t from = std::max(offset, page_start);
    const uint64_t to = std::min(offset + data.size(), page_start + ps);
    std::memcpy(img + (from - page_start), data.data() + (from - offset), to - from);
    images[i] = img;
  }

  // A zero page stores nothing; it needs a discard record only if it hides an older version.
  std::vector<bool> has_data(count, false);
  std::vector<bool> zero(count, false);
  bool any_zero = false;
  for (uint32_t i = 0; i < count; ++i) {
    zero[i] = IsZero(images[i], ps);
    any_zero = any_zero || zero[i];
  }
  if (any_zero) {
    CLONEFS_RETURN_IF_ERROR(
        map_->VisitRange(vol.View(epoch), first, end, [&](uint64_t page, const PageVersion& v) {
          has_data[page - first] = !v.value.tombstone;
          return Status::OK();
        }));
  }
  std::vector<PendingRecord> records;
  records.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    PendingRecord r;
    r.header.volume_id = id;
    r.header.page_no = first + i;
    r.header.epoch = epoch;
    if (zero[i]) {
      if (!has_data[i]) continue;
      r.header.type = RecordType::kDiscard;
      r.header.count = 1;
    } else {
      r.header.type = RecordType::kPage;
      r.header.plain_len = static_cast<uint32_t>(ps);
      if (vol.info.compression == Compression::kZstd) r.payload = CompressPage(images[i], ps);
      if (r.payload.empty()) {
        r.borrowed = std::string_view(images[i], ps);
      } else {
        r.header.codec = Codec::kZstd;
      }
    }
    records.push_back(std::move(r));
  }
  if (records.empty()) return Status::OK();
  NoteWritten(vol);  // even if the append fails part way: a point then covers what it did
  return AppendAndApply(vol, &records);
}

Status StoreImpl::AppendAndApply(const VolumeState& vol, std::vector<PendingRecord>* records) {
  if (records->empty()) return Status::OK();
  // The records go to the log as pieces, copied once, into its buffer: sealed records as one
  // piece (sealing already wrote them out), plain ones as each header followed by its payload
  // where it lies (for a raw page, the caller's write buffer).
  thread_local std::string buf;  // reused: sealed records, or the plain records' headers
  thread_local std::vector<std::string_view> pieces;
  buf.clear();
  pieces.clear();
  std::vector<uint32_t> offsets;
  offsets.reserve(records->size());
  VolumeKeyRing* const ring = vol.ring.get();  // encrypted volumes seal every record
  uint32_t next_offset = 0;
  if (ring != nullptr) {
    CLONEFS_ASSIGN_OR_RETURN(auto writer, ring->Writer());  // once per chunk, not per page
    for (auto& r : *records) {
      r.header.seq = next_seq_.fetch_add(1);
      offsets.push_back(static_cast<uint32_t>(buf.size()));
      CLONEFS_RETURN_IF_ERROR(AppendSealed(*ring, *writer, &r, &buf));
    }
    pieces.push_back(buf);
  } else {
    buf.resize(records->size() * kRecordHeaderSize);  // not resized again: views stay valid
    for (size_t i = 0; i < records->size(); ++i) {
      PendingRecord& r = (*records)[i];
      r.header.seq = next_seq_.fetch_add(1);
      r.header.payload_len = static_cast<uint32_t>(r.bytes().size());
      char* header = buf.data() + i * kRecordHeaderSize;
      EncodeRecordHeader(r.header, r.bytes(), header);
      offsets.push_back(next_offset);
      next_offset += static_cast<uint32_t>(r.header.record_size());
      pieces.emplace_back(header, kRecordHeaderSize);
      if (!r.bytes().empty()) pieces.push_back(r.bytes());
    }
  }
  std::shared_lock<std::shared_mutex> ckpt(ckpt_mu_);
  CLONEFS_ASSIGN_OR_RETURN(RecordLocation base, log_->Append(pieces));
  // Page images (the bulk) go into the map in one batch; a chunk names each page at most once,
  // so their order relative to the other records does not matter.
  std::vector<PageMap::Entry> pages;
  pages.reserve(records->size());
  for (size_t i = 0; i < records->size(); ++i) {
    const RecordHeader& h = (*records)[i].header;
    RecordLocation loc{base.segment, base.offset + offsets[i],
                       static_cast<uint32_t>(h.record_size())};
    if (h.type == RecordType::kPage) {
      pages.emplace_back(MapKey{vol.info.lineage_id, h.page_no, h.epoch, h.volume_id},
                         MapValue{h.seq, loc, false});
    } else {
      CLONEFS_RETURN_IF_ERROR(ApplyRecord(vol, h, loc));
    }
  }
  if (pages.empty()) return Status::OK();
  std::vector<std::optional<MapValue>> replaced;
  CLONEFS_RETURN_IF_ERROR(map_->PutMany(pages, &replaced));
  std::lock_guard<std::mutex> l(misc_mu_);
  for (size_t i = 0; i < pages.size(); ++i) AccountLiveLocked(pages[i].second.loc, replaced[i]);
  return Status::OK();
}

void StoreImpl::AccountLive(const RecordLocation& added, const std::optional<MapValue>& replaced) {
  std::lock_guard<std::mutex> l(misc_mu_);
  AccountLiveLocked(added, replaced);
}

void StoreImpl::AccountLiveLocked(const RecordLocation& added,
                                  const std::optional<MapValue>& replaced) {
  if (added.length > 0) live_[added.segment] += added.length;
  if (replaced && !replaced->tombstone) {
    live_[replaced->loc.segment] -= replaced->loc.length;
  }
}

Status StoreImpl::ApplyRecord(const VolumeState& vol, const RecordHeader& h,
                              const RecordLocation& loc) {
  const uint64_t lineage = vol.info.lineage_id;
  const MapKey key{lineage, h.page_no, h.epoch, h.volume_id};
  switch (h.type) {
    case RecordType::kPage: {
      CLONEFS_ASSIGN_OR_RETURN(auto replaced, map_->Put(key, MapValue{h.seq, loc, false}));
      AccountLive(loc, replaced);
      return Status::OK();
    }
    case RecordType::kRelocated: {
      // A GC copy counts only if the entry still names the same write (same seq).
      CLONEFS_ASSIGN_OR_RETURN(auto cur, map_->GetExact(key));
      if (!cur || cur->tombstone || cur->seq != h.seq) return Status::OK();
      CLONEFS_ASSIGN_OR_RETURN(auto replaced, map_->Put(key, MapValue{h.seq, loc, false}));
      AccountLive(loc, replaced);
      return Status::OK();
    }
    case RecordType::kDiscard: {
      std::vector<uint64_t> pages;
      CLONEFS_RETURN_IF_ERROR(map_->VisitRange(vol.View(h.epoch), h.page_no, h.page_no + h.count,
                                               [&](uint64_t page, const PageVersion& v) {
                                                 if (!v.value.tombstone) pages.push_back(page);
                                                 return Status::OK();
                                               }));
      for (uint64_t page : pages) {
        CLONEFS_ASSIGN_OR_RETURN(auto replaced,
                                 map_->Put(MapKey{lineage, page, h.epoch, h.volume_id},
                                           MapValue{h.seq, RecordLocation{}, true}));
        AccountLive(RecordLocation{}, replaced);
      }
      return Status::OK();
    }
    case RecordType::kRestorePoint:
      return Status::OK();  // not a page-map change: ReplayRestorePoint applies it
  }
  return Status::Corruption("unknown record type");
}

Status StoreImpl::DiscardBytes(VolumeState& vol, uint64_t offset, uint64_t length) {
  const uint64_t ps = vol.info.page_size;
  const uint64_t end = offset + length;
  const uint64_t first_whole = (offset + ps - 1) / ps;
  const uint64_t end_whole = end / ps;
  if (first_whole >= end_whole) {  // no whole page inside: just zero the bytes
    return WriteBytes(vol, offset, std::string(length, '\0'));
  }
  if (offset < first_whole * ps) {
    CLONEFS_RETURN_IF_ERROR(WriteBytes(vol, offset, std::string(first_whole * ps - offset, '\0')));
  }
  if (end > end_whole * ps) {
    CLONEFS_RETURN_IF_ERROR(
        WriteBytes(vol, end_whole * ps, std::string(end - end_whole * ps, '\0')));
  }
  return DiscardPages(vol, first_whole, end_whole);
}

Status StoreImpl::DiscardPages(VolumeState& vol, uint64_t first, uint64_t end) {
  if (first >= end) return Status::OK();
  const uint64_t id = vol.info.id;
  StripeGuard guard(this, id, first, end);
  const uint64_t epoch = vol.epoch;
  bool any = false;
  CLONEFS_RETURN_IF_ERROR(
      map_->VisitRange(vol.View(epoch), first, end, [&](uint64_t, const PageVersion& v) {
        any = any || !v.value.tombstone;
        return Status::OK();
      }));
  if (!any) return Status::OK();
  std::vector<PendingRecord> records(1);
  RecordHeader& h = records[0].header;
  h.type = RecordType::kDiscard;
  h.volume_id = id;
  h.page_no = first;
  h.count = end - first;
  h.epoch = epoch;
  NoteWritten(vol);
  return AppendAndApply(vol, &records);
}

}  // namespace clonefs::store
