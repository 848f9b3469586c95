// volume.* commands: create, list, show, resize, modify, delete, usage, clone, restore, rekey.
#include <spdlog/spdlog.h>

#include <bit>
#include <cstdio>
#include <map>
#include <random>

#include "base/tags.h"
#include "store/access/arn.h"
#include "store/access/sharing.h"
#include "store/access/store_names.h"
#include "tools/control/backup_service.h"
#include "tools/control/commands.h"
#include "tools/control/full_copy.h"
#include "tools/control/json_views.h"
#include "tools/control/key_access.h"
#include "tools/control/references.h"
#include "tools/control/sizes.h"
#include "tools/control/snapshot_quota.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

// Reads the "name" argument (a name or an ARN), makes it the subject of errors, and finds the
// caller's volume it names.
Result<store::VolumeInfo> NamedVolume(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, ctx.args.RequiredString("name"));
  ctx.subject = ref;
  return ResolveVolume(ctx, ref);
}

// Reads the required "size" argument and checks it against the volume size limit.
Result<uint64_t> VolumeSize(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<uint64_t> size, ctx.args.OptionalSize("size"));
  if (!size.has_value()) return Status::InvalidArgument("argument 'size' is required");
  if (*size > store::kMaxVolumeBytes) {
    return Status::InvalidArgument("size " + FormatSize(*size) +
                                   " exceeds the maximum volume size of " +
                                   FormatSize(store::kMaxVolumeBytes));
  }
  return *size;
}

// The name of the volume `v` was cloned or restored from, while that volume exists.
std::string SourceVolumeName(CommandContext& ctx, const store::VolumeInfo& v) {
  if (v.parent_id == 0) return "";
  Result<store::VolumeInfo> parent = ctx.store->GetVolumeById(v.parent_id);
  return parent.ok() ? parent->name : "";
}

json VolumeJson(CommandContext& ctx, const store::VolumeInfo& v) {
  json j = VolumeToJson(*ctx.store, v, SourceVolumeName(ctx, v));
  j["CrossAccountClone"] =
      ctx.services->sharing->IsCrossAccountClone(access::SharingKey(v.name, v.id));
  return j;
}

// The optional "backup_retention_period" argument: 1-35 days.
Result<std::optional<uint64_t>> BackupRetentionArg(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<uint64_t> days,
                           ctx.args.OptionalUint("backup_retention_period"));
  if (days.has_value()) {
    Status valid = store::ValidateBackupRetention(*days);
    if (!valid.ok()) return errors::InvalidParameterValue(valid.message());
  }
  return days;
}

// The optional "preferred_backup_window" argument: hh24:mi-hh24:mi UTC, 30 minutes or more.
Result<std::optional<store::BackupWindow>> BackupWindowArg(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> text,
                           ctx.args.OptionalString("preferred_backup_window"));
  if (!text.has_value()) return std::optional<store::BackupWindow>();
  Result<store::BackupWindow> w = store::ParseBackupWindow(*text);
  if (!w.ok()) return errors::InvalidParameterValue(w.status().message());
  return std::optional<store::BackupWindow>(*w);
}

Result<store::VolumeOptions> CreateOptions(CommandContext& ctx) {
  store::VolumeOptions opts;
  CLONEFS_ASSIGN_OR_RETURN(opts.size_bytes, VolumeSize(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<uint64_t> page_size, ctx.args.OptionalSize("page_size"));
  if (page_size.has_value()) {
    if (*page_size < store::kMinPageSize || *page_size > store::kMaxPageSize ||
        !std::has_single_bit(*page_size)) {
      return Status::InvalidArgument(
          "page size " + FormatSize(*page_size) + " is not a power of two from " +
          FormatSize(store::kMinPageSize) + " to " + FormatSize(store::kMaxPageSize));
    }
    opts.page_size = static_cast<uint32_t>(*page_size);
  }
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> compression,
                           ctx.args.OptionalString("compression"));
  if (compression.has_value()) {
    Result<store::Compression> c = store::ParseCompression(*compression);
    if (!c.ok()) {
      return Status::InvalidArgument("compression must be 'none' or 'zstd', not '" + *compression +
                                     "'");
    }
    opts.compression = *c;
  }
  CLONEFS_ASSIGN_OR_RETURN(opts.encrypted, ctx.args.OptionalBool("encrypted"));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> kms_key, ctx.args.OptionalString("kms_key"));
  opts.kms_key = kms_key.value_or("");
  CLONEFS_ASSIGN_OR_RETURN(std::optional<uint64_t> retention, BackupRetentionArg(ctx));
  if (retention.has_value()) opts.backup_retention_days = static_cast<uint32_t>(*retention);
  CLONEFS_ASSIGN_OR_RETURN(opts.backup_window, BackupWindowArg(ctx));
  return opts;
}

