// FaultInjectionEnv: an Env wrapper for crash and disk-full tests.
//
// It forwards to a base Env (EnvWrapper) and remembers, for every file it opened, how many bytes
// had been synced, and which files it created since their directory was last synced.
// `DropUnsyncedData()` models a machine crash for append-only files: every file is cut back to
// its last synced length, and a file whose directory entry was never synced is gone. A write
// budget models a full disk: once the budget of bytes is spent, writes fail with NoSpace until
// more budget is granted. Sync points (file and directory syncs) are counted, and the machine
// can be made to crash at any one of them. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "base/env.h"

namespace clonefs {

class FaultInjectionEnv final : public EnvWrapper {
 public:
  explicit FaultInjectionEnv(Env* base) : EnvWrapper(base), base_(base) {}

  // Models a machine crash: cuts every tracked file back to the length it had at its last
  // successful Sync(). Atomic with respect to Sync(); afterwards the "machine is down" and every
  // write and sync through this Env fails.
  Status DropUnsyncedData();
  // Writes fail with NoSpace once `bytes` more bytes have been written. Negative = unlimited.
  void SetWriteBudget(int64_t bytes) { write_budget_.store(bytes); }
  // When set, Sync() fails with EIO (and syncs nothing).
  void SetFailSync(bool fail) { fail_sync_.store(fail); }
  // The `n`-th sync point from now on (1-based; a file's Sync() or a SyncDir()) crashes the
  // machine instead of syncing: it drops unsynced data as DropUnsyncedData() does, and fails.
  // 0: never.
  void CrashAtSync(uint64_t n);
  // Sync points reached so far (the one that crashed included).
  uint64_t sync_points() const { return sync_points_.load(); }

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) override;
  Result<std::unique_ptr<File>> OpenDirectFile(const std::string& path, bool create) override;
  Status DeleteFile(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;

 private:
  friend class FaultFile;
  // Before an open that may create `path`: a file it creates has a name no directory sync
  // covered yet.
  void NoteIfNew(const std::string& path, bool create);
  // Wraps a file just opened, remembering its length as synced when it is new to us.
  Result<std::unique_ptr<File>> Track(const std::string& path, std::unique_ptr<File> file);
  // Spends `n` bytes of budget; false when the disk is "full".
  bool TakeBudget(size_t n);
  // Syncs `file` and records its length, unless the machine has "crashed".
  Status SyncAndRecord(File* file);
  bool crashed();
  // Counts a sync point; true when it is the one to crash at (the crash has then happened).
  bool CrashHereLocked();
  Status DropUnsyncedDataLocked();

  Env* const base_;
  std::atomic<int64_t> write_budget_{-1};
  std::atomic<bool> fail_sync_{false};
  std::mutex mu_;
  std::atomic<uint64_t> sync_points_{0};
  uint64_t crash_at_sync_ = 0;                   // GUARDED_BY(mu_) 0: never
  std::map<std::string, uint64_t> synced_size_;  // GUARDED_BY(mu_)
  std::set<std::string> unsynced_names_;         // GUARDED_BY(mu_) created, directory not synced
  bool crashed_ = false;                         // GUARDED_BY(mu_)
};

}  // namespace clonefs
