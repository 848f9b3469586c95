#include "tools/control/references.h"

#include "base/error_names.h"
#include "store/access/arn.h"
#include "store/access/store_names.h"
#include "tools/control/snapshot_quota.h"

namespace clonefs::control {
namespace {

Status NotFound(std::string_view kind, const std::string& ref) {
  return kind == access::kSnapshotType ? errors::SnapshotNotFound(ref)
                                       : errors::VolumeNotFound(ref);
}

}  // namespace

Result<std::string> NewStoreName(const CommandContext& ctx, const std::string& typed,
                                 std::string_view kind) {
  CLONEFS_RETURN_IF_ERROR(store::ValidateName(typed, kind));
  if (kind == access::kSnapshotType && typed.rfind(kTemporarySnapshotPrefix, 0) == 0) {
    return errors::InvalidParameterValue(
        "snapshot name '" + typed + "': names starting with " + kTemporarySnapshotPrefix +
        " are reserved for the temporary snapshots of --full-copy clones");
  }
  return access::StoreName(ctx.store->info().account_id, ctx.caller.account, typed);
}

Result<std::string> OwnStoreName(const CommandContext& ctx, const std::string& ref,
                                 std::string_view kind) {
  const store::StoreInfo& here = ctx.store->info();
  std::string account = ctx.caller.account;
  std::string name = ref;
  if (access::LooksLikeArn(ref)) {
    CLONEFS_ASSIGN_OR_RETURN(access::Arn arn, access::ParseArn(ref, kind));
    if (arn.region != here.region) {
      return errors::InvalidParameterValue("'" + ref + "' names region " + arn.region +
                                           "; this store is region " + here.region);
    }
    account = arn.account;
    name = arn.name;
  }
  // A name outside the naming rules can name nothing; and a typed name must never reach
  // another account's resource through its store name.
  if (account != ctx.caller.account || !store::ValidateName(name, kind).ok()) {
    return NotFound(kind, ref);
  }
  return access::StoreName(here.account_id, account, name);
}

Result<store::VolumeInfo> ResolveVolume(const CommandContext& ctx, const std::string& ref) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, OwnStoreName(ctx, ref, access::kVolumeType));
  Result<store::VolumeInfo> v = ctx.store->GetVolume(name);
  if (v.status().IsNotFound()) return errors::VolumeNotFound(ref);
  return v;
}

Result<store::SnapshotInfo> ResolveSnapshot(const CommandContext& ctx, const std::string& ref) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, OwnStoreName(ctx, ref, access::kSnapshotType));
  Result<store::SnapshotInfo> s = ctx.store->GetSnapshot(name);
  if (s.status().IsNotFound()) return errors::SnapshotNotFound(ref);
  return s;
}

bool OwnedByCaller(const CommandContext& ctx, std::string_view store_name) {
  return access::SplitStoreName(ctx.store->info().account_id, store_name).account ==
         ctx.caller.account;
}

std::string TypedName(const store::StoreInfo& store, std::string_view store_name) {
  return access::SplitStoreName(store.account_id, store_name).name;
}

Status RequireOwnerForKeys(const CommandContext& ctx, std::string_view what) {
  if (ctx.caller.account == ctx.store->info().account_id) return Status::OK();
  return errors::InvalidParameterCombination(
      std::string(what) + " is available only to the store owner's account (" +
      ctx.store->info().account_id + ") in this store; account " + ctx.caller.account +
      " may use unencrypted volumes and snapshots");
}

}  // namespace clonefs::control