// The optional "kms_key" argument of a clone or restore.
Result<store::CloneOptions> CloneKeyOptions(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> kms_key, ctx.args.OptionalString("kms_key"));
  return store::CloneOptions{kms_key.value_or("")};
}

// The tags of a new volume: the "tags" argument (base/tags.h's rules) or, with "copy_tags",
// `source_tags` (those of the caller's own source: `source_owned`) with the given ones applied
// over them, as Aurora's CopyTagsToSnapshot with Tags does.
Result<store::Tags> NewVolumeTags(CommandContext& ctx, const store::Tags& source_tags,
                                  bool source_owned) {
  CLONEFS_ASSIGN_OR_RETURN(store::Tags given, ctx.args.OptionalTags("tags"));
  CLONEFS_ASSIGN_OR_RETURN(bool copy_tags, ctx.args.OptionalBool("copy_tags"));
  if (!copy_tags) {
    CLONEFS_RETURN_IF_ERROR(tags::CheckTags(given));
    return given;
  }
  if (!source_owned) {
    return errors::InvalidParameterCombination(
        "--copy-tags copies the tags of your own volumes and snapshots only; the owner's tags "
        "are not yours to see: give the new volume its own --tag");
  }
  return tags::AddTags(source_tags, given);
}

Result<json> Create(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, ctx.args.RequiredString("name"));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeOptions opts, CreateOptions(ctx));
  CLONEFS_ASSIGN_OR_RETURN(opts.tags, ctx.args.OptionalTags("tags"));
  CLONEFS_RETURN_IF_ERROR(tags::CheckTags(opts.tags));
  CLONEFS_ASSIGN_OR_RETURN(std::string store_name, NewStoreName(ctx, name, "volume"));
  ctx.subject = name;
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->CreateVolume(store_name, opts));
  return VolumeJson(ctx, v);
}

// The caller's own volumes.
// What an account that may clone another's volume sees of it: only what a clone inherits.
json SharedVolumeJson(CommandContext& ctx, const store::VolumeInfo& v) {
  const access::OwnedName owner = access::SplitStoreName(ctx.store->info().account_id, v.name);
  return {{"VolumeIdentifier", owner.name},  {"VolumeArn", VolumeArn(ctx.store->info(), v.name)},
          {"OwnerAccountId", owner.account}, {"SizeBytes", v.size_bytes},
          {"PageSize", v.page_size},         {"Compression", store::CompressionName(v.compression)},
          {"StorageEncrypted", v.encrypted}, {"Shared", true}};
}

Result<json> List(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(bool include_shared, ctx.args.OptionalBool("include_shared"));
  const std::vector<store::VolumeInfo> all = ctx.store->ListVolumes();
  std::map<uint64_t, std::string> names;
  for (const store::VolumeInfo& v : all) names[v.id] = v.name;
  json volumes = json::array();
  for (const store::VolumeInfo& v : all) {
    if (!OwnedByCaller(ctx, v.name)) {
      // A volume of a resource share the caller accepted (--include-shared).
      if (include_shared &&
          ctx.services->sharing->MayClone(ctx.caller.account, access::SharingKey(v.name, v.id))) {
        volumes.push_back(SharedVolumeJson(ctx, v));
      }
      continue;
    }
    auto parent = names.find(v.parent_id);
    json j = VolumeToJson(*ctx.store, v, parent == names.end() ? "" : parent->second);
    j["CrossAccountClone"] =
        ctx.services->sharing->IsCrossAccountClone(access::SharingKey(v.name, v.id));
    volumes.push_back(std::move(j));
  }
  return json{{"Volumes", std::move(volumes)}};
}

Result<json> Show(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, NamedVolume(ctx));
  return VolumeJson(ctx, v);
}

