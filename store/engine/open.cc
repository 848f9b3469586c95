// Store creation, opening and recovery (replay of the log from the last checkpoint).
#include <spdlog/spdlog.h>

#include <random>

#include "base/coding.h"
#include "base/error_names.h"
#include "store/engine/store_impl.h"
#include "store/log/posix_segment_store.h"
#include "store/meta/catalog_codec.h"
#include "store/meta/rocks_meta_db.h"

namespace clonefs::store {
namespace {

constexpr char kFormatFile[] = "/FORMAT";
constexpr char kLockFile[] = "/LOCK";
constexpr char kMetaDir[] = "/meta";
constexpr char kSegmentDir[] = "/segments";

Status ValidateRegion(const std::string& region) {
  bool ok = !region.empty() && region.size() <= 32 && std::islower(region[0]);
  for (char c : region) ok = ok && (std::islower(c) || std::isdigit(c) || c == '-');
  if (!ok) {
    return Status::InvalidArgument("region '" + region +
                                   "' must be 1-32 lowercase letters, digits and hyphens, "
                                   "starting with a letter (like us-east-1)");
  }
  return Status::OK();
}

// The backends `options` names, or the default ones in `dir`.
Result<std::shared_ptr<MetaDb>> MetaDbFor(const std::string& dir, const StoreOptions& options,
                                          uint64_t cache_bytes) {
  if (options.meta_db != nullptr) return options.meta_db;
  CLONEFS_ASSIGN_OR_RETURN(auto db, OpenRocksMetaDb(dir + kMetaDir, cache_bytes));
  return std::shared_ptr<MetaDb>(std::move(db));
}
Result<std::shared_ptr<SegmentStore>> SegmentStoreFor(const std::string& dir,
                                                      const StoreOptions& options) {
  if (options.segment_store != nullptr) return options.segment_store;
  CLONEFS_ASSIGN_OR_RETURN(auto files, PosixSegmentStore::Open(options.env, dir + kSegmentDir,
                                                               options.max_open_segment_files));
  return std::shared_ptr<SegmentStore>(std::move(files));
}

std::string RandomAccountId() {
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 12; ++i) id.push_back(static_cast<char>('0' + rd() % 10));
  if (id[0] == '0') id[0] = '1';
  return id;
}

}  // namespace

bool Store::IsStore(Env* env, const std::string& dir) { return env->FileExists(dir + kFormatFile); }

Status Store::Create(const std::string& dir, const std::string& region, Env* env) {
  StoreOptions options;
  options.env = env;
  return Create(dir, region, options);
}

Status Store::Create(const std::string& dir, const std::string& region,
                     const StoreOptions& options) {
  Env* const env = options.env;
  CLONEFS_RETURN_IF_ERROR(ValidateRegion(region));
  if (IsStore(env, dir)) {
    return errors::Named(errors::kStoreAlreadyExists,
                         Status::AlreadyExists(dir + " is already a clonefs store"));
  }
  CLONEFS_RETURN_IF_ERROR(env->CreateDir(dir));
  CLONEFS_ASSIGN_OR_RETURN(auto entries, env->ListDir(dir));
  for (const auto& e : entries) {
    if (e != "lost+found" && e != "meta" && e != "segments" && e != "LOCK") {
      return Status::InvalidArgument(dir + " is not empty (found '" + e +
                                     "'); a store needs an empty directory");
    }
  }
  CLONEFS_ASSIGN_OR_RETURN(auto lock, env->LockFile(dir + kLockFile));
  {
    CLONEFS_ASSIGN_OR_RETURN(auto db, MetaDbFor(dir, options, 8ull << 20));
    MetaBatch b;
    Catalog().Reserve().PutCounters(&b);  // the first volume, epoch and snapshot ids: 1
    b.Put(keys::kCheckpoint, EncodeCheckpoint(CheckpointState{{1, kSegmentHeaderSize}, 1}));
    CLONEFS_RETURN_IF_ERROR(db->Write(b, /*sync=*/true));
  }
  CLONEFS_RETURN_IF_ERROR(SegmentStoreFor(dir, options).status());
  StoreInfo info;
  info.region = region;
  info.account_id = RandomAccountId();
  info.format_version = kFormatVersion;
  CLONEFS_ASSIGN_OR_RETURN(info.store_uuid, NewStoreUuid());
  // FORMAT last: a directory without it is not a store, so a crash here leaves no half store.
  return WriteFileAtomically(env, dir + kFormatFile, EncodeStoreInfo(info));
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const StoreOptions& options) {
  if (!IsStore(options.env, dir)) {
    return errors::Named(
        errors::kStoreNotFound,
        Status::NotFound(dir + " is not a clonefs store (run: clonectl --store " + dir + " init)"));
  }
  auto store = std::make_unique<StoreImpl>(dir, options);
  CLONEFS_RETURN_IF_ERROR(store->OpenAndRecover());
  return std::unique_ptr<Store>(std::move(store));
}

