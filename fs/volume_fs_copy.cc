// VolumeFs::CopyFileRange: copy_file_range(2) between files of the mount, which is how cp
// (coreutils 9) copies a file that does not look sparse, --reflink=auto being its default.
// Volumes never look sparse unless mounted with -o sparse_blocks (VolumeFsOptions).
//
// What cp sends: it opens DEST with O_TRUNC (an existing volume becomes empty), then asks to
// copy from offset 0 to offset 0 up to the end of SOURCE, and again from wherever a reply
// stopped. The kernel forwards each call as one request; lacking FUSE_COPY_FILE_RANGE_64
// (libfuse 3.14 answers ENOSYS), it uses the old request, whose length it caps at
// UINT_MAX & PAGE_MASK and whose reply carries a 32-bit count.
//
// 1. A whole volume or snapshot into an empty volume (both offsets 0, the length reaching the
//    source's end or the kernel's cap, DEST of size 0) becomes Store::CloneInto (or
//    RestoreSnapshotInto): O(1), copying nothing. The reply covers at most 1 GiB.
// 2. The rest of that copy: DEST is a clone of SOURCE at the same offsets, so while neither
//    generation moved since the clone (no write, discard or resize on either side), any range
//    at equal offsets already holds what a copy would put there and is answered as done.
// 3. Anything else is copied byte for byte through the store handles, at most 16 MiB per
//    request (cp asks again for the rest). That includes a clone the store refuses: a DEST
//    that held data, a 16th clone in a lineage. cp then gives its usual result, a full
//    independent copy, only not in O(1).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string_view>

#include "fs/volume_fs.h"

namespace clonefs::fs {
namespace {

// One reply's count: well inside the protocol's 32 bits.
constexpr uint64_t kMaxReply = 1ull << 30;
// The length a kernel without FUSE_COPY_FILE_RANGE_64 support in the daemon sends when the
// caller asked for more (UINT_MAX & PAGE_MASK). Taken as "to the end of the source": a caller
// asking for exactly this prefix of a larger volume into an empty one gets the whole volume.
constexpr uint64_t kKernelLengthCap = 0xFFFFF000ull;
// Bytes copied through the handles per request, and per read/write inside it.
constexpr uint64_t kMaxByteCopy = 16ull << 20;
constexpr uint64_t kCopyChunk = 1ull << 20;

// A store refusal that only means "not as a clone": the bytes get copied instead.
bool IsCloneRefusal(const Status& s) {
  return s.code() == Status::Code::kInvalidState || s.code() == Status::Code::kQuotaExceeded;
}

}  // namespace

void VolumeFs::CopyFileRange(fuse_req_t req, off_t off_in, fuse_file_info* fi_in, off_t off_out,
                             fuse_file_info* fi_out, size_t len, int flags) {
  std::shared_ptr<OpenFile> in = FileOf(fi_in);
  std::shared_ptr<OpenFile> out = FileOf(fi_out);
  if (!in || !out || out->read_only) {
    fuse_reply_err(req, EBADF);  // the kernel lets no read-only file be the destination
    return;
  }
  if (flags != 0 || off_in < 0 || off_out < 0) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  const uint64_t from = static_cast<uint64_t>(off_in);
  const uint64_t to = static_cast<uint64_t>(off_out);
  const uint64_t source_size = in->handle->size();
  spdlog::debug("mount: copy_file_range {} [{}, +{}) to {} at {}", in->name, from, len, out->name,
                to);
  if (from >= source_size || len == 0) {
    fuse_reply_write(req, 0);  // nothing left to copy: cp's end of file
    return;
  }
  const uint64_t n = std::min<uint64_t>({len, source_size - from, kMaxReply});
  if (to > store::kMaxVolumeBytes - n) {
    fuse_reply_err(req, EFBIG);
    return;
  }
  if (IsClonedRange(*in, *out, from, to, n)) {
    fuse_reply_write(req, n);
    return;
  }
  const bool whole = from == 0 && to == 0 && (len >= source_size || len == kKernelLengthCap);
  if (whole && in->ino != out->ino && out->handle->size() == 0 && CloneWhole(*in, *out)) {
    fuse_reply_write(req, n);
    return;
  }
  Result<uint64_t> copied = CopyBytes(*in, *out, from, to, std::min(n, kMaxByteCopy));
  if (!copied.ok()) {
    ReplyError(req, copied.status(), "copy_file_range",
               in->name + " [" + std::to_string(from) + ", +" + std::to_string(n) + ") to " +
                   out->name + " at " + std::to_string(to));
    return;
  }
  fuse_reply_write(req, *copied);
}

bool VolumeFs::IsClonedRange(const OpenFile& in, OpenFile& out, uint64_t off_in, uint64_t off_out,
                             uint64_t n) {
  std::lock_guard lock(out.clone_mu);
  if (!out.clone) return false;
  const OpenFile::CloneRecord& c = *out.clone;
  if (in.handle->generation() != c.source_generation ||
      out.handle->generation() != c.dest_generation) {
    out.clone.reset();  // generations only move forward: this record is stale for good
    return false;
  }
  return in.ino == c.source && off_in == off_out && off_in <= c.size && n <= c.size - off_in;
}

bool VolumeFs::CloneWhole(const OpenFile& in, OpenFile& out) {
  Result<store::CloneIntoResult> r = in.read_only ? store_->RestoreSnapshotInto(in.name, out.name)
                                                  : store_->CloneInto(in.name, out.name);
  if (!r.ok()) {
    // Not the caller's failure: the bytes are copied instead.
    if (IsCloneRefusal(r.status())) {
      spdlog::info("mount: copy of {} into {}: no copy-on-write clone ({}); copying the bytes",
                   in.name, out.name, r.status().ToString());
    } else {
      spdlog::warn("mount: copy of {} into {}: cloning failed ({}); copying the bytes", in.name,
                   out.name, r.status().ToString());
    }
    return false;
  }
  {
    std::lock_guard lock(out.clone_mu);
    out.clone = OpenFile::CloneRecord{in.ino, r->source_generation, r->dest_generation,
                                      r->volume.size_bytes};
  }
  {
    std::lock_guard lock(usage_mu_);
    usage_.erase(r->volume.id);  // sparse_blocks: the clone now reads the source's pages
  }
  spdlog::info("mount: volume {} is now a copy-on-write clone of {} ({} bytes, by cp)", out.name,
               in.name, r->volume.size_bytes);
  return true;
}

Result<uint64_t> VolumeFs::CopyBytes(const OpenFile& in, const OpenFile& out, uint64_t off_in,
                                     uint64_t off_out, uint64_t n) {
  std::unique_ptr<char[]> buf(new char[std::min(n, kCopyChunk)]);
  uint64_t done = 0;
  while (done < n) {
    const size_t m = static_cast<size_t>(std::min(n - done, kCopyChunk));
    const uint64_t end = off_out + done + m;
    Status s = in.handle->Read(off_in + done, m, buf.get());
    // Like a write past the end (VolumeFs::Write): the destination grows as a file would.
    if (s.ok() && end > out.handle->size()) s = out.handle->Grow(end);
    if (s.ok()) s = out.handle->Write(off_out + done, std::string_view(buf.get(), m));
    if (!s.ok()) {
      if (done > 0) return done;  // a short copy; the next call reports the error
      return s;
    }
    done += m;
  }
  return done;
}

}  // namespace clonefs::fs
