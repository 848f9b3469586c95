// VolumeFs: the filesystem a clonefs mount presents, one method per FUSE low-level operation.
//
//   /            root (ino 1): volumes/ and snapshots/
//   /volumes/    one regular file per volume, mode 0600, owned by the daemon's uid/gid
//   /snapshots/  one read-only regular file per snapshot, mode 0400; unlinking one deletes the
//                snapshot; snapshots are taken with clonectl, never created here
//
// With an AccessPolicy (access_policy.h) each account sees its own volumes and snapshots in
// those directories, under the names it gave them, owned by its first user's uid, and
//   /shared/ACCOUNT/snapshots/  the snapshots account ACCOUNT shares with it, read-only
//
// Every method answers its request exactly once, with its last statement; nothing after the
// reply may throw. (The trampolines in fuse_server.cc answer EIO for an exception thrown
// before the reply.) Inode numbers come from catalog ids (inodes.h), so there is no inode
// table and FORGET does nothing.
//
// Thread-safe: requests run on libfuse's worker threads. The only locks are leaves (the handle
// tables', the snapshot index's, usage_mu_ and each open file's clone_mu); none is held across
// a store call that may block for long, nor across a fuse_reply_* call. Size changes need no
// lock of their own: writes past the end use VolumeHandle::Grow, which never shrinks, so racing
// writers cannot undo each other's growth.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fs/access_policy.h"
#include "fs/fuse_api.h"
#include "fs/handle_table.h"
#include "fs/inodes.h"
#include "fs/invalidator.h"
#include "fs/snapshot_index.h"
#include "store/store.h"

namespace clonefs::fs {

struct VolumeFsOptions {
  double entry_timeout_s = 1.0;  // how long the kernel may cache names and attributes
  // What st_blocks of a volume says. false (the default): the whole size, as for a fully
  // provisioned image. cp (coreutils 9) copies a file whose st_blocks fall short of its size
  // as a sparse one, with read/write and holes, and only otherwise with copy_file_range, which
  // is what makes `cp volumes/A volumes/B` an O(1) clone (volume_fs_copy.cc); most volumes
  // store far less than their size. true (-o sparse_blocks): the bytes the volume stores, so
  // that du shows real allocation, at the price of cp copying such volumes byte for byte.
  bool sparse_blocks = false;
  // With sparse_blocks, how long a volume's stored-bytes figure is reused: computing it walks
  // the volume's page map, far too slow to repeat on every getattr.
  std::chrono::milliseconds usage_ttl{5000};
  unsigned max_write = 1u << 20;
  unsigned max_background = 64;  // parallel async requests (read-ahead, AIO from loop devices)
  // Null: a single-owner mount. Otherwise each request sees what its user's account owns
  // (access_policy.h), and names of volumes and snapshots are never cached by the kernel: its
  // dentry cache is shared by every user, and a lookup is where the uid is checked.
  std::shared_ptr<const AccessPolicy> access;
};

// Marks the calling thread as one that serves FUSE requests: store changes made from it came
// through the kernel, which already knows about them, so they need no invalidation.
void MarkFuseRequestThread();

// The store change listener of a mount: queues the kernel cache invalidations for a volume
// created, resized or deleted outside the mount. Never blocks on the kernel. A free function
// so that the listener needs only the Invalidator, which may outlive the VolumeFs.
void NotifyStoreChange(Invalidator& invalidator, const store::VolumeInfo& volume, bool deleted);
// The same for a snapshot created or deleted outside the mount (see NotifyingStore).
void NotifySnapshotChange(Invalidator& invalidator, const store::SnapshotInfo& snapshot,
                          bool deleted);

class VolumeFs {
 public:
  // `store` must outlive this object.
  VolumeFs(store::Store* store, const VolumeFsOptions& options);
  VolumeFs(const VolumeFs&) = delete;
  VolumeFs& operator=(const VolumeFs&) = delete;

  // Number of files still open through the mount.
  size_t open_files() const { return files_.size(); }

  // Session lifetime.
  void Init(fuse_conn_info* conn);
  void Destroy();

  // Names and attributes (volume_fs_dir.cc).
  void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  // `fi`: the open file the request is about, if any (see OpenFile::opener).
  void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void SetAttr(fuse_req_t req, fuse_ino_t ino, const struct stat* attr, int to_set,
               fuse_file_info* fi);
  void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
               bool plus);
  void ReleaseDir(fuse_req_t req, fuse_file_info* fi);
  void Create(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_file_info* fi);
  void MkNod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
  void StatFs(fuse_req_t req);

