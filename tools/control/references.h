// References to volumes and snapshots as a caller types them, and the store names they stand
// for (store/access/store_names.h).
//
// A typed name means the caller's own resource; an ARN names its owning account. Only what
// reads a shared resource (a restore, a clone) reaches another account's, and only when it is
// shared with the caller; any other reference to another account's resource fails exactly as
// one to a resource that does not exist: the same error name and the same message, which
// echoes the reference as typed (never the store name or the owner). Pure functions of the
// context; thread-safe as the Store is.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "store/store.h"
#include "tools/control/commands.h"

namespace clonefs::control {

// The store name of the caller's new resource `typed` (a volume or snapshot about to be made);
// InvalidParameterValue when `typed` breaks the naming rules, or is a snapshot name with the
// prefix reserved for --full-copy's temporary snapshots. `kind` is "volume" or "snapshot".
Result<std::string> NewStoreName(const CommandContext& ctx, const std::string& typed,
                                 std::string_view kind);

// The store name `ref` (a typed name or an ARN of `kind`) stands for when it names one of the
// caller's resources. <Kind>NotFound echoing `ref` when it names another account's or cannot
// name anything; InvalidParameterValue for a malformed ARN or one of another region.
Result<std::string> OwnStoreName(const CommandContext& ctx, const std::string& ref,
                                 std::string_view kind);

// The caller's volume `ref`; VolumeNotFound echoing `ref` when it does not exist or is not the
// caller's.
Result<store::VolumeInfo> ResolveVolume(const CommandContext& ctx, const std::string& ref);
// The caller's snapshot `ref` (SnapshotNotFound likewise).
Result<store::SnapshotInfo> ResolveSnapshot(const CommandContext& ctx, const std::string& ref);

// The snapshot `ref` when the caller owns it or its restore attribute lets the caller restore
// and copy it; SnapshotNotFound echoing `ref` otherwise (not shared is not there).
Result<store::SnapshotInfo> ResolveReadableSnapshot(const CommandContext& ctx,
                                                    const std::string& ref);
// The volume `ref` when the caller owns it or accepted a resource share of it (it may clone
// it); VolumeNotFound echoing `ref` otherwise.
Result<store::VolumeInfo> ResolveClonableVolume(const CommandContext& ctx, const std::string& ref);

// Whether the volume a sharing key (store/access/sharing.h) names still exists: the same name
// with the same catalog id. Volumes go by `volume delete` and by unlink in the mount alike.
bool VolumeKeyAlive(const CommandContext& ctx, const std::string& key);

// True when the store name `store_name` is a resource of the caller's account.
bool OwnedByCaller(const CommandContext& ctx, std::string_view store_name);
// The name the owner of `store_name` typed.
std::string TypedName(const store::StoreInfo& store, std::string_view store_name);

// InvalidParameterCombination unless the caller acts as the store owner's account: for what
// reaches beyond this store (`what`: "a copy from another region"), whose accounts are its own.
Status RequireStoreOwner(const CommandContext& ctx, std::string_view what);

}  // namespace clonefs::control
