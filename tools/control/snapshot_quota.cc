#include "tools/control/snapshot_quota.h"

#include <string_view>

#include "store/access/arn.h"
#include "tools/control/copy_service.h"
#include "tools/control/references.h"

namespace clonefs::control {
namespace {

bool Temporary(std::string_view typed) { return typed.rfind(kTemporarySnapshotPrefix, 0) == 0; }

// The caller's copies still running: they become manual snapshots when they finish.
size_t CopiesInProgress(const CommandContext& ctx) {
  if (ctx.services == nullptr || ctx.services->copies == nullptr) return 0;
  size_t n = 0;
  for (const nlohmann::json& copy : ctx.services->copies->List()) {
    auto arn = access::ParseArn(copy.value("SnapshotArn", ""), access::kSnapshotType);
    if (arn.ok() && arn->account == ctx.caller.account && copy.value("Status", "") == "copying") {
      ++n;
    }
  }
  return n;
}

}  // namespace

std::unique_lock<std::mutex> SnapshotQuotaLock() {
  static std::mutex mu;
  return std::unique_lock<std::mutex>(mu);
}

Status CheckSnapshotQuota(const CommandContext& ctx) {
  size_t n = CopiesInProgress(ctx);
  for (const store::SnapshotInfo& s : ctx.store->ListSnapshots()) {
    if (s.type == store::SnapshotType::kManual && OwnedByCaller(ctx, s.name) &&
        !Temporary(TypedName(ctx.store->info(), s.name))) {
      ++n;
    }
  }
  if (n < kMaxSnapshotsPerAccount) return Status::OK();
  return errors::Named(
      errors::kSnapshotQuotaExceeded,
      Status::QuotaExceeded("account " + ctx.caller.account + " already has " + std::to_string(n) +
                            " manual snapshots, the most an " + "account may have (" +
                            std::to_string(kMaxSnapshotsPerAccount) + "); delete some first"));
}

}  // namespace clonefs::control