Result<json> Resize(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo found, NamedVolume(ctx));
  CLONEFS_ASSIGN_OR_RETURN(uint64_t size, VolumeSize(ctx));
  // As `rbd resize`: shrinking only when asked, and never under a filesystem in use.
  store::ResizeOptions options;
  CLONEFS_ASSIGN_OR_RETURN(options.allow_shrink, ctx.args.OptionalBool("allow_shrink"));
  options.refuse_shrink_in_use = true;
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->ResizeVolume(found.name, size, options));
  return VolumeJson(ctx, v);
}

// Changes a volume's settings, as Aurora's ModifyDBCluster does: its name
// (NewDBClusterIdentifier), BackupRetentionPeriod and PreferredBackupWindow. Every argument is
// checked before anything changes. A rename keeps everything but the name: id, pages,
// snapshots (which keep the name they were taken of), clones, tags, open images; it is refused
// while the volume is shared (store/access/sharing.h). A shorter retention frees at once.
Result<json> Modify(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, NamedVolume(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> new_name,
                           ctx.args.OptionalString("new_name"));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<uint64_t> retention, BackupRetentionArg(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<store::BackupWindow> window, BackupWindowArg(ctx));
  if (!new_name.has_value() && !retention.has_value() && !window.has_value()) {
    return errors::InvalidParameterCombination(
        "nothing to modify: name what to change (--new-name NAME, --backup-retention-period "
        "DAYS, --preferred-backup-window hh24:mi-hh24:mi)");
  }
  std::string store_name = v.name;
  if (new_name.has_value()) {
    CLONEFS_ASSIGN_OR_RETURN(store_name, NewStoreName(ctx, *new_name, "volume"));
  }
  if (store_name != v.name) {
    if (ctx.store->GetVolume(store_name).ok()) return errors::VolumeAlreadyExists(*new_name);
    CLONEFS_ASSIGN_OR_RETURN(
        v, ctx.services->sharing->RenameVolume(access::SharingKey(v.name, v.id), store_name));
  }
  if (retention.has_value() || window.has_value()) {
    store::BackupPolicy policy = v.backup;
    if (retention.has_value()) policy.retention_days = static_cast<uint32_t>(*retention);
    if (window.has_value()) policy.window = *window;
    CLONEFS_ASSIGN_OR_RETURN(v, ctx.store->SetBackupPolicy(v.name, policy));
    if (ctx.services->backups != nullptr) ctx.services->backups->Poke();
  }
  return VolumeJson(ctx, v);
}

// Takes "final_snapshot" (a new manual snapshot's name), checking it and the caller's quota:
// the store name of the snapshot taken, or "" when none was asked for.
Result<std::string> TakeFinalSnapshot(CommandContext& ctx, const store::VolumeInfo& v) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> name,
                           ctx.args.OptionalString("final_snapshot"));
  if (!name.has_value()) return std::string();
  CLONEFS_ASSIGN_OR_RETURN(std::string store_name, NewStoreName(ctx, *name, "snapshot"));
  std::unique_lock<std::mutex> quota = SnapshotQuotaLock();
  CLONEFS_RETURN_IF_ERROR(CheckSnapshotQuota(ctx));
  CLONEFS_RETURN_IF_ERROR(ctx.store->CreateSnapshot(v.name, store_name, {}).status());
  return store_name;
}

// Deletes the volume (Aurora's DeleteDBCluster), first taking "final_snapshot" if asked. Its
// automated snapshots go with it unless "retain_automated_backups": then they stay, listed,
// until their retention ends. Answers with the volume as it was, in Status "deleted"; when the
// volume cannot be deleted (in use), nothing changes, the final snapshot included.
Result<json> Delete(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, NamedVolume(ctx));
  CLONEFS_ASSIGN_OR_RETURN(bool retain, ctx.args.OptionalBool("retain_automated_backups"));
  CLONEFS_ASSIGN_OR_RETURN(std::string final_snapshot, TakeFinalSnapshot(ctx, v));
  if (Status deleted = ctx.store->DeleteVolume(v.name); !deleted.ok()) {
    if (!final_snapshot.empty()) {
      Status undone = ctx.store->DeleteSnapshot(final_snapshot);
      if (!undone.ok())
        spdlog::warn("volume delete: final snapshot {} stays: {}", final_snapshot,
                     undone.ToString());
    }
    return deleted;
  }
  if (!retain) {
    for (const store::SnapshotInfo& s : ctx.store->ListSnapshots()) {
      if (s.type != store::SnapshotType::kAutomated || s.volume_id != v.id) continue;
      Status gone = ctx.store->DeleteSnapshot(s.name);
      if (!gone.ok() && !gone.IsNotFound()) {
        // Open (a loop device on it): it expires with its retention instead.
        spdlog::warn("volume delete: automated snapshot {} stays until its retention ends: {}",
                     s.name, gone.ToString());
      }
    }
  }
  std::string source = SourceVolumeName(ctx, v);
  v.status = store::VolumeStatus::kDeleted;
  return VolumeToJson(*ctx.store, v, source);
}

