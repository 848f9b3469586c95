// VolumeFs: session lifetime, attributes, error replies and store change notifications.
#include "fs/volume_fs.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "fs/errno_map.h"

namespace clonefs::fs {
namespace {

thread_local bool t_fuse_request_thread = false;

struct timespec Now() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

struct timespec FromMicros(uint64_t us) {
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(us / 1000000);
  ts.tv_nsec = static_cast<long>(us % 1000000) * 1000;
  return ts;
}

}  // namespace

void MarkFuseRequestThread() { t_fuse_request_thread = true; }

void NotifyStoreChange(Invalidator& invalidator, const store::VolumeInfo& volume, bool deleted) {
  // A change made by a FUSE request is one the kernel made itself and already accounts for.
  if (t_fuse_request_thread) return;
  // Drops a cached (possibly negative) name after a create or a delete, and the cached size
  // and data after a resize or a delete. The directory's own attributes go too.
  invalidator.InvalidateEntry(kVolumesDirIno, volume.name);
  invalidator.InvalidateInode(VolumeIno(volume.id));
  invalidator.InvalidateInode(kVolumesDirIno);
}

void NotifySnapshotChange(Invalidator& invalidator, const store::SnapshotInfo& snapshot,
                          bool deleted) {
  if (t_fuse_request_thread) return;
  // A snapshot's content and attributes never change: only its name comes and goes. Dropping
  // the name (and, for a delete, the inode and whatever it cached) lets the next lookup see
  // the catalog; the directory's attributes go as well.
  invalidator.InvalidateEntry(kSnapshotsDirIno, snapshot.name);
  if (deleted) invalidator.InvalidateInode(SnapshotIno(snapshot.id));
  invalidator.InvalidateInode(kSnapshotsDirIno);
}

VolumeFs::VolumeFs(store::Store* store, const VolumeFsOptions& options)
    : store_(store),
      options_(options),
      uid_(getuid()),
      gid_(getgid()),
      mount_time_(Now()),
      snapshots_(store) {}

void VolumeFs::Init(fuse_conn_info* conn) {
  conn->max_write = options_.max_write;  // libfuse lowers it to what its buffers can hold
  conn->max_background = options_.max_background;
  conn->congestion_threshold = options_.max_background * 3 / 4;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  // Every write must reach the store before it is acknowledged: no writeback cache.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  spdlog::info("mount: FUSE session ready (protocol {}.{}, max_write {} KiB, store {})",
               conn->proto_major, conn->proto_minor, conn->max_write >> 10, store_->info().dir);
}

void VolumeFs::Destroy() {
  Status s = store_->Sync();
  if (!s.ok()) {
    spdlog::error("mount: final sync of store {} failed: {}", store_->info().dir, s.ToString());
  }
  if (files_.size() != 0) spdlog::info("mount: {} files still open at unmount", files_.size());
}

VolumeFs::Viewer VolumeFs::ViewerOf(fuse_req_t req) const {
  if (options_.access == nullptr) return Viewer{true, std::nullopt};
  return Viewer{false, options_.access->AccountOfUid(fuse_req_ctx(req)->uid)};
}

VolumeFs::Viewer VolumeFs::ViewerOf(fuse_req_t req, fuse_ino_t ino,
                                    const fuse_file_info* fi) const {
  if (fi != nullptr) {
    std::shared_ptr<OpenFile> file = FileOf(fi);
    if (file && file->ino == ino) return file->opener;
  }
  return ViewerOf(req);
}

bool VolumeFs::Sees(const Viewer& viewer, const std::string& store_name) const {
  if (viewer.all) return true;
  return viewer.account && options_.access->OwnerOf(store_name).account == *viewer.account;
}

