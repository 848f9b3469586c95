#include "tools/control/backup_service.h"

#include <spdlog/spdlog.h>

#include <map>

#include "store/access/store_names.h"

namespace clonefs::control {

uint64_t LatestWindowStart(const store::BackupWindow& w, uint64_t now_us) {
  const uint64_t midnight = now_us - now_us % kMicrosPerDay;
  const uint64_t today = midnight + uint64_t{w.start_minute} * 60 * 1000 * 1000;
  return today <= now_us ? today : today - kMicrosPerDay;
}

bool BackupDue(const store::VolumeInfo& v, uint64_t latest_us, uint64_t now_us) {
  const uint64_t start = LatestWindowStart(v.backup.window, now_us);
  return start >= v.create_time_us && latest_us < start;
}

uint64_t BackupExpiry(const store::SnapshotInfo& s, uint32_t retention_days) {
  return s.create_time_us + uint64_t{retention_days} * kMicrosPerDay;
}

BackupService::BackupService(store::Store* store, Env* clock, BackupServiceOptions options)
    : store_(store), clock_(clock), options_(options) {
  if (options_.background) thread_ = std::thread([this] { Loop(); });
}

BackupService::~BackupService() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackupService::Poke() {
  {
    std::lock_guard<std::mutex> l(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void BackupService::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    poked_ = false;
    l.unlock();
    RunOnce();
    l.lock();
    clock_->WaitFor(cv_, l, options_.check_interval_us, [this] { return stopping_ || poked_; });
  }
}

namespace {

// The store name of the automated snapshot of `volume` (a store name) taken at `now_us`: in
// the volume's account, as auto:NAME-YYYY-MM-DD-HH-MM.
std::string AutomatedStoreName(const store::StoreInfo& here, const std::string& volume,
                               uint64_t now_us) {
  const access::OwnedName owner = access::SplitStoreName(here.account_id, volume);
  return access::StoreName(here.account_id, owner.account,
                           store::AutomatedSnapshotName(owner.name, now_us));
}

}  // namespace

BackupPass BackupService::RunOnce() {
  std::lock_guard<std::mutex> one(pass_mu_);
  BackupPass pass;
  const uint64_t now = clock_->NowMicros();
  const std::vector<store::SnapshotInfo> snapshots = store_->ListSnapshots();
  std::map<uint64_t, uint64_t> latest;  // volume id -> its latest automated snapshot's time
  for (const store::SnapshotInfo& s : snapshots) {
    if (s.type != store::SnapshotType::kAutomated) continue;
    uint64_t& t = latest[s.volume_id];
    t = std::max(t, s.create_time_us);
  }
  std::map<uint64_t, uint32_t> retention;  // volume id -> days, for the volumes that exist
  for (const store::VolumeInfo& v : store_->ListVolumes()) {
    if (v.status != store::VolumeStatus::kAvailable) continue;
    retention[v.id] = v.backup.retention_days;
    if (!BackupDue(v, latest[v.id], now)) continue;
    const std::string name = AutomatedStoreName(store_->info(), v.name, now);
    Result<store::SnapshotInfo> s = store_->CreateAutomatedSnapshot(v.name, name);
    if (s.ok()) {
      ++pass.taken;
      const uint64_t window_end = LatestWindowStart(v.backup.window, now) +
                                  uint64_t{v.backup.window.minutes()} * 60 * 1000 * 1000;
      spdlog::info("backups: took {}{}", name, now > window_end ? " (after its window)" : "");
    } else if (!s.status().IsNotFound()) {  // a volume deleted since the listing owes nothing
      ++pass.failed;
      spdlog::warn("backups: cannot take {}: {}", name, s.status().ToString());
    }
  }
  for (const store::SnapshotInfo& s : snapshots) {
    if (s.type != store::SnapshotType::kAutomated) continue;
    auto kept = retention.find(s.volume_id);
    const uint32_t days = kept != retention.end()       ? kept->second
                          : s.backup_retention_days > 0 ? s.backup_retention_days
                                                        : store::kDefaultBackupRetentionDays;
    if (BackupExpiry(s, days) > now) continue;
    Status deleted = store_->DeleteSnapshot(s.name);
    if (deleted.ok() || deleted.IsNotFound()) {
      ++pass.expired;
      spdlog::info("backups: {} expired after {} day(s)", s.name, days);
    } else {
      ++pass.failed;  // in use (a loop device on it): next pass
      spdlog::warn("backups: {} is past its retention but cannot go yet: {}", s.name,
                   deleted.ToString());
    }
  }
  return pass;
}

}  // namespace clonefs::control
