// tag.* commands: the tags of volumes, snapshots and KMS keys, named by ARN (docs/CLI.md,
// "Tags"), after Aurora's AddTagsToResource, ListTagsForResource and RemoveTagsFromResource.
//
// Only the owning account sees and changes a resource's tags. Another account's resource that
// is not shared with the caller answers exactly as one that does not exist (VolumeNotFound,
// SnapshotNotFound, NotFoundException, echoing the ARN as typed); one shared with it (a
// snapshot's restore attribute, an accepted volume share) is visible, but its tags are not the
// caller's: adding and removing is AccessDenied, and the list is empty, as `snapshot list
// --include-shared` shows it. The rules of a tag are base/tags.h's.
#include <nlohmann/json.hpp>

#include "base/error_names.h"
#include "base/tags.h"
#include "store/access/arn.h"
#include "store/keys/key_service.h"
#include "tools/control/commands.h"
#include "tools/control/json_views.h"
#include "tools/control/references.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

// What a tag command acts on.
struct Resource {
  std::string ref;         // the ARN as typed
  std::string type;        // access::kVolumeType, kSnapshotType or kKeyType
  std::string store_name;  // a volume's or snapshot's
  store::Tags tags;        // a volume's or snapshot's, as found
  bool owned = false;      // false: shared with the caller by another account
};

// Reads the "resource" argument: an ARN of this region naming a volume, snapshot or key. A
// volume or snapshot must be the caller's or shared with it; a key is looked up as the caller's
// account sees it (the key store answers for one it does not own or may not see).
Result<Resource> TagResource(CommandContext& ctx) {
  Resource r;
  CLONEFS_ASSIGN_OR_RETURN(r.ref, ctx.args.RequiredString("resource"));
  ctx.subject = r.ref;
  if (!access::LooksLikeArn(r.ref)) {
    return errors::InvalidParameterValue(
        "'" + r.ref + "' is not an ARN: tags name their resource as " +
        "arn:clonefs:REGION:ACCOUNT:volume:NAME (or snapshot:NAME, key:KEY_ID)");
  }
  CLONEFS_ASSIGN_OR_RETURN(access::Arn arn, access::ParseArn(r.ref));
  r.type = arn.type;
  if (r.type != access::kVolumeType && r.type != access::kSnapshotType &&
      r.type != access::kKeyType) {
    return errors::InvalidParameterValue("'" + r.ref + "' names a " + r.type +
                                         ": only volumes, snapshots and keys have tags");
  }
  const std::string& region = ctx.store->info().region;
  if (arn.region != region) {
    return errors::InvalidParameterValue("'" + r.ref + "' names region " + arn.region +
                                         "; this store is region " + region);
  }
  if (r.type == access::kVolumeType) {
    CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ResolveClonableVolume(ctx, r.ref));
    r.store_name = v.name;
    r.tags = v.tags;
  } else if (r.type == access::kSnapshotType) {
    CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s, ResolveReadableSnapshot(ctx, r.ref));
    r.store_name = s.name;
    r.tags = s.tags;
  }
  r.owned = r.type == access::kKeyType || OwnedByCaller(ctx, r.store_name);
  return r;
}

Status NotTheOwner(CommandContext& ctx, const Resource& r) {
  return errors::AccessDenied("the tags of " + r.ref + " are its owner's: account " +
                              ctx.caller.account + " may not change them");
}

json TagListJson(const store::Tags& tags) { return json{{"TagList", TagListToJson(tags)}}; }

// Applies `edit` to the tags of `r` (the caller's own) and answers with them afterwards.
Result<json> Edit(CommandContext& ctx, const Resource& r, const store::TagEdit& edit) {
  if (r.type == access::kVolumeType) {
    Result<store::VolumeInfo> v = ctx.store->UpdateVolumeTags(r.store_name, edit);
    if (v.status().IsNotFound()) return errors::VolumeNotFound(r.ref);  // deleted meanwhile
    CLONEFS_RETURN_IF_ERROR(v.status());
    return TagListJson(v->tags);
  }
  Result<store::SnapshotInfo> s = ctx.store->UpdateSnapshotTags(r.store_name, edit);
  if (s.status().IsNotFound()) return errors::SnapshotNotFound(r.ref);
  CLONEFS_RETURN_IF_ERROR(s.status());
  return TagListJson(s->tags);
}

Result<json> KeyTags(CommandContext& ctx, const Resource& r) {
  CLONEFS_ASSIGN_OR_RETURN(store::Tags tags,
                           ctx.store->KeysOf(ctx.caller.account)->ListKeyTags(r.ref));
  return TagListJson(tags);
}

Result<json> Add(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(Resource r, TagResource(ctx));
  CLONEFS_ASSIGN_OR_RETURN(store::Tags added, ctx.args.OptionalTags("tags"));
  if (added.empty()) return errors::InvalidParameterValue("give at least one tag, KEY=VALUE");
  if (!r.owned) return NotTheOwner(ctx, r);
  if (r.type == access::kKeyType) {
    CLONEFS_RETURN_IF_ERROR(ctx.store->KeysOf(ctx.caller.account)->TagKey(r.ref, added));
    return KeyTags(ctx, r);
  }
  return Edit(ctx, r, [&](const store::Tags& current) { return tags::AddTags(current, added); });
}

Result<json> List(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(Resource r, TagResource(ctx));
  if (!r.owned) return TagListJson({});  // the owner's tags are not the caller's to see
  if (r.type == access::kKeyType) return KeyTags(ctx, r);
  return TagListJson(r.tags);
}

Result<json> Remove(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(Resource r, TagResource(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::vector<std::string> keys, ctx.args.RequiredStrings("keys"));
  if (!r.owned) return NotTheOwner(ctx, r);
  if (r.type == access::kKeyType) {
    CLONEFS_RETURN_IF_ERROR(ctx.store->KeysOf(ctx.caller.account)->UntagKey(r.ref, keys));
    return KeyTags(ctx, r);
  }
  return Edit(ctx, r, [&](const store::Tags& current) { return tags::RemoveTags(current, keys); });
}

}  // namespace

void RegisterTagCommands(std::vector<CommandSpec>& table) {
  table.push_back({"tag.add",
                   "resource",
                   "Add tags to a volume, snapshot or key (an existing key takes the new value)",
                   {"resource", "tags"},
                   Add});
  table.push_back(
      {"tag.list", "resource", "The tags of a volume, snapshot or key", {"resource"}, List});
  table.push_back({"tag.remove",
                   "resource",
                   "Remove tags, by key, from a volume, snapshot or key",
                   {"resource", "keys"},
                   Remove});
}

}  // namespace clonefs::control
