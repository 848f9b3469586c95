// BackupService: the daemon's automated backups (docs/CLI.md "Automated backups"), as Aurora
// takes them. Once a day, in each volume's PreferredBackupWindow (UTC), it takes an automated
// snapshot named auto:VOLUME-YYYY-MM-DD-HH-MM; it deletes automated snapshots older than their
// retention: the volume's BackupRetentionPeriod while the volume exists, the one recorded in
// the snapshot once it is gone (a retained automated backup).
//
// A window the daemon was not running for (or did not look in) is made up for as soon as it
// looks again, as an Aurora backup that overruns its window goes on: a volume never goes a
// day without one. The windows before a volume was created are not owed.
//
// Time is `clock`'s wall clock (the store's Env), so tests run days of retention in seconds.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "base/env.h"
#include "store/store.h"

namespace clonefs::control {

inline constexpr uint64_t kMicrosPerDay = uint64_t{86400} * 1000 * 1000;

// The start of the latest occurrence of `w` that began at or before `now_us`.
uint64_t LatestWindowStart(const store::BackupWindow& w, uint64_t now_us);
// True when volume `v` is owed an automated snapshot at `now_us`, its latest one taken at
// `latest_us` (0: none yet).
bool BackupDue(const store::VolumeInfo& v, uint64_t latest_us, uint64_t now_us);
// When automated snapshot `s` expires: its creation plus `retention_days` days.
uint64_t BackupExpiry(const store::SnapshotInfo& s, uint32_t retention_days);

struct BackupPass {
  size_t taken = 0;
  size_t expired = 0;
  size_t failed = 0;  // logged; tried again next pass
};

struct BackupServiceOptions {
  // How often the schedule is looked at, in the clock's monotonic time.
  uint64_t check_interval_us = uint64_t{10} * 1000 * 1000;
  bool background = true;  // false: only RunOnce() (tests)
};

class BackupService {
 public:
  // REQUIRES: `store` and `clock` outlive the service.
  BackupService(store::Store* store, Env* clock, BackupServiceOptions options);
  ~BackupService();  // stops the thread after its current pass
  BackupService(const BackupService&) = delete;
  BackupService& operator=(const BackupService&) = delete;

  // Takes the snapshots that are due and deletes those past their retention, now.
  BackupPass RunOnce();
  // Asks the thread for a pass now: a lowered retention frees at once.
  void Poke();

 private:
  void Loop();

  store::Store* const store_;
  Env* const clock_;
  const BackupServiceOptions options_;
  std::mutex pass_mu_;  // one pass at a time
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool poked_ = false;
  std::thread thread_;
};

}  // namespace clonefs::control
