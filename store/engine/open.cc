// Store creation, opening and recovery, checkpoints and the background thread.
//
// Checkpoints. The segment log is the write-ahead log of the page map: a write appends records
// and then puts map entries into the in-memory overlay; nothing else is written. A checkpoint
// (1) freezes the overlay and notes the log tail P, with appenders held off so that every
// record before P is in the frozen layer; (2) syncs the log, so that no map entry can reach
// MetaDb before the bytes it points at are durable; (3) writes the frozen entries, pending
// volume deletions, the live-byte table and P in one synced MetaDb batch. Recovery replays the
// log from the last P; replay is deterministic, so the rebuilt overlay equals the lost one.
#include <spdlog/spdlog.h>

#include <random>

#include "base/error_names.h"
#include "base/coding.h"
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
  CLONEFS_ASSIGN_OR_RETURN(auto files, PosixSegmentStore::Open(options.env, dir + kSegmentDir));
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
    std::string one;
    AppendBE64(&one, 1);
    b.Put(keys::kNextVolumeId, one);
    b.Put(keys::kNextEpoch, one);
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
    return errors::Named(errors::kStoreNotFound,
                         Status::NotFound(dir + " is not a clonefs store (run: clonectl --store " +
                                          dir + " init)"));
  }
  auto store = std::make_unique<StoreImpl>(dir, options);
  CLONEFS_RETURN_IF_ERROR(store->OpenAndRecover());
  return std::unique_ptr<Store>(std::move(store));
}

