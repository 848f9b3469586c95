// VolumeFs: opening volumes and snapshots and moving their bytes.
#include <fcntl.h>
#include <linux/falloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "fs/volume_fs.h"

namespace clonefs::fs {
namespace {

// A per-thread read buffer: requests are at most max_read bytes, and the reply copies the
// bytes out before the thread takes its next request.
char* ReadBuffer(size_t n) {
  thread_local std::unique_ptr<char[]> buf;
  thread_local size_t capacity = 0;
  if (n > capacity) {
    buf.reset(new char[n]);  // uninitialized: Read() fills every byte it returns
    capacity = n;
  }
  return buf.get();
}

// The end of [off, off+len), or 0 when it overflows or passes the largest volume.
uint64_t EndOf(off_t off, uint64_t len) {
  uint64_t start = static_cast<uint64_t>(off);
  if (off < 0 || len > store::kMaxVolumeBytes || start > store::kMaxVolumeBytes - len) return 0;
  return start + len;
}

std::string Where(const std::string& name, uint64_t off, uint64_t len) {
  return name + " [" + std::to_string(off) + ", +" + std::to_string(len) + ")";
}

}  // namespace

void VolumeFs::Register(std::shared_ptr<store::VolumeHandle> handle, Ino ino,
                        const std::string& name, const Viewer& opener, fuse_file_info* fi) {
  auto file = std::make_shared<OpenFile>();
  file->opener = opener;
  file->read_only = handle->read_only();
  file->handle = std::move(handle);
  file->ino = ino;
  file->name = name;
  fi->fh = files_.Add(std::move(file));
}

Status VolumeFs::OpenInto(const store::VolumeInfo& info, const Viewer& opener, fuse_file_info* fi) {
  CLONEFS_ASSIGN_OR_RETURN(std::shared_ptr<store::VolumeHandle> h, store_->OpenVolume(info.name));
  Register(std::move(h), VolumeIno(info.id), info.name, opener, fi);
  // Reads go through the page cache; data only changes through this mount, but the cache is
  // dropped at each open so that an external change (a restore) is never served stale.
  fi->keep_cache = 0;
  fi->direct_io = 0;
  return Status::OK();
}

Status VolumeFs::OpenSnapshotInto(const store::SnapshotInfo& info, const Viewer& opener,
                                  fuse_file_info* fi) {
  CLONEFS_ASSIGN_OR_RETURN(std::shared_ptr<store::VolumeHandle> h, store_->OpenSnapshot(info.name));
  Register(std::move(h), SnapshotIno(info.id), info.name, opener, fi);
  // A snapshot never changes and its inode number is never given to another one while the
  // store is open, so cached pages stay valid across opens.
  fi->keep_cache = 1;
  fi->direct_io = 0;
  return Status::OK();
}

std::shared_ptr<VolumeFs::OpenFile> VolumeFs::FileOf(const fuse_file_info* fi) const {
  return files_.Get(fi->fh);
}

void VolumeFs::Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  InodeKind kind = KindOf(ino);
  Status s;
  const Viewer viewer = ViewerOf(req);
  auto unseen = [&] { return Status::NotFound("inode " + std::to_string(ino)); };
  if (kind == InodeKind::kVolume) {
    Result<store::VolumeInfo> v = store_->GetVolumeById(ObjectIdOf(ino));
    if (v.ok() && !Sees(viewer, v->name)) v = unseen();
    if (v.ok() && (fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
      v = ResizeTo(v->name, 0);  // POSIX O_TRUNC: the image becomes empty
      if (v.ok()) spdlog::info("mount: volume {} truncated to 0 by open", v->name);
    }
    s = v.ok() ? OpenInto(*v, viewer, fi) : v.status();
  } else if (kind == InodeKind::kSnapshot) {
    Result<store::SnapshotInfo> snap = snapshots_.Find(ObjectIdOf(ino));
    if (snap.ok() && !SeesSnapshot(viewer, *snap)) snap = unseen();
    if (snap.ok() && ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))) {
      fuse_reply_err(req, EROFS);  // root passes the 0400 mode check; the snapshot does not
      return;
    }
    s = snap.ok() ? OpenSnapshotInto(*snap, viewer, fi) : snap.status();
  } else {
    fuse_reply_err(req, IsDirectory(ino) ? EISDIR : ENOENT);
    return;
  }
  if (!s.ok()) {
    ReplyError(req, s, "open", "inode " + std::to_string(ino));
    return;
  }
  if (fuse_reply_open(req, fi) != 0) files_.Remove(fi->fh);  // the opener went away
}

