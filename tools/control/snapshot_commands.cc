// snapshot.* commands: create, list, show, delete.
#include <algorithm>
#include <set>
#include <utility>

#include "base/tags.h"
#include "store/access/sharing.h"
#include "store/access/store_names.h"
#include "tools/control/commands.h"
#include "tools/control/copy_service.h"
#include "tools/control/json_views.h"
#include "tools/control/references.h"
#include "tools/control/snapshot_quota.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

// The daemon's copies in progress, or null (direct mode).
CopyService* Copies(const CommandContext& ctx) {
  return ctx.services == nullptr ? nullptr : ctx.services->copies;
}

// Reads the "name" argument (a name or an ARN), makes it the subject of NotFound/AlreadyExists
// errors, and answers with the store name of the caller's snapshot it names.
Result<std::string> SnapshotName(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, ctx.args.RequiredString("name"));
  ctx.subject = ref;
  return OwnStoreName(ctx, ref, "snapshot");
}

Result<json> Create(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string volume_ref, ctx.args.RequiredString("volume"));
  CLONEFS_ASSIGN_OR_RETURN(std::string name, ctx.args.RequiredString("name"));
  ctx.subject = name;
  CLONEFS_ASSIGN_OR_RETURN(store::Tags tags, ctx.args.OptionalTags("tags"));
  CLONEFS_ASSIGN_OR_RETURN(std::string store_name, NewStoreName(ctx, name, "snapshot"));
  CLONEFS_RETURN_IF_ERROR(tags::CheckTags(tags));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo volume, ResolveVolume(ctx, volume_ref));
  if (Copies(ctx) != nullptr && Copies(ctx)->Has(store_name)) {
    return errors::SnapshotAlreadyExists(name);
  }
  std::unique_lock<std::mutex> quota = SnapshotQuotaLock();
  CLONEFS_RETURN_IF_ERROR(CheckSnapshotQuota(ctx));
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s,
                           ctx.store->CreateSnapshot(volume.name, store_name, tags));
  return SnapshotToJson(*ctx.store, s);
}

// True when a copy's rendering (SnapshotToJson) is one of the caller's.
bool CallersCopy(const CommandContext& ctx, const json& copy) {
  return copy.value("SnapshotArn", "") ==
         SnapshotArn(ctx.store->info(),
                     access::StoreName(ctx.store->info().account_id, ctx.caller.account,
                                       copy.value("SnapshotIdentifier", "")));
}

// The caller's snapshots, or with "volume" those taken of the caller's volume that had that
// name (whether or not it still exists).
// Other accounts' snapshots the caller may restore, as Aurora's IncludeShared (type "shared":
// its restore attribute names the caller) and IncludePublic (type "public": it names "all").
// Their owner's tags are not shown (an empty TagList).
json OthersSnapshots(CommandContext& ctx, bool shared, bool with_public) {
  const access::Sharing& sharing = *ctx.services->sharing;
  std::set<std::string> by_id, by_all;
  for (std::string& k : sharing.SharedSnapshots(ctx.caller.account)) by_id.insert(std::move(k));
  for (std::string& k : sharing.PublicSnapshots()) by_all.insert(std::move(k));
  json out = json::array();
  for (const store::SnapshotInfo& s : ctx.store->ListSnapshots()) {
    if (OwnedByCaller(ctx, s.name)) continue;
    const std::string key = access::SharingKey(s.name, s.id);
    const char* type = shared && by_id.count(key)         ? "shared"
                       : with_public && by_all.count(key) ? "public"
                                                          : nullptr;
    if (type == nullptr) continue;
    json j = SnapshotToJson(*ctx.store, s);
    j["SnapshotType"] = type;
    j["TagList"] = json::array();
    out.push_back(std::move(j));
  }
  return out;
}

// The optional "snapshot_type" argument (Aurora's SnapshotType filter): which kinds to list.
struct TypeFilter {
  bool manual = true, automated = true, shared = false, with_public = false;
};

Result<TypeFilter> SnapshotTypeArg(CommandContext& ctx, bool include_shared, bool include_public) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> type,
                           ctx.args.OptionalString("snapshot_type"));
  if (!type.has_value()) return TypeFilter{true, true, include_shared, include_public};
  if (*type == "manual") return TypeFilter{true, false, false, false};
  if (*type == "automated") return TypeFilter{false, true, false, false};
  if (*type == "shared") return TypeFilter{false, false, true, false};
  if (*type == "public") return TypeFilter{false, false, false, true};
  return errors::InvalidParameterValue("snapshot type '" + *type +
                                       "' must be manual, automated, shared or public");
}

