// VolumeFs: names, attributes and directories.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "fs/errno_map.h"
#include "fs/volume_fs.h"

namespace clonefs::fs {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint32_t kStatfsBlock = 4096;
constexpr unsigned kMaxNameLength = 63;  // Aurora identifier rules

bool IsDotOrDotDot(const std::string& name) { return name == "." || name == ".."; }

// A lookup failure that only means the name is not there (or could not be a store name).
bool IsNoSuchName(const Status& s) {
  return s.IsNotFound() || s.code() == Status::Code::kInvalidArgument;
}

// A delete refused because the object is open (InvalidVolumeState / InvalidSnapshotState) is
// retried for a moment: the kernel sends RELEASE asynchronously, so a close(2) that returned
// just before an unlink may still be releasing its handle here.
template <typename Op>
Status RetryWhileOpen(Op op) {
  Status s = op();
  for (int i = 0; i < 10 && s.code() == Status::Code::kInvalidState; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    s = op();
  }
  return s;
}

}  // namespace

Result<struct stat> VolumeFs::LookupVolume(const std::string& store_name) {
  Result<store::VolumeInfo> v = store_->GetVolume(store_name);
  if (v.ok()) return VolumeStat(*v);
  return v.status();
}

Result<struct stat> VolumeFs::LookupSnapshot(const Viewer& viewer, const std::string& store_name) {
  Result<store::SnapshotInfo> s = store_->GetSnapshot(store_name);
  if (!s.ok()) return s.status();
  if (!SeesSnapshot(viewer, *s)) return Status::NotFound(store_name);
  snapshots_.Remember(*s);
  return SnapshotStat(*s);
}

void VolumeFs::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  std::string n(name);
  const Viewer viewer = ViewerOf(req);
  // Another account's object of that name is simply not there for this one.
  const std::optional<std::string> own = StoreNameFor(viewer, n);
  Result<struct stat> st = Status::NotFound(n);
  switch (KindOf(parent)) {
    case InodeKind::kRoot:
      if (n == "volumes") st = DirStat(kVolumesDirIno);
      if (n == "snapshots") st = DirStat(kSnapshotsDirIno);
      if (n == "shared" && options_.access != nullptr) st = DirStat(kSharedDirIno);
      break;
    case InodeKind::kVolumesDir:
      if (own) st = LookupVolume(*own);
      break;
    case InodeKind::kSnapshotsDir:
      if (own) st = LookupSnapshot(viewer, *own);
      break;
    case InodeKind::kSharedDir:
      if (std::optional<uint64_t> account = AccountNumber(n)) {
        st = StatInode(AccountDirIno(*account), viewer);
      }
      break;
    case InodeKind::kAccountDir:
      if (n == "snapshots") st = StatInode(AccountSnapshotsIno(ObjectIdOf(parent)), viewer);
      break;
    case InodeKind::kAccountSnapshotsDir:
      if (store::ValidateSnapshotName(n).ok()) {
        st = LookupSnapshot(viewer,
                            options_.access->StoreNameOf(AccountText(ObjectIdOf(parent)), n));
      }
      break;
    case InodeKind::kInvalid:
      break;
    case InodeKind::kVolume:
    case InodeKind::kSnapshot:
      fuse_reply_err(req, ENOTDIR);
      return;
  }
  if (!st.ok()) {
    if (IsNoSuchName(st.status())) {
      fuse_reply_err(req, ENOENT);  // not there, or a name that cannot exist
    } else {
      ReplyError(req, st.status(), "lookup", n);
    }
    return;
  }
  fuse_entry_param e = Entry(*st);
  fuse_reply_entry(req, &e);
}

void VolumeFs::GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Result<struct stat> st = StatInode(ino, ViewerOf(req, ino, fi));
  if (!st.ok()) {
    ReplyError(req, st.status(), "getattr", "inode " + std::to_string(ino));
    return;
  }
  fuse_reply_attr(req, &*st, options_.entry_timeout_s);
}