Status StoreImpl::OpenAndRecover() {
  CLONEFS_ASSIGN_OR_RETURN(lock_, env()->LockFile(dir_ + kLockFile));
  CLONEFS_ASSIGN_OR_RETURN(std::string format, ReadFileToString(env(), dir_ + kFormatFile));
  CLONEFS_ASSIGN_OR_RETURN(info_, DecodeStoreInfo(format));
  if (info_.format_version < kFormatVersion) {
    // Before anything of the newer format is written: a build that reads only the older one
    // then refuses the store instead of misreading it.
    spdlog::info("store {}: format version {} upgraded to {}", dir_, info_.format_version,
                 kFormatVersion);
    info_.format_version = kFormatVersion;
    CLONEFS_RETURN_IF_ERROR(WriteFileAtomically(env(), dir_ + kFormatFile, EncodeStoreInfo(info_)));
  }
  info_.dir = dir_;
  CLONEFS_ASSIGN_OR_RETURN(db_, MetaDbFor(dir_, options_, options_.cache_bytes));
  map_ = std::make_unique<PageMap>(db_.get());
  SegmentLog::Options log_options;
  log_options.segment_bytes = options_.segment_bytes;
  CLONEFS_ASSIGN_OR_RETURN(auto segments, SegmentStoreFor(dir_, options_));
  CLONEFS_ASSIGN_OR_RETURN(log_, SegmentLog::Open(std::move(segments), log_options));
  CLONEFS_RETURN_IF_ERROR(catalog_.Load(*db_));
  CLONEFS_RETURN_IF_ERROR(LoadCheckpoint());
  CLONEFS_RETURN_IF_ERROR(OpenEncryption());  // encryption.cc: key store and key rings
  // Snapshots deleted or clones purged before a restart may have left unreadable versions.
  for (const auto& [id, v] : catalog_.all_volumes()) {
    if (v->info.parent_id != 0) lineages_to_scan_.insert(v->info.lineage_id);
  }
  for (const auto& [name, s] : catalog_.snapshots()) lineages_to_scan_.insert(s->info.lineage_id);
  // Imports the store stopped in the middle of never became snapshots: their pages go.
  std::vector<VolumeInfo> unfinished;
  for (const auto& [id, v] : catalog_.all_volumes()) {
    if (v->info.status == VolumeStatus::kImporting) unfinished.push_back(v->info);
  }
  for (const VolumeInfo& v : unfinished) {
    spdlog::warn("store {}: {} was not finished before the store stopped; removing it", dir_,
                 v.name);
    PurgeUnneededLocked(v.id);
  }
  // A deleted volume kept for a snapshot that went before the next checkpoint (deleted while a
  // copy had it pinned, say) is not needed any more.
  std::vector<uint64_t> deleted;
  for (const auto& [id, v] : catalog_.all_volumes()) {
    if (v->deleted && v->info.status == VolumeStatus::kDeleted) deleted.push_back(id);
  }
  for (uint64_t id : deleted) PurgeUnneededLocked(id);

  uint64_t replayed = 0;
  Status s = log_->Replay(checkpoint_pos_, [&](const RecordHeader& h, std::string_view payload,
                                               const RecordLocation& loc) {
    next_seq_ = std::max<uint64_t>(next_seq_, h.seq + 1);
    std::shared_ptr<VolumeState> vol = FindVolumeById(h.volume_id);
    if (vol == nullptr) return Status::OK();  // the volume was deleted after this record
    ++replayed;
    // Carries no volume data, so it is not sealed: at worst a forged one would add a point
    // whose image is an authentic older state of the volume.
    if (h.type == RecordType::kRestorePoint) return ReplayRestorePoint(*vol, h, payload);
    if (!ReplayedRecordAuthentic(*vol, h, payload)) return Status::OK();  // forged: skipped
    // Written after its last restore point: the next sync makes one.
    if (h.type != RecordType::kRelocated && h.epoch >= vol->epoch) NoteWritten(*vol);
    return ApplyRecord(*vol, h, loc);
  });
  CLONEFS_RETURN_IF_ERROR(s);
  if (replayed > 0) {
    spdlog::info("store {}: recovered {} log records written after the last checkpoint", dir_,
                 replayed);
    CLONEFS_RETURN_IF_ERROR(Checkpoint());
  }
  spdlog::info("store {} open: region {}, {} volumes", dir_, info_.region,
               catalog_.volumes().size());
  last_sync_us_ = env()->MonotonicMicros();  // nothing is unsynced yet
  if (options_.background_threads) {
    bg_thread_ = std::thread([this] { BackgroundLoop(); });
    gc_thread_ = std::thread([this] { GcLoop(); });
  }
  return Status::OK();
}

StoreImpl::~StoreImpl() {
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    stopping_ = true;
  }
  bg_cv_.notify_all();
  gc_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
  if (gc_thread_.joinable()) gc_thread_.join();
  if (log_ != nullptr && db_ != nullptr) {
    Status s = Checkpoint();
    if (!s.ok()) spdlog::error("store {}: final checkpoint failed: {}", dir_, s.ToString());
  }
}

}  // namespace clonefs::store