Result<json> List(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> volume, ctx.args.OptionalString("volume"));
  CLONEFS_ASSIGN_OR_RETURN(bool include_shared, ctx.args.OptionalBool("include_shared"));
  CLONEFS_ASSIGN_OR_RETURN(bool include_public, ctx.args.OptionalBool("include_public"));
  CLONEFS_ASSIGN_OR_RETURN(TypeFilter want, SnapshotTypeArg(ctx, include_shared, include_public));
  json snapshots = json::array();
  for (const store::SnapshotInfo& s : ctx.store->ListSnapshots()) {
    if (!OwnedByCaller(ctx, s.name)) continue;
    if (!(s.type == store::SnapshotType::kAutomated ? want.automated : want.manual)) continue;
    if (volume.has_value() && TypedName(ctx.store->info(), s.volume_name) != *volume) continue;
    snapshots.push_back(SnapshotToJson(*ctx.store, s));
  }
  // --volume names one of the caller's volumes: no other account's snapshot is of it.
  if (!volume.has_value()) {
    for (json& s : OthersSnapshots(ctx, want.shared, want.with_public)) {
      snapshots.push_back(std::move(s));
    }
  }
  if (Copies(ctx) != nullptr && want.manual) {
    // Copies still running (or failed) show as their targets, as Aurora lists them.
    std::set<std::string> listed;
    for (const json& s : snapshots) listed.insert(s.value("SnapshotIdentifier", ""));
    for (json& copy : Copies(ctx)->List()) {
      // A copy that has just committed is a snapshot already: it shows once, as that.
      if (listed.count(copy.value("SnapshotIdentifier", "")) > 0) continue;
      if (!CallersCopy(ctx, copy)) continue;
      if (!volume.has_value() || copy.value("VolumeIdentifier", "") == *volume) {
        snapshots.push_back(std::move(copy));
      }
    }
    std::sort(snapshots.begin(), snapshots.end(), [](const json& a, const json& b) {
      // Another account's snapshot may have the name of one of the caller's.
      return std::pair(a.value("SnapshotIdentifier", ""), a.value("SnapshotArn", "")) <
             std::pair(b.value("SnapshotIdentifier", ""), b.value("SnapshotArn", ""));
    });
  }
  return json{{"Snapshots", std::move(snapshots)}};
}

Result<json> Show(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, SnapshotName(ctx));
  auto s = ctx.store->GetSnapshot(name);
  if (s.ok()) return SnapshotToJson(*ctx.store, *s);  // copies commit before they leave
  if (Copies(ctx) != nullptr) {
    if (std::optional<json> copy = Copies(ctx)->Describe(name)) return *copy;
  }
  if (s.status().IsNotFound()) return errors::SnapshotNotFound(ctx.subject);
  return s.status();
}

// Answers with the snapshot as it was, in Status "deleted". Deleting the target of a copy in
// progress cancels the copy.
Result<json> Delete(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, SnapshotName(ctx));
  if (Copies(ctx) != nullptr && Copies(ctx)->Has(name)) return Copies(ctx)->Cancel(name);
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s, ResolveSnapshot(ctx, ctx.subject));
  // As Aurora's: an automated snapshot goes when its retention ends or with its volume. Once
  // the volume is gone (a retained automated backup) its owner may delete it.
  if (s.type == store::SnapshotType::kAutomated && ctx.store->GetVolumeById(s.volume_id).ok()) {
    return errors::InvalidSnapshotState(
        "snapshot '" + ctx.subject +
        "' is an automated snapshot; it is deleted when its retention period ends or with its "
        "volume. Copy it (clonectl snapshot copy) to keep it, or lower the volume's "
        "--backup-retention-period");
  }
  CLONEFS_RETURN_IF_ERROR(ctx.store->DeleteSnapshot(name));
  s.status = store::SnapshotStatus::kDeleted;
  return SnapshotToJson(*ctx.store, s);
}

}  // namespace

void RegisterSnapshotCommands(std::vector<CommandSpec>& table) {
  table.push_back({"snapshot.create",
                   "snapshot",
                   "Take a point-in-time snapshot of a volume",
                   {"volume", "name", "tags"},
                   Create});
  table.push_back({"snapshot.list",
                   "snapshot",
                   "List snapshots, sorted by name, optionally of one volume, or with those "
                   "other accounts share",
                   {"volume", "include_shared", "include_public", "snapshot_type"},
                   List});
  table.push_back({"snapshot.show", "snapshot", "Describe one snapshot", {"name"}, Show});
  table.push_back({"snapshot.delete",
                   "snapshot",
                   "Delete a snapshot; volumes restored from it are unaffected",
                   {"name"},
                   Delete});
}

}  // namespace clonefs::control
