// CopyService: snapshot copies into this region (clonectl snapshot copy; docs/CLI.md
// "Snapshot copies"), run in the background by the daemon the way Aurora runs
// CopyDBClusterSnapshot.
//
// A copy is a job from the moment it is accepted: its target name is taken, and it shows in
// snapshot list/show as Status "copying" with PercentProgress (none while queued). At most
// kMaxInFlight run at once; the rest wait and start in the order they were accepted. Each copy
// is a full copy into a new lineage, every page re-encrypted under fresh data keys of the
// target: from a snapshot of this store (read through a SnapshotPin, so deleting the source
// meanwhile does not break it), or from another region's store as an export stream over a pipe
// (sealed for a key pair made for that one copy). Nothing of a copy is visible until it is
// whole and verified (Store::BeginSnapshotImport).
//
// Deleting the target cancels the copy, queued or running; what it wrote goes. The jobs are
// kept in DIR/copy-jobs.json, so that a daemon restarted mid-copy starts the copies again from
// the beginning; a copy that cannot be resumed (its source is gone) is shown as Status "failed"
// with the reason, until its target is deleted.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "store/store.h"

namespace clonefs::control {

struct CopyRequest {
  std::string source;  // a snapshot name of this region, or a snapshot ARN
  std::string target;
  std::string kms_key;  // empty: the source's key (within a region)
  bool copy_tags = false;
  store::Tags tags;
};

struct CopyServiceOptions {
  size_t max_in_flight = 5;
  // Manual snapshots (with copies in progress) the store may hold: SnapshotQuotaExceeded past it.
  size_t snapshot_quota = 10000;
};

class CopyService {
 public:
  static constexpr size_t kMaxInFlight = 5;
  static constexpr char kJobsFile[] = "copy-jobs.json";

  // Loads the jobs a previous daemon left and starts them again. REQUIRES: `store` outlives
  // the service.
  static Result<std::unique_ptr<CopyService>> Start(store::Store* store, CopyServiceOptions o);
  // Stops the workers; running copies stop without committing and start again next time.
  ~CopyService();
  CopyService(const CopyService&) = delete;
  CopyService& operator=(const CopyService&) = delete;

  // Accepts a copy after checking everything that can be checked now (names, quota, source,
  // encryption rules); answers with the target as snapshot.show shows it.
  Result<nlohmann::json> Submit(const CopyRequest& request);
  // The target of a copy not yet finished, as snapshot.show shows it; nullopt if none.
  std::optional<nlohmann::json> Describe(const std::string& target) const;
  std::vector<nlohmann::json> List() const;
  bool Has(const std::string& target) const;
  // Cancels the copy to `target` (deleting its target): answers with it as it was, Status
  // "deleted". NotFound when there is no such copy.
  Result<nlohmann::json> Cancel(const std::string& target);
  // Waits until no copy is queued or running (tests and shutdown).
  void WaitIdle();

  struct Job;

 private:
  CopyService(store::Store* store, CopyServiceOptions o) : store_(store), options_(o) {}
  void WorkerLoop();
  void Run(const std::shared_ptr<Job>& job);
  Status PersistLocked() const;  // REQUIRES: mu_
  Status LoadJobs();
  nlohmann::json ViewLocked(const Job& job) const;

  store::Store* const store_;
  const CopyServiceOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;              // a job queued, a job done, stopping
  std::vector<std::shared_ptr<Job>> jobs_;  // accepted and not finished, in order; GUARDED_BY mu_
  std::deque<std::shared_ptr<Job>> queue_;  // waiting to start; GUARDED_BY mu_
  size_t running_ = 0;                      // GUARDED_BY mu_
  bool stopping_ = false;                   // GUARDED_BY mu_
  std::vector<std::thread> workers_;
};

// Runs one copy to the end in this thread (clonectl's direct mode, where no daemon keeps a
// queue): the same checks and the same copy as a job. `progress` gets percent done.
Result<nlohmann::json> CopyNow(store::Store* store, const CopyRequest& request,
                               const std::function<void(uint64_t, uint64_t)>& progress,
                               const std::function<bool()>& cancelled);

}  // namespace clonefs::control