  // Data (volume_fs_io.cc).
  void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Release(fuse_req_t req, fuse_file_info* fi);
  void Read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi);
  void Write(fuse_req_t req, const char* buf, size_t size, off_t off, fuse_file_info* fi);
  void Fsync(fuse_req_t req, fuse_file_info* fi);
  void Fallocate(fuse_req_t req, int mode, off_t offset, off_t length, fuse_file_info* fi);
  // copy_file_range (volume_fs_copy.cc): a whole volume into an empty one becomes an O(1)
  // copy-on-write clone; any other range is copied byte for byte inside the daemon.
  void CopyFileRange(fuse_req_t req, off_t off_in, fuse_file_info* fi_in, off_t off_out,
                     fuse_file_info* fi_out, size_t len, int flags);

 private:
  // The account a request acts for. In a single-owner mount every request sees everything
  // (`all`); otherwise `account` is the account of the request's uid, or none.
  struct Viewer {
    bool all = false;
    std::optional<std::string> account;
  };
  // A volume or snapshot opened through the mount. It holds the store handle, and nothing
  // else does: the handle (which keeps the object from being deleted) goes with the release.
  struct OpenFile {
    std::shared_ptr<store::VolumeHandle> handle;
    Ino ino = 0;
    std::string name;
    bool read_only = false;  // a snapshot
    // Who opened it. A request on the open file (GETATTR or SETATTR with its handle) acts as
    // the opener, whoever sends it: a loop device's I/O runs in a kernel thread as root, and
    // its size checks must not fail because root's account does not see the opener's image.
    Viewer opener;
    // Set on a destination that a copy_file_range through this handle made a clone of
    // `source` (see volume_fs_copy.cc): while both generations stay as recorded, the rest of
    // the same copy is already in place.
    struct CloneRecord {
      Ino source = 0;
      uint64_t source_generation = 0;
      uint64_t dest_generation = 0;
      uint64_t size = 0;  // the clone's size, i.e. the source's at the clone point
    };
    std::mutex clone_mu;               // leaf lock
    std::optional<CloneRecord> clone;  // GUARDED_BY(clone_mu)
  };
  // The entries of a directory as of opendir, so that readdir offsets stay stable.
  struct DirEntry {
    std::string name;
    Ino ino = 0;
    mode_t type = 0;  // S_IFDIR or S_IFREG
  };
  struct DirListing {
    Ino ino = 0;
    std::vector<DirEntry> entries;
    Viewer viewer;  // whom the listing was made for
  };

  Viewer ViewerOf(fuse_req_t req) const;
  // The viewer of a request on inode `ino`: the opener of `fi` when it is an open file of that
  // inode, else the request's caller.
  Viewer ViewerOf(fuse_req_t req, fuse_ino_t ino, const fuse_file_info* fi) const;
  // Whether `viewer` owns store name `store_name`.
  bool Sees(const Viewer& viewer, const std::string& store_name) const;
  // The store name of what `viewer` calls `name`; nullopt when it has no account.
  std::optional<std::string> StoreNameFor(const Viewer& viewer, const std::string& name) const;
  // The name a store name shows under in the owner's view.
  std::string ShownName(const std::string& store_name) const;
  uid_t UidOf(const std::string& store_name) const;
  // Whether `viewer` owns snapshot `store_name` or has it shared with it.
  bool SeesSnapshot(const Viewer& viewer, const store::SnapshotInfo& snapshot) const;
  // The snapshots other accounts share with `viewer`, as (owner, store name), by owner.
  std::vector<std::pair<std::string, std::string>> SharedWith(const Viewer& viewer) const;
  // An account id and the number its shared/ directories' inodes carry.
  static std::string AccountText(uint64_t number);
  static std::optional<uint64_t> AccountNumber(const std::string& id);
  static Ino ParentOf(Ino dir);

  struct stat DirStat(Ino ino) const;
  struct stat VolumeStat(const store::VolumeInfo& v);
  struct stat SnapshotStat(const store::SnapshotInfo& s) const;
  // st_blocks of a volume under sparse_blocks, from a cache refreshed at most every usage_ttl.
  uint64_t StoredBlocks(const store::VolumeInfo& v);
  // Attributes of any inode as `viewer` sees it; NotFound for a deleted volume, an unknown
  // number or one the viewer may not see.
  Result<struct stat> StatInode(Ino ino, const Viewer& viewer);
  fuse_entry_param Entry(const struct stat& st) const;
  // The attributes of a name in volumes/ or in a snapshots/ directory (NotFound when there is
  // none, or none `viewer` may see).
  Result<struct stat> LookupVolume(const std::string& store_name);
  Result<struct stat> LookupSnapshot(const Viewer& viewer, const std::string& store_name);
  // How long the kernel may keep a name of `ino`.
  double EntryTimeout(Ino ino) const;

  // Opens volume `info` and registers it in fi->fh.
  Status OpenInto(const store::VolumeInfo& info, const Viewer& opener, fuse_file_info* fi);
  // Opens snapshot `info` read-only and registers it in fi->fh.
  Status OpenSnapshotInto(const store::SnapshotInfo& info, const Viewer& opener,
                          fuse_file_info* fi);
  void Register(std::shared_ptr<store::VolumeHandle> handle, Ino ino, const std::string& name,
                const Viewer& opener, fuse_file_info* fi);
  std::shared_ptr<OpenFile> FileOf(const fuse_file_info* fi) const;
  // Sets the size to `size` rounded up to a sector (grow or shrink): a synced catalog change.
  Result<store::VolumeInfo> ResizeTo(const std::string& name, uint64_t size);
  Status CreateVolume(const std::string& store_name, store::VolumeInfo* info);
  // copy_file_range helpers (volume_fs_copy.cc).
  bool IsClonedRange(const OpenFile& in, OpenFile& out, uint64_t off_in, uint64_t off_out,
                     uint64_t n);
  bool CloneWhole(const OpenFile& in, OpenFile& out);
  Result<uint64_t> CopyBytes(const OpenFile& in, const OpenFile& out, uint64_t off_in,
                             uint64_t off_out, uint64_t n);
  void UnlinkVolume(fuse_req_t req, const std::string& name);
  void UnlinkSnapshot(fuse_req_t req, const std::string& name);

  // Replies with the errno for `s`, logging failures that are not the caller's doing.
  void ReplyError(fuse_req_t req, const Status& s, const char* op, const std::string& what);

  store::Store* const store_;
  const VolumeFsOptions options_;
  const uid_t uid_;
  const gid_t gid_;
  const struct timespec mount_time_;

  HandleTable<OpenFile> files_;
  HandleTable<DirListing> dirs_;
  SnapshotIndex snapshots_;
  struct Usage {
    uint64_t blocks = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex usage_mu_;                        // leaf lock; not held while the usage is computed
  std::unordered_map<uint64_t, Usage> usage_;  // by volume id
};

}  // namespace clonefs::fs