Result<json> UsageOf(CommandContext& ctx, const store::VolumeInfo& v) {
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeUsage usage, ctx.store->GetVolumeUsage(v.name));
  store::VolumeInfo shown = v;
  shown.name = TypedName(ctx.store->info(), v.name);
  return VolumeUsageToJson(shown, usage);
}

// With "name": that volume's usage. Without: {"VolumeUsages": [...]} for every volume.
Result<json> Usage(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> name, ctx.args.OptionalString("name"));
  if (name.has_value()) {
    ctx.subject = *name;
    CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ResolveVolume(ctx, *name));
    return UsageOf(ctx, v);
  }
  json usages = json::array();
  for (const store::VolumeInfo& v : ctx.store->ListVolumes()) {
    if (!OwnedByCaller(ctx, v.name)) continue;
    Result<json> u = UsageOf(ctx, v);
    if (u.status().IsNotFound()) continue;  // deleted since the listing
    if (!u.ok()) return u.status();
    usages.push_back(std::move(u).value());
  }
  return json{{"VolumeUsages", std::move(usages)}};
}

// Reads the new volume's "name", checks it and makes it the subject of errors; answers with
// its store name. A full copy also refuses a name in use before it starts any work.
Result<std::string> NewVolumeName(CommandContext& ctx, bool full_copy) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, ctx.args.RequiredString("name"));
  ctx.subject = name;
  CLONEFS_ASSIGN_OR_RETURN(std::string store_name, NewStoreName(ctx, name, "volume"));
  if (full_copy && ctx.store->GetVolume(store_name).ok()) return Status::AlreadyExists(name);
  return store_name;
}

// A name for the snapshot a full clone copies from; unlikely to collide with a user's.
std::string TemporarySnapshotName() {
  std::random_device rd;
  const uint64_t r = (uint64_t{rd()} << 32) ^ rd();
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(r));
  return kTemporarySnapshotPrefix + std::string(buf);
}

// A copy-on-write clone of a volume as of now or, with "full_copy", an independent full copy
// of it as of now (copied from a temporary snapshot, so it is consistent however busy the
// source is).
// Refuses what Aurora refuses of a clone of `from`: cloning a cross-account clone again, and
// for a clone of another account's volume (shared with the caller) a full copy, a source under
// its account's default key, a source whose key the caller may not use (key_access.h) and the
// 16th such clone of it. `kms_key`: the key the caller named for the clone, if any.
Status CheckCloneRules(CommandContext& ctx, const store::VolumeInfo& from, bool full_copy,
                       const std::string& kms_key) {
  access::Sharing& sharing = *ctx.services->sharing;
  if (sharing.IsCrossAccountClone(access::SharingKey(from.name, from.id))) {
    return errors::InvalidVolumeState("volume '" + TypedName(ctx.store->info(), from.name) +
                                      "' is a cross-account clone: it cannot be cloned again");
  }
  if (OwnedByCaller(ctx, from.name)) return Status::OK();
  if (full_copy) {
    return errors::InvalidParameterCombination(
        "a clone of another account's volume is copy-on-write: --full-copy copies your own");
  }
  if (from.encrypted) {
    const store::StoreInfo& store = ctx.store->info();
    const std::string owner = access::SplitStoreName(store.account_id, from.name).account;
    const std::string what = "volume " + VolumeArn(store, from.name);
    if (IsDefaultKeyOf(ctx, owner, from.kms_key_id)) {
      return errors::InvalidParameterCombination(
          what +
          " is encrypted with its account's default KMS key, which no other account may "
          "use: it cannot be cloned across accounts");
    }
    CLONEFS_RETURN_IF_ERROR(CheckKeysToDerive(ctx, what, from.kms_key_id, kms_key));
  }
  return sharing.CheckCrossAccountClone(
      access::SharingKey(from.name, from.id),
      [&](const std::string& clone) { return VolumeKeyAlive(ctx, clone); });
}

