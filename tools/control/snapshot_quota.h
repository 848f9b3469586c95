// Manual snapshots per account: at most Services::account_snapshot_quota (by default 100,
// Aurora's default quota per account and region; the mount option account_snapshot_quota),
// counted over the account's manual snapshots, its copies in progress and
// its imports in progress (SnapshotQuotaPlace).
// The temporary snapshots a --full-copy clone makes (kTemporarySnapshotPrefix) do not count.
// This is beside the daemon's store-wide snapshot_quota of snapshot copies (copy_service.h).
// Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

#include "base/result.h"
#include "base/status.h"
#include "tools/control/commands.h"

namespace clonefs::control {

inline constexpr char kTemporarySnapshotPrefix[] = "clonefs-full-copy-";

// SnapshotQuotaExceeded when the caller's account may not have one more manual snapshot.
// Checks and the creations they admit are serialised with SnapshotQuotaLock(), so that two
// concurrent creations cannot both take the last place.
Status CheckSnapshotQuota(const CommandContext& ctx);
std::unique_lock<std::mutex> SnapshotQuotaLock();

// A place in an account's quota held by a snapshot that takes a while to appear (an import):
// CheckSnapshotQuota counts it until the place is destroyed, which its holder does once the
// snapshot exists or was given up.
class SnapshotQuotaPlace {
 public:
  // Checks the caller's quota and takes a place, both under SnapshotQuotaLock().
  static Result<SnapshotQuotaPlace> Take(const CommandContext& ctx);
  SnapshotQuotaPlace(SnapshotQuotaPlace&& other) noexcept : account_(std::move(other.account_)) {
    other.account_.clear();
  }
  SnapshotQuotaPlace(const SnapshotQuotaPlace&) = delete;
  SnapshotQuotaPlace& operator=(const SnapshotQuotaPlace&) = delete;
  SnapshotQuotaPlace& operator=(SnapshotQuotaPlace&&) = delete;
  ~SnapshotQuotaPlace();

 private:
  explicit SnapshotQuotaPlace(std::string account) : account_(std::move(account)) {}
  std::string account_;  // empty once moved from
};

}  // namespace clonefs::control