void VolumeFs::SetAttr(fuse_req_t req, fuse_ino_t ino, const struct stat* attr, int to_set,
                       fuse_file_info* fi) {
  Result<struct stat> cur = StatInode(ino, ViewerOf(req, ino, fi));
  if (!cur.ok()) {
    ReplyError(req, cur.status(), "setattr", "inode " + std::to_string(ino));
    return;
  }
  // Owner and mode are fixed (the daemon's user, 0600): accept only a "change" to themselves.
  bool mode_change =
      (to_set & FUSE_SET_ATTR_MODE) && (attr->st_mode & 07777) != (cur->st_mode & 07777);
  bool uid_change = (to_set & FUSE_SET_ATTR_UID) && attr->st_uid != cur->st_uid;
  bool gid_change = (to_set & FUSE_SET_ATTR_GID) && attr->st_gid != cur->st_gid;
  if (mode_change || uid_change || gid_change) {
    fuse_reply_err(req, EPERM);
    return;
  }
  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (KindOf(ino) != InodeKind::kVolume) {
      fuse_reply_err(req, IsDirectory(ino) ? EISDIR : EROFS);  // only snapshots are left
      return;
    }
    if (attr->st_size < 0 || static_cast<uint64_t>(attr->st_size) > store::kMaxVolumeBytes) {
      fuse_reply_err(req, attr->st_size < 0 ? EINVAL : EFBIG);
      return;
    }
    Result<store::VolumeInfo> v = store_->GetVolumeById(ObjectIdOf(ino));
    if (v.ok()) v = ResizeTo(v->name, static_cast<uint64_t>(attr->st_size));
    if (!v.ok()) {
      ReplyError(req, v.status(), "truncate", "inode " + std::to_string(ino));
      return;
    }
    spdlog::info("mount: volume {} resized to {} bytes", v->name, v->size_bytes);
    cur = VolumeStat(*v);
  }
  // Access and modification times are accepted and not kept.
  fuse_reply_attr(req, &*cur, options_.entry_timeout_s);
}

Result<store::VolumeInfo> VolumeFs::ResizeTo(const std::string& name, uint64_t size) {
  uint64_t rounded = (size + kSector - 1) / kSector * kSector;
  return store_->ResizeVolume(name, rounded);
}

void VolumeFs::OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (!IsDirectory(ino)) {
    fuse_reply_err(req, KindOf(ino) == InodeKind::kInvalid ? ENOENT : ENOTDIR);
    return;
  }
  const Viewer viewer = ViewerOf(req);
  if (!StatInode(ino, viewer).ok()) {
    fuse_reply_err(req, ENOENT);  // a shared/ directory of an account that shares nothing now
    return;
  }
  auto listing = std::make_shared<DirListing>();
  listing->ino = ino;
  listing->viewer = viewer;
  listing->entries.push_back({".", ino, S_IFDIR});
  listing->entries.push_back({"..", ParentOf(ino), S_IFDIR});
  const InodeKind kind = KindOf(ino);
  if (ino == kRootIno) {
    listing->entries.push_back({"volumes", kVolumesDirIno, S_IFDIR});
    listing->entries.push_back({"snapshots", kSnapshotsDirIno, S_IFDIR});
    if (options_.access != nullptr) listing->entries.push_back({"shared", kSharedDirIno, S_IFDIR});
  } else if (kind == InodeKind::kSharedDir) {
    std::string last;
    for (const auto& [owner, name] : SharedWith(viewer)) {
      std::optional<uint64_t> number = AccountNumber(owner);
      if (owner == last || !number) continue;
      listing->entries.push_back({owner, AccountDirIno(*number), S_IFDIR});
      last = owner;
    }
  } else if (kind == InodeKind::kAccountDir) {
    listing->entries.push_back({"snapshots", AccountSnapshotsIno(ObjectIdOf(ino)), S_IFDIR});
  } else if (kind == InodeKind::kAccountSnapshotsDir) {
    const std::string owner = AccountText(ObjectIdOf(ino));
    for (const auto& [account, name] : SharedWith(viewer)) {
      if (account != owner) continue;
      Result<store::SnapshotInfo> s = store_->GetSnapshot(name);
      if (!s.ok()) continue;  // deleted since it was shared
      snapshots_.Remember(*s);
      listing->entries.push_back({ShownName(s->name), SnapshotIno(s->id), S_IFREG});
    }
  } else if (ino == kVolumesDirIno) {
    for (const store::VolumeInfo& v : store_->ListVolumes()) {
      if (Sees(viewer, v.name))
        listing->entries.push_back({ShownName(v.name), VolumeIno(v.id), S_IFREG});
    }
  } else if (ino == kSnapshotsDirIno) {
    std::vector<store::SnapshotInfo> all = store_->ListSnapshots();
    snapshots_.RememberAll(all);
    for (const store::SnapshotInfo& s : all) {
      if (Sees(viewer, s.name))
        listing->entries.push_back({ShownName(s.name), SnapshotIno(s.id), S_IFREG});
    }
  }
  fi->fh = dirs_.Add(std::move(listing));
  if (fuse_reply_open(req, fi) != 0) dirs_.Remove(fi->fh);  // the opener went away
}