Result<json> Clone(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string source_ref, ctx.args.RequiredString("source"));
  CLONEFS_ASSIGN_OR_RETURN(bool full_copy, ctx.args.OptionalBool("full_copy"));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo from_volume, ResolveClonableVolume(ctx, source_ref));
  CLONEFS_ASSIGN_OR_RETURN(store::CloneOptions keys, CloneKeyOptions(ctx));
  CLONEFS_RETURN_IF_ERROR(CheckCloneRules(ctx, from_volume, full_copy, keys.kms_key));
  const std::string& source = from_volume.name;
  CLONEFS_ASSIGN_OR_RETURN(keys.tags,
                           NewVolumeTags(ctx, from_volume.tags, OwnedByCaller(ctx, source)));
  CLONEFS_ASSIGN_OR_RETURN(std::string name, NewVolumeName(ctx, full_copy));
  if (!full_copy) {
    CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->CloneVolume(source, name, keys));
    if (!OwnedByCaller(ctx, source)) {
      Status marked = ctx.services->sharing->RecordCrossAccountClone(
          access::SharingKey(v.name, v.id), access::SharingKey(source, from_volume.id));
      if (!marked.ok()) {
        // Not recorded, not kept: an unmarked clone could be cloned and shared again.
        ctx.store->DeleteVolume(v.name).IgnoreError();
        return marked;
      }
    }
    return VolumeJson(ctx, v);
  }
  const std::string temporary =
      access::StoreName(ctx.store->info().account_id, ctx.caller.account, TemporarySnapshotName());
  CLONEFS_RETURN_IF_ERROR(ctx.store->CreateSnapshot(source, temporary, {}).status());
  Result<store::VolumeInfo> copied = Status::IOError("not copied");
  {
    Result<std::shared_ptr<store::VolumeHandle>> from = ctx.store->OpenSnapshot(temporary);
    copied = from.ok() ? FullCopy(ctx.store, **from, name, keys.kms_key, keys.tags, ctx.progress,
                                  ctx.cancelled)
                       : Result<store::VolumeInfo>(from.status());
  }
  Status dropped = ctx.store->DeleteSnapshot(temporary);
  if (!dropped.ok()) {
    spdlog::warn("could not delete temporary snapshot {}: {}", temporary, dropped.ToString());
  }
  if (!copied.ok()) return copied.status();
  return VolumeJson(ctx, *copied);
}

// A copy-on-write volume with a snapshot's content or, with "full_copy", an independent full
// copy of it.
Result<json> Restore(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string snapshot_ref, ctx.args.RequiredString("snapshot"));
  CLONEFS_ASSIGN_OR_RETURN(bool full_copy, ctx.args.OptionalBool("full_copy"));
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo from_snapshot,
                           ResolveReadableSnapshot(ctx, snapshot_ref));
  const std::string& snapshot = from_snapshot.name;
  CLONEFS_ASSIGN_OR_RETURN(store::CloneOptions keys, CloneKeyOptions(ctx));
  if (from_snapshot.encrypted && !OwnedByCaller(ctx, snapshot)) {
    CLONEFS_RETURN_IF_ERROR(
        CheckKeysToDerive(ctx, "snapshot " + SnapshotArn(ctx.store->info(), snapshot),
                          from_snapshot.kms_key_id, keys.kms_key));
  }
  CLONEFS_ASSIGN_OR_RETURN(
      keys.tags, NewVolumeTags(ctx, from_snapshot.tags, OwnedByCaller(ctx, from_snapshot.name)));
  CLONEFS_ASSIGN_OR_RETURN(std::string name, NewVolumeName(ctx, full_copy));
  if (!full_copy) {
    CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->RestoreSnapshot(snapshot, name, keys));
    return VolumeJson(ctx, v);
  }
  CLONEFS_ASSIGN_OR_RETURN(std::shared_ptr<store::VolumeHandle> from,
                           ctx.store->OpenSnapshot(snapshot));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, FullCopy(ctx.store, *from, name, keys.kms_key,
                                                         keys.tags, ctx.progress, ctx.cancelled));
  return VolumeJson(ctx, v);
}

