// FaultInjectionEnv: an Env wrapper for crash and disk-full tests.
//
// It forwards to a base Env (EnvWrapper) and remembers, for every file it opened, how many bytes
// had been synced. `DropUnsyncedData()` models a machine crash for append-only files: every file is
// cut back to its last synced length. A write budget models a full disk: once the budget of bytes
// is spent, writes fail with NoSpace until more budget is granted. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

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

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) override;
  Result<std::unique_ptr<File>> OpenDirectFile(const std::string& path, bool create) override;
  Status DeleteFile(const std::string& path) override;

 private:
  friend class FaultFile;
  // Wraps a file just opened, remembering its length as synced when it is new to us.
  Result<std::unique_ptr<File>> Track(const std::string& path, std::unique_ptr<File> file);
  // Spends `n` bytes of budget; false when the disk is "full".
  bool TakeBudget(size_t n);
  // Syncs `file` and records its length, unless the machine has "crashed".
  Status SyncAndRecord(File* file);
  bool crashed();

  Env* const base_;
  std::atomic<int64_t> write_budget_{-1};
  std::atomic<bool> fail_sync_{false};
  std::mutex mu_;
  std::map<std::string, uint64_t> synced_size_;  // GUARDED_BY(mu_)
  bool crashed_ = false;                         // GUARDED_BY(mu_)
};

}  // namespace clonefs