void VolumeFs::ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                       bool plus) {
  std::shared_ptr<DirListing> listing = dirs_.Get(fi->fh);
  if (!listing || off < 0) {
    fuse_reply_err(req, listing ? EINVAL : EBADF);
    return;
  }
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t i = static_cast<size_t>(off); i < listing->entries.size(); ++i) {
    const DirEntry& d = listing->entries[i];
    off_t next = static_cast<off_t>(i + 1);
    size_t need;
    if (!plus) {
      struct stat st {};
      st.st_ino = d.ino;
      st.st_mode = d.type;
      need = fuse_add_direntry(req, buf.data() + used, size - used, d.name.c_str(), &st, next);
    } else {
      fuse_entry_param e{};  // ino 0 for "." and "..": no lookup reference taken
      e.attr.st_ino = d.ino;
      e.attr.st_mode = d.type;
      if (!IsDotOrDotDot(d.name)) {
        Result<struct stat> st = StatInode(d.ino, listing->viewer);
        if (!st.ok()) continue;  // deleted since opendir
        e = Entry(*st);
      }
      need = fuse_add_direntry_plus(req, buf.data() + used, size - used, d.name.c_str(), &e, next);
    }
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void VolumeFs::ReleaseDir(fuse_req_t req, fuse_file_info* fi) {
  dirs_.Remove(fi->fh);
  fuse_reply_err(req, 0);
}

Status VolumeFs::CreateVolume(const std::string& store_name, store::VolumeInfo* info) {
  store::VolumeOptions opts;
  opts.size_bytes = 0;  // grows with writes, fallocate or truncate(1)
  CLONEFS_ASSIGN_OR_RETURN(*info, store_->CreateVolume(store_name, opts));
  spdlog::info("mount: volume {} created through the mount", info->name);
  return Status::OK();
}

void VolumeFs::Create(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_file_info* fi) {
  if (parent != kVolumesDirIno) {
    fuse_reply_err(req, EACCES);
    return;
  }
  const Viewer viewer = ViewerOf(req);
  const std::optional<std::string> store_name = StoreNameFor(viewer, name);
  if (!store_name) {
    // A user without an account may create nothing; a name no volume can have is invalid.
    fuse_reply_err(req, viewer.all || viewer.account ? EINVAL : EACCES);
    return;
  }
  store::VolumeInfo info;
  Status s = CreateVolume(*store_name, &info);
  if (s.code() == Status::Code::kAlreadyExists && !(fi->flags & O_EXCL)) {
    // Created by someone else since the kernel's lookup: open it, as open(2) would.
    Result<store::VolumeInfo> v = store_->GetVolume(*store_name);
    s = v.status();
    if (v.ok()) info = *v;
  }
  if (s.ok()) s = OpenInto(info, viewer, fi);
  if (!s.ok()) {
    ReplyError(req, s, "create", name);
    return;
  }
  fuse_entry_param e = Entry(VolumeStat(info));
  if (fuse_reply_create(req, &e, fi) != 0) files_.Remove(fi->fh);  // the opener went away
}

void VolumeFs::MkNod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  if (parent != kVolumesDirIno || !S_ISREG(mode)) {
    fuse_reply_err(req, parent != kVolumesDirIno ? EACCES : EPERM);
    return;
  }
  const Viewer viewer = ViewerOf(req);
  const std::optional<std::string> store_name = StoreNameFor(viewer, name);
  if (!store_name) {
    fuse_reply_err(req, viewer.all || viewer.account ? EINVAL : EACCES);
    return;
  }
  store::VolumeInfo info;
  Status s = CreateVolume(*store_name, &info);
  if (!s.ok()) {
    ReplyError(req, s, "mknod", name);
    return;
  }
  fuse_entry_param e = Entry(VolumeStat(info));
  fuse_reply_entry(req, &e);
}