std::optional<std::string> VolumeFs::StoreNameFor(const Viewer& viewer,
                                                  const std::string& name) const {
  // Only a name an account can type: a store name of another account ("ACCOUNT.NAME") must
  // not be reachable by spelling it out, nor be created in the mount. Automated snapshots'
  // names (auto:...) are typed names too; no volume has one, so only a snapshot is found.
  if (!store::ValidateSnapshotName(name).ok()) return std::nullopt;
  if (viewer.all) return name;
  if (!viewer.account) return std::nullopt;
  return options_.access->StoreNameOf(*viewer.account, name);
}

std::string VolumeFs::ShownName(const std::string& store_name) const {
  return options_.access == nullptr ? store_name : options_.access->OwnerOf(store_name).name;
}

uid_t VolumeFs::UidOf(const std::string& store_name) const {
  if (options_.access == nullptr) return uid_;
  return options_.access->UidOfAccount(options_.access->OwnerOf(store_name).account);
}

bool VolumeFs::SeesSnapshot(const Viewer& viewer, const store::SnapshotInfo& snapshot) const {
  return Sees(viewer, snapshot.name) ||
         (viewer.account && options_.access->SnapshotSharedWith(*viewer.account, snapshot));
}

std::vector<std::pair<std::string, std::string>> VolumeFs::SharedWith(const Viewer& viewer) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (viewer.all || !viewer.account) return out;
  for (std::string& name : options_.access->SnapshotsSharedWith(*viewer.account)) {
    out.emplace_back(options_.access->OwnerOf(name).account, std::move(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string VolumeFs::AccountText(uint64_t number) {
  std::string digits = std::to_string(number);
  return std::string(digits.size() < 12 ? 12 - digits.size() : 0, '0') + digits;
}

std::optional<uint64_t> VolumeFs::AccountNumber(const std::string& id) {
  if (id.size() != 12) return std::nullopt;
  uint64_t n = 0;
  for (char c : id) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

struct stat VolumeFs::DirStat(Ino ino) const {
  struct stat st {};
  st.st_ino = ino;
  // snapshots/ is writable by its owner only so that unlink can delete a snapshot; creating
  // a file there is refused by the mount itself.
  st.st_mode = S_IFDIR | 0755;
  st.st_nlink = ino == kRootIno ? (options_.access != nullptr ? 5 : 4) : 2;
  st.st_uid = uid_;
  st.st_gid = gid_;
  st.st_blksize = 4096;
  st.st_atim = st.st_mtim = st.st_ctim = mount_time_;
  return st;
}

struct stat VolumeFs::VolumeStat(const store::VolumeInfo& v) {
  struct stat st {};
  st.st_ino = VolumeIno(v.id);
  st.st_mode = S_IFREG | 0600;
  st.st_nlink = 1;
  st.st_uid = UidOf(v.name);
  st.st_gid = gid_;
  st.st_size = static_cast<off_t>(v.size_bytes);
  st.st_blksize = v.page_size;
  // Fully provisioned unless asked otherwise (VolumeFsOptions::sparse_blocks): cp decides
  // from st_blocks whether it may use copy_file_range, i.e. whether the copy can be a clone.
  // `clonectl volume usage` and statfs still tell what the volumes really store.
  st.st_blocks = options_.sparse_blocks ? static_cast<blkcnt_t>(StoredBlocks(v))
                                        : static_cast<blkcnt_t>((v.size_bytes + 511) / 512);
  st.st_atim = st.st_mtim = st.st_ctim = FromMicros(v.create_time_us);
  return st;
}

struct stat VolumeFs::SnapshotStat(const store::SnapshotInfo& s) const {
  struct stat st {};
  st.st_ino = SnapshotIno(s.id);
  st.st_mode = S_IFREG | 0400;
  st.st_nlink = 1;
  st.st_uid = UidOf(s.name);
  st.st_gid = gid_;
  st.st_size = static_cast<off_t>(s.size_bytes);
  st.st_blksize = s.page_size;
  // The store cannot say cheaply what a snapshot alone holds. Showing it as fully allocated
  // keeps archivers from taking a file with few blocks for one that is all holes.
  st.st_blocks = static_cast<blkcnt_t>((s.size_bytes + 511) / 512);
  st.st_atim = st.st_mtim = st.st_ctim = FromMicros(s.create_time_us);
  return st;
}

uint64_t VolumeFs::StoredBlocks(const store::VolumeInfo& v) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(usage_mu_);
    auto it = usage_.find(v.id);
    if (it != usage_.end() && now - it->second.at < options_.usage_ttl) return it->second.blocks;
  }
  // Blocks are what the volume really stores (after zero detection and compression), the
  // way `du` shows a sparse file. Unknown usage shows as nothing stored rather than failing.
  Result<store::VolumeUsage> usage = store_->GetVolumeUsage(v.name);
  uint64_t blocks = usage.ok() ? (usage->stored_bytes + 511) / 512 : 0;
  std::lock_guard lock(usage_mu_);
  usage_[v.id] = Usage{blocks, now};
  return blocks;
}

Result<struct stat> VolumeFs::StatInode(Ino ino, const Viewer& viewer) {
  switch (KindOf(ino)) {
    case InodeKind::kRoot:
    case InodeKind::kVolumesDir:
    case InodeKind::kSnapshotsDir:
      return DirStat(ino);
    case InodeKind::kSharedDir:
      if (options_.access == nullptr) break;
      return DirStat(ino);
    case InodeKind::kAccountDir:
    case InodeKind::kAccountSnapshotsDir: {
      // There for a viewer only while that account shares something with it.
      const std::string owner = AccountText(ObjectIdOf(ino));
      for (const auto& [account, name] : SharedWith(viewer)) {
        if (account == owner) return DirStat(ino);
      }
      break;
    }
    case InodeKind::kVolume: {
      CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, store_->GetVolumeById(ObjectIdOf(ino)));
      if (!Sees(viewer, v.name)) break;
      return VolumeStat(v);
    }
    case InodeKind::kSnapshot: {
      CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s, snapshots_.Find(ObjectIdOf(ino)));
      if (!SeesSnapshot(viewer, s)) break;
      return SnapshotStat(s);
    }
    default:
      break;
  }
  return Status::NotFound("no inode " + std::to_string(ino));
}