Status StoreImpl::OpenAndRecover() {
  CLONEFS_ASSIGN_OR_RETURN(lock_, env()->LockFile(dir_ + kLockFile));
  CLONEFS_ASSIGN_OR_RETURN(std::string format, ReadFileToString(env(), dir_ + kFormatFile));
  CLONEFS_ASSIGN_OR_RETURN(info_, DecodeStoreInfo(format));
  info_.dir = dir_;
  CLONEFS_ASSIGN_OR_RETURN(db_, MetaDbFor(dir_, options_, options_.cache_bytes));
  map_ = std::make_unique<PageMap>(db_.get());
  SegmentLog::Options log_options;
  log_options.segment_bytes = options_.segment_bytes;
  CLONEFS_ASSIGN_OR_RETURN(auto segments, SegmentStoreFor(dir_, options_));
  CLONEFS_ASSIGN_OR_RETURN(log_, SegmentLog::Open(std::move(segments), log_options));
  CLONEFS_RETURN_IF_ERROR(LoadCatalog());
  CLONEFS_RETURN_IF_ERROR(LoadCheckpoint());
  CLONEFS_RETURN_IF_ERROR(OpenEncryption());  // store_crypto.cc: key store and key rings
  // Snapshots deleted or clones purged before a restart may have left unreadable versions.
  for (auto& [id, v] : by_id_) {
    if (v->info.parent_id != 0) lineages_to_scan_.insert(v->info.lineage_id);
  }
  for (auto& [name, s] : snapshots_) lineages_to_scan_.insert(s->info.lineage_id);

  uint64_t replayed = 0;
  Status s = log_->Replay(checkpoint_pos_, [&](const RecordHeader& h, std::string_view payload,
                                               const RecordLocation& loc) {
    next_seq_ = std::max<uint64_t>(next_seq_, h.seq + 1);
    std::shared_ptr<VolumeState> vol = FindVolumeById(h.volume_id);
    if (vol == nullptr) return Status::OK();  // the volume was deleted after this record
    if (!ReplayedRecordAuthentic(*vol, h, payload)) return Status::OK();  // forged: skipped
    ++replayed;
    return ApplyRecord(*vol, h, loc);
  });
  CLONEFS_RETURN_IF_ERROR(s);
  if (replayed > 0) {
    spdlog::info("store {}: recovered {} log records written after the last checkpoint", dir_,
                 replayed);
    CLONEFS_RETURN_IF_ERROR(Checkpoint());
  }
  spdlog::info("store {} open: region {}, {} volumes", dir_, info_.region, volumes_.size());
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

Status StoreImpl::LoadCatalog() {
  // Ids grow, so a parent is always loaded before its clones and their ancestors resolve.
  CLONEFS_RETURN_IF_ERROR(keys::ScanPrefix(*db_, keys::VolumePrefix(), [&](std::string_view,
                                                                          std::string_view value) {
    CLONEFS_ASSIGN_OR_RETURN(VolumeInfo v, DecodeVolume(value));
    auto state = std::make_shared<VolumeState>(v);
    if (v.parent_id != 0) state->ancestors = AncestorsOf(v.parent_id, v.parent_epoch);
    if (v.status == "deleted") {
      state->deleted = true;
    } else {
      volumes_[v.name] = state;
    }
    by_id_[v.id] = state;
    return Status::OK();
  }));
  CLONEFS_RETURN_IF_ERROR(LoadSnapshots());
  CLONEFS_ASSIGN_OR_RETURN(auto next, db_->Get(keys::kNextVolumeId));
  if (!next || next->size() != 8) return Status::Corruption("missing next volume id");
  next_volume_id_ = GetBE64(next->data());
  CLONEFS_ASSIGN_OR_RETURN(auto epoch, db_->Get(keys::kNextEpoch));
  if (!epoch || epoch->size() != 8) return Status::Corruption("missing epoch counter");
  next_epoch_ = GetBE64(epoch->data());
  return Status::OK();
}

Status StoreImpl::LoadCheckpoint() {
  CLONEFS_ASSIGN_OR_RETURN(auto raw, db_->Get(keys::kCheckpoint));
  if (!raw) return Status::Corruption("missing checkpoint record");
  CLONEFS_ASSIGN_OR_RETURN(CheckpointState c, DecodeCheckpoint(*raw));
  checkpoint_pos_ = c.position;
  next_seq_ = c.next_seq;
  std::set<uint32_t> present;
  for (auto& [id, size] : log_->Segments()) present.insert(id);
  return keys::ScanPrefix(*db_, keys::LivePrefix(), [&](std::string_view key,
                                                       std::string_view value) {
    if (key.size() != 5 || value.size() != 8) return Status::Corruption("bad live");
    uint32_t seg = GetBE32(key.data() + 1);
    // A segment deleted just before a crash may still have its entry: it holds nothing.
    if (present.count(seg)) live_[seg] = static_cast<int64_t>(GetLE64(value.data()));
    return Status::OK();
  });
}

bool StoreImpl::CanDropTombstone(const MapKey& key) {
  // A tombstone is needed only while an older version of the page could show through it.
  std::shared_ptr<VolumeState> vol = FindVolumeById(key.volume);
  if (vol == nullptr) return false;  // being deleted: the purge removes it
  bool older = false;
  Status s = map_->VisitRange(vol->View(key.epoch - 1), key.page, key.page + 1,
                              [&](uint64_t, const PageVersion& v) {
                                older = older || !v.value.tombstone;
                                return Status::OK();
                              });
  return s.ok() && !older;
}

Status StoreImpl::CheckpointIfOver(size_t entries) {
  std::lock_guard<std::mutex> run(checkpoint_mu_);
  if (entries > 0 && map_->overlay_size() <= entries) return Status::OK();
  LogPosition pos;
  uint64_t next_seq;
  std::map<uint32_t, int64_t> live;
  std::vector<std::pair<uint64_t, uint64_t>> deletes;  // (volume, lineage)
  std::vector<std::pair<MapKey, MapValue>> invisible;
  {
    std::unique_lock<std::shared_mutex> freeze(ckpt_mu_);
    map_->Freeze();
    pos = log_->Tail();
    next_seq = next_seq_.load();
    std::lock_guard<std::mutex> l(misc_mu_);
    live = live_;
    deletes.swap(pending_deletes_);
    invisible.swap(pending_dead_);
  }
  auto fail = [&](Status s) {
    map_->Thaw();
    std::lock_guard<std::mutex> l(misc_mu_);
    pending_deletes_.insert(pending_deletes_.end(), deletes.begin(), deletes.end());
    pending_dead_.insert(pending_dead_.end(), invisible.begin(), invisible.end());
    spdlog::warn("store {}: checkpoint failed, will retry: {}", dir_, s.ToString());
    return s;
  };
  Status s = log_->Sync();
  if (!s.ok()) return fail(s);

  std::set<uint64_t> deleted;
  for (auto& [id, lineage] : deletes) deleted.insert(id);
  std::map<uint32_t, int64_t> dead;
  std::set<MapKey, MapKeyLess> frozen_keys_of_deleted;
  std::vector<PageMap::Change> changes;  // to MetaDb's map blocks; nullopt deletes
  MetaBatch batch;
  map_->ForEachFrozen([&](const MapKey& k, const MapValue& v) {
    if (deleted.count(k.volume)) {
      if (!v.tombstone) dead[v.loc.segment] += v.loc.length;
      frozen_keys_of_deleted.insert(k);
    } else if (v.tombstone && CanDropTombstone(k)) {
      changes.emplace_back(k, std::nullopt);
    } else {
      changes.emplace_back(k, v);
    }
  });
  std::vector<std::pair<std::string, std::string>> purged_ranges;
  for (auto& [id, lineage] : deletes) {
    const uint64_t volume = id;
    s = map_->ForEachStored(lineage, [&](const MapKey& k, const MapValue& v) {
      if (k.volume != volume) return;
      if (!v.tombstone && !frozen_keys_of_deleted.count(k)) dead[v.loc.segment] += v.loc.length;
      if (lineage != volume) changes.emplace_back(k, std::nullopt);
    });
    if (!s.ok()) return fail(s);
    // A root volume that is deleted has no clone left in its lineage: drop the whole range.
    if (lineage == volume) purged_ranges.emplace_back(keys::MapPrefix(lineage), keys::MapPrefix(lineage + 1));
    batch.Delete(keys::VolumeKey(id));
    batch.DeleteRange(keys::KeyRingPrefix(id), keys::KeyRingPrefix(id + 1));  // its wrapped data keys
  }
  for (auto& [k, v] : invisible) {
    if (deleted.count(k.volume)) continue;  // purged whole, above
    changes.emplace_back(k, std::nullopt);
    if (!v.tombstone) dead[v.loc.segment] += v.loc.length;
  }
  s = map_->StoreChanges(changes, &batch);
  if (!s.ok()) return fail(s);
  // After the block writes, so that nothing of a purged lineage survives them.
  for (auto& [from, to] : purged_ranges) batch.DeleteRange(from, to);
  for (auto& [seg, bytes] : dead) live[seg] -= bytes;
  for (auto& [seg, bytes] : live) {
    std::string v(8, '\0');
    PutLE64(v.data(), static_cast<uint64_t>(std::max<int64_t>(0, bytes)));
    batch.Put(keys::LiveKey(seg), v);
  }
  batch.Put(keys::kCheckpoint, EncodeCheckpoint(CheckpointState{pos, next_seq}));
  s = db_->Write(batch, /*sync=*/true);
  if (!s.ok()) return fail(s);
  map_->DropFrozen();
  checkpoint_pos_ = pos;
  if (!dead.empty()) {
    std::lock_guard<std::mutex> l(misc_mu_);
    for (auto& [seg, bytes] : dead) live_[seg] -= bytes;
  }
  return Status::OK();
}

void StoreImpl::MaybeCheckpointInline() {
  // Backpressure: if the background thread falls far behind, the writer waits for the running
  // checkpoint or checkpoints itself, so that the overlay (memory) stays bounded.
  const size_t limit = 4 * options_.checkpoint_entries;
  if (map_->overlay_size() > limit) {
    CheckpointIfOver(limit).IgnoreError();  // failure is logged; the write already succeeded
  } else if (map_->overlay_size() > options_.checkpoint_entries) {
    bg_cv_.notify_one();
  }
}

void StoreImpl::BackgroundLoop() {
  using namespace std::chrono;
  auto last_checkpoint = steady_clock::now();
  LogPosition last_tail = log_->Tail();
  std::unique_lock<std::mutex> l(bg_mu_);
  while (!stopping_) {
    bg_cv_.wait_for(l, seconds(1));
    if (stopping_) break;
    l.unlock();
    const auto now = steady_clock::now();
    // Buffered records older than a second go to disk, as the kernel would write back dirty
    // pages; a failure is logged by the log and retried on the next round.
    log_->Flush().IgnoreError();
    // A second without appends: the write buffer's spare chunks go back to the system.
    const LogPosition tail = log_->Tail();
    if (tail == last_tail) log_->ReleaseSpareMemory();
    last_tail = tail;
    const size_t pending = map_->overlay_size();
    if (pending >= options_.checkpoint_entries ||
        (pending > 0 && now - last_checkpoint > seconds(30))) {
      if (Checkpoint().ok()) last_checkpoint = now;
    }
    l.lock();
  }
}

// On its own thread: a GC pass (scans, copies, file deletions) takes seconds, and checkpoints
// must go on meanwhile, or writers would have to run them.
void StoreImpl::GcLoop() {
  using namespace std::chrono;
  std::unique_lock<std::mutex> l(bg_mu_);
  while (!stopping_) {
    gc_cv_.wait_for(l, seconds(60));
    if (stopping_) break;
    l.unlock();
    StoreUsage u = GetUsage();
    if (u.garbage_bytes > options_.segment_bytes && u.garbage_bytes * 4 > u.segment_bytes) {
      Status s = CollectGarbage();
      if (!s.ok()) spdlog::warn("store {}: background GC: {}", dir_, s.ToString());
    }
    l.lock();
  }
}

}  // namespace clonefs::store