void VolumeFs::Release(fuse_req_t req, fuse_file_info* fi) {
  std::shared_ptr<OpenFile> file = files_.Remove(fi->fh);
  fuse_reply_err(req, 0);
  // `file` (and possibly the last reference to its handle) goes here, after the reply.
}

void VolumeFs::Read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
  std::shared_ptr<OpenFile> file = FileOf(fi);
  if (!file || off < 0) {
    fuse_reply_err(req, file ? EINVAL : EBADF);
    return;
  }
  uint64_t volume_size = file->handle->size();
  uint64_t start = static_cast<uint64_t>(off);
  if (start >= volume_size || size == 0) {
    fuse_reply_buf(req, nullptr, 0);  // at or past the end: EOF, like a regular file
    return;
  }
  size_t n = static_cast<size_t>(std::min<uint64_t>(size, volume_size - start));
  char* buf = ReadBuffer(n);
  Status s = file->handle->Read(start, n, buf);
  if (!s.ok()) {
    ReplyError(req, s, "read", Where(file->name, start, n));
    return;
  }
  fuse_reply_buf(req, buf, n);
}

void VolumeFs::Write(fuse_req_t req, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  std::shared_ptr<OpenFile> file = FileOf(fi);
  if (!file || file->read_only) {
    fuse_reply_err(req, file ? EROFS : EBADF);
    return;
  }
  uint64_t end = EndOf(off, size);
  if (end == 0 && size != 0) {
    fuse_reply_err(req, off < 0 ? EINVAL : EFBIG);
    return;
  }
  uint64_t start = static_cast<uint64_t>(off);
  Status s;
  // Regular-file semantics: a write past the end grows the image (what cp and dd expect).
  // Grow() is cheap (durable with the next fsync, like a regular file's size) and never
  // shrinks, so concurrent writes past the end need no ordering among themselves.
  if (end > file->handle->size()) s = file->handle->Grow(end);
  if (s.ok()) s = file->handle->Write(start, std::string_view(buf, size));
  if (!s.ok()) {
    ReplyError(req, s, "write", Where(file->name, start, size));
    return;
  }
  fuse_reply_write(req, size);
}

void VolumeFs::Fsync(fuse_req_t req, fuse_file_info* fi) {
  std::shared_ptr<OpenFile> file = FileOf(fi);
  if (!file) {
    fuse_reply_err(req, EBADF);
    return;
  }
  Status s = file->handle->Sync();
  if (!s.ok()) {
    ReplyError(req, s, "fsync", file->name);
    return;
  }
  fuse_reply_err(req, 0);
}

void VolumeFs::Fallocate(fuse_req_t req, int mode, off_t offset, off_t length, fuse_file_info* fi) {
  std::shared_ptr<OpenFile> file = FileOf(fi);
  if (!file || file->read_only) {
    fuse_reply_err(req, file ? EROFS : EBADF);
    return;
  }
  uint64_t end = length > 0 ? EndOf(offset, static_cast<uint64_t>(length)) : 0;
  if (offset < 0 || length <= 0 || end == 0) {
    fuse_reply_err(req, offset < 0 || length <= 0 ? EINVAL : EFBIG);
    return;
  }
  const bool keep_size = mode & FALLOC_FL_KEEP_SIZE;
  const int op = mode & ~FALLOC_FL_KEEP_SIZE;
  const bool punch = op == FALLOC_FL_PUNCH_HOLE;
  if (!(op == 0 || op == FALLOC_FL_ZERO_RANGE || (punch && keep_size))) {
    fuse_reply_err(req, EOPNOTSUPP);  // collapse/insert range, unshare, punch without keep
    return;
  }
  const uint64_t start = static_cast<uint64_t>(offset);
  Status s;
  if (!keep_size && !punch && end > file->handle->size()) s = file->handle->Grow(end);
  // Allocation itself is a no-op (pages are stored when written); zeroing and punching both
  // discard, which frees whole pages and zeroes the partial ones at the edges.
  uint64_t size = file->handle->size();
  if (s.ok() && op != 0 && start < size) {
    s = file->handle->Discard(start, std::min(end, size) - start);
  }
  if (!s.ok()) {
    ReplyError(req, s, "fallocate", Where(file->name, start, end - start));
    return;
  }
  fuse_reply_err(req, 0);
}

}  // namespace clonefs::fs