double VolumeFs::EntryTimeout(Ino ino) const {
  if (options_.access == nullptr) return options_.entry_timeout_s;
  // What each account sees differs: only the fixed directories are the same for all. A name
  // of anything else is looked up afresh by every path walk, with the walker's uid; an inode's
  // attributes may stay cached, as only who already reached it can ask for them.
  const InodeKind k = KindOf(ino);
  const bool fixed = k == InodeKind::kRoot || k == InodeKind::kVolumesDir ||
                     k == InodeKind::kSnapshotsDir || k == InodeKind::kSharedDir;
  return fixed ? options_.entry_timeout_s : 0.0;
}

fuse_entry_param VolumeFs::Entry(const struct stat& st) const {
  fuse_entry_param e{};
  e.ino = st.st_ino;
  e.generation = 0;  // inode numbers are never reused
  e.attr = st;
  e.attr_timeout = options_.entry_timeout_s;
  e.entry_timeout = EntryTimeout(st.st_ino);
  return e;
}

void VolumeFs::ReplyError(fuse_req_t req, const Status& s, const char* op,
                          const std::string& what) {
  int err = ErrnoFromStatus(s);
  switch (s.code()) {
    case Status::Code::kNotFound:
    case Status::Code::kAlreadyExists:
    case Status::Code::kInvalidArgument:
    case Status::Code::kReadOnly:
      spdlog::debug("mount: {} {}: {}", op, what, s.ToString());
      break;
    case Status::Code::kNoSpace:
    case Status::Code::kQuotaExceeded:
    case Status::Code::kInvalidState:
      spdlog::warn("mount: {} {}: {}", op, what, s.ToString());
      break;
    default:
      spdlog::error("mount: {} {}: {}", op, what, s.ToString());
      break;
  }
  fuse_reply_err(req, err);
}

}  // namespace clonefs::fs
