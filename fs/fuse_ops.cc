#include "fs/fuse_ops.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <exception>

#include "fs/volume_fs.h"

namespace clonefs::fs {
namespace {

// Runs `body` for request `req`. VolumeFs methods reply with their last statement, so an
// exception means no reply was sent yet and answering EIO keeps "exactly one reply".
template <typename Body>
void Serve(fuse_req_t req, const char* op, Body&& body) {
  MarkFuseRequestThread();
  try {
    body(static_cast<VolumeFs*>(fuse_req_userdata(req)));
    return;
  } catch (const std::exception& e) {
    spdlog::error("mount: {} failed: {}", op, e.what());
  } catch (...) {
    spdlog::error("mount: {} failed with an unknown exception", op);
  }
  fuse_reply_err(req, EIO);
}

void Init(void* userdata, fuse_conn_info* conn) {
  try {
    static_cast<VolumeFs*>(userdata)->Init(conn);
  } catch (const std::exception& e) {
    spdlog::error("mount: init failed: {}", e.what());
  }
}

void Destroy(void* userdata) {
  try {
    static_cast<VolumeFs*>(userdata)->Destroy();
  } catch (const std::exception& e) {
    spdlog::error("mount: destroy failed: {}", e.what());
  }
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Serve(req, "lookup", [&](VolumeFs* fs) { fs->Lookup(req, parent, name); });
}

// Inode numbers are derived from catalog ids: there is nothing to forget.
void Forget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }
void ForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) { fuse_reply_none(req); }

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, "getattr", [&](VolumeFs* fs) { fs->GetAttr(req, ino, fi); });
}

void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Serve(req, "setattr", [&](VolumeFs* fs) { fs->SetAttr(req, ino, attr, to_set, fi); });
}

void MkNod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
  Serve(req, "mknod", [&](VolumeFs* fs) { fs->MkNod(req, parent, name, mode); });
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Serve(req, "unlink", [&](VolumeFs* fs) { fs->Unlink(req, parent, name); });
}

// The tree's shape is fixed, and a volume is renamed with `clonectl volume modify --new-name`,
// which checks the sharing rules the mount does not know: directories, links and renames are
// refused as not permitted (ENOSYS would read as a missing feature, EXDEV would make mv(1)
// fall back to copying a whole image).
void MkDir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EPERM); }
void RmDir(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void SymLink(fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void Link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void Rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
  fuse_reply_err(req, EPERM);
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t, fuse_file_info* fi) {
  Serve(req, "create", [&](VolumeFs* fs) { fs->Create(req, parent, name, fi); });
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, "open", [&](VolumeFs* fs) { fs->Open(req, ino, fi); });
}

void Read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Serve(req, "read", [&](VolumeFs* fs) { fs->Read(req, size, off, fi); });
}

void Write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off,
           fuse_file_info* fi) {
  Serve(req, "write", [&](VolumeFs* fs) { fs->Write(req, buf, size, off, fi); });
}

// Nothing is buffered above the store, so close(2) has nothing to push.
void Flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void Release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Serve(req, "release", [&](VolumeFs* fs) { fs->Release(req, fi); });
}

void Fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  Serve(req, "fsync", [&](VolumeFs* fs) { fs->Fsync(req, fi); });
}

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Serve(req, "opendir", [&](VolumeFs* fs) { fs->OpenDir(req, ino, fi); });
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Serve(req, "readdir", [&](VolumeFs* fs) { fs->ReadDir(req, ino, size, off, fi, false); });
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Serve(req, "readdirplus", [&](VolumeFs* fs) { fs->ReadDir(req, ino, size, off, fi, true); });
}

void ReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Serve(req, "releasedir", [&](VolumeFs* fs) { fs->ReleaseDir(req, fi); });
}

// Catalog changes are durable when they return: a directory has nothing left to sync.
void FsyncDir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(req, 0); }

void StatFs(fuse_req_t req, fuse_ino_t) {
  Serve(req, "statfs", [&](VolumeFs* fs) { fs->StatFs(req); });
}

void Fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t offset, off_t length,
               fuse_file_info* fi) {
  Serve(req, "fallocate", [&](VolumeFs* fs) { fs->Fallocate(req, mode, offset, length, fi); });
}

void CopyFileRange(fuse_req_t req, fuse_ino_t, off_t off_in, fuse_file_info* fi_in, fuse_ino_t,
                   off_t off_out, fuse_file_info* fi_out, size_t len, int flags) {
  Serve(req, "copy_file_range",
        [&](VolumeFs* fs) { fs->CopyFileRange(req, off_in, fi_in, off_out, fi_out, len, flags); });
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.destroy = Destroy;
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.forget_multi = ForgetMulti;
  ops.getattr = GetAttr;
  ops.setattr = SetAttr;
  ops.mknod = MkNod;
  ops.unlink = Unlink;
  ops.mkdir = MkDir;
  ops.rmdir = RmDir;
  ops.symlink = SymLink;
  ops.link = Link;
  ops.rename = Rename;
  ops.create = Create;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.readdirplus = ReadDirPlus;
  ops.releasedir = ReleaseDir;
  ops.fsyncdir = FsyncDir;
  ops.statfs = StatFs;
  ops.fallocate = Fallocate;
  ops.copy_file_range = CopyFileRange;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& VolumeFsOps() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace clonefs::fs
