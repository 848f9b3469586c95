// Manual snapshots per account: at most kMaxSnapshotsPerAccount (Aurora's default quota per
// account and region), counted over the account's manual snapshots and its copies in progress.
// The temporary snapshots a --full-copy clone makes (kTemporarySnapshotPrefix) do not count.
// This is beside the daemon's store-wide snapshot_quota of snapshot copies (copy_service.h).
// Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>

#include "base/status.h"
#include "tools/control/commands.h"

namespace clonefs::control {

inline constexpr size_t kMaxSnapshotsPerAccount = 100;
inline constexpr char kTemporarySnapshotPrefix[] = "clonefs-full-copy-";

// SnapshotQuotaExceeded when the caller's account may not have one more manual snapshot.
// Checks and the creations they admit are serialised with SnapshotQuotaLock(), so that two
// concurrent creations cannot both take the last place.
Status CheckSnapshotQuota(const CommandContext& ctx);
std::unique_lock<std::mutex> SnapshotQuotaLock();

}  // namespace clonefs::control