// Point-in-time restore: a copy-on-write volume with the caller's volume "source" as of
// "restore_time" (RFC 3339) or its latest restorable time ("use_latest_restorable_time"). The
// source may be a deleted volume whose automated backups were retained.
Result<json> RestoreToTime(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string source_ref, ctx.args.RequiredString("source"));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> time_text,
                           ctx.args.OptionalString("restore_time"));
  CLONEFS_ASSIGN_OR_RETURN(bool latest, ctx.args.OptionalBool("use_latest_restorable_time"));
  if (time_text.has_value() == latest) {
    return errors::InvalidParameterCombination(
        "give exactly one of --restore-time TIME and --use-latest-restorable-time");
  }
  std::optional<uint64_t> time_us;
  if (time_text.has_value()) {
    Result<uint64_t> parsed = store::ParseRfc3339(*time_text);
    if (!parsed.ok()) return errors::InvalidParameterValue(parsed.status().message());
    time_us = *parsed;
  }
  CLONEFS_ASSIGN_OR_RETURN(std::string source, OwnStoreName(ctx, source_ref, access::kVolumeType));
  if (Result<store::VolumeInfo> live = ctx.store->GetVolume(source);
      live.ok() &&
      ctx.services->sharing->IsCrossAccountClone(access::SharingKey(live->name, live->id))) {
    return errors::InvalidParameterCombination(
        "volume '" + source_ref +
        "' is a cross-account clone: like a clone of it, a restore of it to a time is refused; "
        "its owner's account can restore the source volume");
  }
  CLONEFS_ASSIGN_OR_RETURN(store::CloneOptions keys, CloneKeyOptions(ctx));
  CLONEFS_ASSIGN_OR_RETURN(keys.tags, ctx.args.OptionalTags("tags"));
  CLONEFS_RETURN_IF_ERROR(tags::CheckTags(keys.tags));
  CLONEFS_ASSIGN_OR_RETURN(std::string name, NewVolumeName(ctx, false));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v,
                           ctx.store->RestoreVolumeToTime(source, name, time_us, keys));
  return VolumeJson(ctx, v);
}

// Re-wraps an encrypted volume's data keys under another KMS key.
Result<json> Rekey(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo found, NamedVolume(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::string kms_key, ctx.args.RequiredString("kms_key"));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->RekeyVolume(found.name, kms_key));
  return VolumeJson(ctx, v);
}

}  // namespace

void RegisterVolumeCommands(std::vector<CommandSpec>& table) {
  table.push_back({"volume.create",
                   "volume",
                   "Create an empty volume",
                   {"name", "size", "page_size", "compression", "encrypted", "kms_key", "tags",
                    "backup_retention_period", "preferred_backup_window"},
                   Create});
  table.push_back({"volume.list",
                   "volume",
                   "List volumes, sorted by name (and those shared with the caller)",
                   {"include_shared"},
                   List});
  table.push_back({"volume.show", "volume", "Describe one volume", {"name"}, Show});
  table.push_back({"volume.resize",
                   "volume",
                   "Grow a volume, or shrink it with allow_shrink while it is not in use",
                   {"name", "size", "allow_shrink"},
                   Resize});
  table.push_back({"volume.modify",
                   "volume",
                   "Change a volume's settings: its name (not while it is shared), its backup "
                   "retention period and preferred backup window",
                   {"name", "new_name", "backup_retention_period", "preferred_backup_window"},
                   Modify});
  table.push_back({"volume.delete",
                   "volume",
                   "Delete a volume and free its pages, after a final snapshot if asked; its "
                   "automated snapshots go too unless retained",
                   {"name", "final_snapshot", "retain_automated_backups"},
                   Delete});
  table.push_back(
      {"volume.usage", "volume", "Space used by one volume or by every volume", {"name"}, Usage});
  table.push_back({"volume.clone",
                   "volume",
                   "Clone a volume (copy-on-write, or an independent full copy)",
                   {"source", "name", "full_copy", "kms_key", "tags", "copy_tags"},
                   Clone});
  table.push_back({"volume.restore",
                   "volume",
                   "Restore a snapshot into a new volume (copy-on-write, or a full copy)",
                   {"snapshot", "name", "full_copy", "kms_key", "tags", "copy_tags"},
                   Restore});
  table.push_back(
      {"volume.restore_to_time",
       "volume",
       "Restore a volume as of a point in time into a new volume (copy-on-write)",
       {"source", "name", "restore_time", "use_latest_restorable_time", "kms_key", "tags"},
       RestoreToTime});
  table.push_back({"volume.rekey",
                   "volume",
                   "Re-wrap an encrypted volume's data keys under another KMS key",
                   {"name", "kms_key"},
                   Rekey});
}

}  // namespace clonefs::control
