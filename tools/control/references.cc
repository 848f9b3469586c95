#include "tools/control/references.h"

#include "base/error_names.h"
#include "store/access/arn.h"
#include "store/access/sharing.h"
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
  if (kind == access::kSnapshotType && store::IsAutomatedSnapshotName(typed)) {
    return errors::InvalidParameterValue(
        "snapshot name '" + typed + "': names starting with " +
        std::string(store::kAutomatedSnapshotPrefix) +
        " are the automated snapshots' (copy one to keep it under a name of your own)");
  }
  CLONEFS_RETURN_IF_ERROR(store::ValidateName(typed, kind));
  if (kind == access::kSnapshotType && typed.rfind(kTemporarySnapshotPrefix, 0) == 0) {
    return errors::InvalidParameterValue(
        "snapshot name '" + typed + "': names starting with " + kTemporarySnapshotPrefix +
        " are reserved for the temporary snapshots of --full-copy clones");
  }
  return access::StoreName(ctx.store->info().account_id, ctx.caller.account, typed);
}

namespace {

// The store name `ref` stands for, whoever owns it; NotFound when it cannot name anything.
Result<std::string> AnyStoreName(const CommandContext& ctx, const std::string& ref,
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
  // A name outside the naming rules can name nothing.
  const bool valid = kind == access::kSnapshotType ? store::ValidateSnapshotName(name).ok()
                                                   : store::ValidateName(name, kind).ok();
  if (!valid) return NotFound(kind, ref);
  return access::StoreName(here.account_id, account, name);
}

}  // namespace

Result<store::SnapshotInfo> ResolveReadableSnapshot(const CommandContext& ctx,
                                                    const std::string& ref) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, AnyStoreName(ctx, ref, access::kSnapshotType));
  Result<store::SnapshotInfo> s = ctx.store->GetSnapshot(name);
  if (s.status().IsNotFound()) return errors::SnapshotNotFound(ref);
  CLONEFS_RETURN_IF_ERROR(s.status());
  if (!OwnedByCaller(ctx, s->name) &&
      !ctx.services->sharing->MayRestore(ctx.caller.account, access::SharingKey(s->name, s->id))) {
    return errors::SnapshotNotFound(ref);  // exactly as if it did not exist
  }
  return s;
}

Result<store::VolumeInfo> ResolveClonableVolume(const CommandContext& ctx, const std::string& ref) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, AnyStoreName(ctx, ref, access::kVolumeType));
  Result<store::VolumeInfo> v = ctx.store->GetVolume(name);
  if (v.status().IsNotFound()) return errors::VolumeNotFound(ref);
  CLONEFS_RETURN_IF_ERROR(v.status());
  if (!OwnedByCaller(ctx, v->name) &&
      !ctx.services->sharing->MayClone(ctx.caller.account, access::SharingKey(v->name, v->id))) {
    return errors::VolumeNotFound(ref);
  }
  return v;
}

Result<std::string> OwnStoreName(const CommandContext& ctx, const std::string& ref,
                                 std::string_view kind) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, AnyStoreName(ctx, ref, kind));
  // A typed name never reaches another account's resource through its store name.
  if (!OwnedByCaller(ctx, name)) return NotFound(kind, ref);
  return name;
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

bool VolumeKeyAlive(const CommandContext& ctx, const std::string& key) {
  Result<store::VolumeInfo> v = ctx.store->GetVolume(access::StoreNameOfKey(key));
  return v.ok() && access::SharingKey(v->name, v->id) == key;
}

bool OwnedByCaller(const CommandContext& ctx, std::string_view store_name) {
  return access::SplitStoreName(ctx.store->info().account_id, store_name).account ==
         ctx.caller.account;
}

std::string TypedName(const store::StoreInfo& store, std::string_view store_name) {
  return access::SplitStoreName(store.account_id, store_name).name;
}

Status RequireStoreOwner(const CommandContext& ctx, std::string_view what) {
  if (ctx.caller.account == ctx.store->info().account_id) return Status::OK();
  std::string message(what);
  message += " is available only to the store owner's account (";
  message += ctx.store->info().account_id;
  message += ") in this store; the other store's accounts are its own";
  return errors::InvalidParameterCombination(message);
}

}  // namespace clonefs::control