Ino VolumeFs::ParentOf(Ino dir) {
  switch (KindOf(dir)) {
    case InodeKind::kAccountDir:
      return kSharedDirIno;
    case InodeKind::kAccountSnapshotsDir:
      return AccountDirIno(ObjectIdOf(dir));
    default:
      return kRootIno;
  }
}

void VolumeFs::Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const std::optional<std::string> store_name = StoreNameFor(ViewerOf(req), name);
  if ((parent == kVolumesDirIno || parent == kSnapshotsDirIno) && !store_name) {
    fuse_reply_err(req, ENOENT);
  } else if (parent == kVolumesDirIno) {
    UnlinkVolume(req, *store_name);
  } else if (parent == kSnapshotsDirIno) {
    UnlinkSnapshot(req, *store_name);
  } else {
    fuse_reply_err(req, IsDirectory(parent) ? EACCES : ENOTDIR);
  }
}

void VolumeFs::UnlinkVolume(fuse_req_t req, const std::string& name) {
  Result<store::VolumeInfo> v = store_->GetVolume(name);
  if (!v.ok()) {
    fuse_reply_err(req, IsNoSuchName(v.status()) ? ENOENT : ErrnoFromStatus(v.status()));
    return;
  }
  // Deleting frees the pages at once, so the store refuses while the volume is open (a loop
  // device, a running database): unlike a regular file, EBUSY until it is closed.
  Status s = RetryWhileOpen([&] { return store_->DeleteVolume(name); });
  if (!s.ok()) {
    ReplyError(req, s, "unlink", "volume " + name);
    return;
  }
  {
    std::lock_guard lock(usage_mu_);
    usage_.erase(v->id);
  }
  spdlog::info("mount: volume {} deleted through the mount", name);
  fuse_reply_err(req, 0);
}

void VolumeFs::UnlinkSnapshot(fuse_req_t req, const std::string& name) {
  // As with ZFS's .zfs/snapshot, removing the entry destroys the snapshot. EBUSY while open.
  Result<store::SnapshotInfo> snap = store_->GetSnapshot(name);
  Status s = snap.status();
  // An automated snapshot goes with its retention or its volume (as `clonectl snapshot
  // delete` refuses it); once the volume is gone it is its owner's to remove.
  if (s.ok() && snap->type == store::SnapshotType::kAutomated &&
      store_->GetVolumeById(snap->volume_id).ok()) {
    spdlog::info("mount: unlink of automated snapshot {} refused", name);
    fuse_reply_err(req, EPERM);
    return;
  }
  if (s.ok()) s = RetryWhileOpen([&] { return store_->DeleteSnapshot(name); });
  if (!s.ok()) {
    if (IsNoSuchName(s)) {
      fuse_reply_err(req, ENOENT);
    } else {
      ReplyError(req, s, "unlink", "snapshot " + name);
    }
    return;
  }
  snapshots_.Forget(snap->id);
  spdlog::info("mount: snapshot {} deleted through the mount", name);
  fuse_reply_err(req, 0);
}

void VolumeFs::StatFs(fuse_req_t req) {
  // Capacity is that of the filesystem holding the store: what the store uses plus what it
  // could still use. "Used" is what the segments really hold, not the sum of the files'
  // st_blocks: by default each volume claims its full size there, and thin-provisioned
  // volumes together may claim far more than the capacity.
  struct statvfs host {};
  if (statvfs(store_->info().dir.c_str(), &host) != 0) {
    int err = errno;
    spdlog::error("mount: statvfs {}: {}", store_->info().dir, std::strerror(err));
    fuse_reply_err(req, err);
    return;
  }
  uint64_t free_bytes = static_cast<uint64_t>(host.f_bavail) * host.f_frsize;
  uint64_t used_bytes = store_->GetUsage().segment_bytes;
  struct statvfs st {};
  st.f_bsize = kStatfsBlock;
  st.f_frsize = kStatfsBlock;
  st.f_blocks = (used_bytes + free_bytes) / kStatfsBlock;
  st.f_bfree = free_bytes / kStatfsBlock;
  st.f_bavail = st.f_bfree;
  st.f_namemax = kMaxNameLength;
  fuse_reply_statfs(req, &st);
}

}  // namespace clonefs::fs
