// snapshot.copy: a copy of a snapshot of this region or another (CopyDBClusterSnapshot). The
// daemon runs it in the background (CopyService) and answers at once with the target in
// Status "copying"; clonectl's direct mode, with no daemon to keep a queue, copies inside the
// request.
#include "store/access/arn.h"
#include "tools/control/commands.h"
#include "tools/control/copy_service.h"
#include "tools/control/json_views.h"
#include "tools/control/key_access.h"
#include "tools/control/references.h"
#include "tools/control/snapshot_quota.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

// The source as the copy service takes it: the store name of one of the caller's snapshots or
// of one another account shares with it (same region only, as in Aurora), or the ARN of another
// region's snapshot (for the store owner's account only: the other region's store has accounts
// of its own).
// A shared encrypted snapshot needs the caller's use of its key (key_access.h); `kms_key` is the
// key the caller named for the copy, if any.
Result<std::string> CopySource(CommandContext& ctx, const std::string& ref, bool copy_tags,
                               const std::string& kms_key) {
  if (access::LooksLikeArn(ref)) {
    CLONEFS_ASSIGN_OR_RETURN(access::Arn arn, access::ParseArn(ref, access::kSnapshotType));
    if (arn.region != ctx.store->info().region) {
      CLONEFS_RETURN_IF_ERROR(RequireStoreOwner(ctx, "a copy from another region"));
      return ref;
    }
  }
  Result<std::string> own = OwnStoreName(ctx, ref, access::kSnapshotType);
  if (own.ok() && ctx.services != nullptr && ctx.services->copies != nullptr &&
      ctx.services->copies->Has(*own)) {
    return own;  // the target of a copy in progress: refused as such later
  }
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s, ResolveReadableSnapshot(ctx, ref));
  if (!OwnedByCaller(ctx, s.name)) {
    if (s.encrypted) {
      CLONEFS_RETURN_IF_ERROR(CheckKeysToDerive(
          ctx, "snapshot " + SnapshotArn(ctx.store->info(), s.name), s.kms_key_id, kms_key));
    }
    if (copy_tags) {
      return errors::InvalidParameterCombination(
          "--copy-tags copies the tags of your own snapshots only; give the copy its own --tag");
    }
  }
  return s.name;
}

Result<json> Copy(CommandContext& ctx) {
  CopyRequest r;
  CLONEFS_ASSIGN_OR_RETURN(std::string source, ctx.args.RequiredString("source"));
  CLONEFS_ASSIGN_OR_RETURN(std::string target, ctx.args.RequiredString("target"));
  ctx.subject = target;
  CLONEFS_ASSIGN_OR_RETURN(r.target, NewStoreName(ctx, target, access::kSnapshotType));
  CLONEFS_ASSIGN_OR_RETURN(r.copy_tags, ctx.args.OptionalBool("copy_tags"));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> key, ctx.args.OptionalString("kms_key"));
  r.kms_key = key.value_or("");
  CLONEFS_ASSIGN_OR_RETURN(r.source, CopySource(ctx, source, r.copy_tags, r.kms_key));
  CLONEFS_ASSIGN_OR_RETURN(r.tags, ctx.args.OptionalTags("tags"));
  std::unique_lock<std::mutex> quota = SnapshotQuotaLock();
  CLONEFS_RETURN_IF_ERROR(CheckSnapshotQuota(ctx));
  if (ctx.services != nullptr && ctx.services->copies != nullptr) {
    return ctx.services->copies->Submit(r);
  }
  quota.unlock();  // a copy in this process runs inside the request
  return CopyNow(ctx.store, r, ctx.progress, ctx.cancelled);
}

}  // namespace

void RegisterCopyCommands(std::vector<CommandSpec>& table) {
  table.push_back({"snapshot.copy",
                   "snapshot",
                   "Copy a snapshot of this region or (by ARN) another into a new manual snapshot",
                   {"source", "target", "kms_key", "copy_tags", "tags"},
                   Copy});
}

}  // namespace clonefs::control
