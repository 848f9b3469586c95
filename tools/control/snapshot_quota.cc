#include "tools/control/snapshot_quota.h"

#include <map>
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

// Places held by SnapshotQuotaPlace, per account. Its own mutex: a leaf, taken with or
// without SnapshotQuotaLock() held.
std::mutex places_mu;
std::map<std::string, size_t>& Places() {
  static std::map<std::string, size_t> places;
  return places;
}

size_t PlacesOf(const std::string& account) {
  std::lock_guard<std::mutex> l(places_mu);
  auto it = Places().find(account);
  return it == Places().end() ? 0 : it->second;
}

}  // namespace

Result<SnapshotQuotaPlace> SnapshotQuotaPlace::Take(const CommandContext& ctx) {
  std::unique_lock<std::mutex> quota = SnapshotQuotaLock();
  CLONEFS_RETURN_IF_ERROR(CheckSnapshotQuota(ctx));
  std::lock_guard<std::mutex> l(places_mu);
  ++Places()[ctx.caller.account];
  return SnapshotQuotaPlace(ctx.caller.account);
}

SnapshotQuotaPlace::~SnapshotQuotaPlace() {
  if (account_.empty()) return;
  std::lock_guard<std::mutex> l(places_mu);
  auto it = Places().find(account_);
  if (it != Places().end() && --it->second == 0) Places().erase(it);
}

std::unique_lock<std::mutex> SnapshotQuotaLock() {
  static std::mutex mu;
  return std::unique_lock<std::mutex>(mu);
}

Status CheckSnapshotQuota(const CommandContext& ctx) {
  size_t n = CopiesInProgress(ctx) + PlacesOf(ctx.caller.account);
  for (const store::SnapshotInfo& s : ctx.store->ListSnapshots()) {
    if (s.type == store::SnapshotType::kManual && OwnedByCaller(ctx, s.name) &&
        !Temporary(TypedName(ctx.store->info(), s.name))) {
      ++n;
    }
  }
  const size_t quota = ctx.services != nullptr ? ctx.services->account_snapshot_quota
                                               : Services().account_snapshot_quota;
  if (n < quota) return Status::OK();
  return errors::Named(
      errors::kSnapshotQuotaExceeded,
      Status::QuotaExceeded("account " + ctx.caller.account + " already has " + std::to_string(n) +
                            " manual snapshots, the most an " + "account may have (" +
                            std::to_string(quota) + "); delete some first"));
}

}  // namespace clonefs::control
