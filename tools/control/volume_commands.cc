// volume.* commands: create, list, show, resize, delete, usage.
#include <bit>

#include "tools/control/commands.h"
#include "tools/control/json_views.h"
#include "tools/control/sizes.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

// Reads the "name" argument and makes it the subject of NotFound/AlreadyExists errors.
Result<std::string> VolumeName(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, ctx.args.RequiredString("name"));
  ctx.subject = name;
  return name;
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
  return opts;
}

Result<json> Create(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, ctx.args.RequiredString("name"));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeOptions opts, CreateOptions(ctx));
  CLONEFS_RETURN_IF_ERROR(store::ValidateName(name, "volume"));
  ctx.subject = name;
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->CreateVolume(name, opts));
  return VolumeToJson(ctx.store->info(), v);
}

Result<json> List(CommandContext& ctx) {
  json volumes = json::array();
  for (const store::VolumeInfo& v : ctx.store->ListVolumes()) {
    volumes.push_back(VolumeToJson(ctx.store->info(), v));
  }
  return json{{"Volumes", std::move(volumes)}};
}

Result<json> Show(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, VolumeName(ctx));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->GetVolume(name));
  return VolumeToJson(ctx.store->info(), v);
}

Result<json> Resize(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, VolumeName(ctx));
  CLONEFS_ASSIGN_OR_RETURN(uint64_t size, VolumeSize(ctx));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->ResizeVolume(name, size));
  return VolumeToJson(ctx.store->info(), v);
}

// Answers with the volume as it was, in Status "deleted".
Result<json> Delete(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, VolumeName(ctx));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->GetVolume(name));
  CLONEFS_RETURN_IF_ERROR(ctx.store->DeleteVolume(name));
  v.status = "deleted";
  return VolumeToJson(ctx.store->info(), v);
}

Result<json> UsageOf(CommandContext& ctx, const store::VolumeInfo& v) {
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeUsage usage, ctx.store->GetVolumeUsage(v.name));
  return VolumeUsageToJson(v, usage);
}

// With "name": that volume's usage. Without: {"VolumeUsages": [...]} for every volume.
Result<json> Usage(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> name, ctx.args.OptionalString("name"));
  if (name.has_value()) {
    ctx.subject = *name;
    CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ctx.store->GetVolume(*name));
    return UsageOf(ctx, v);
  }
  json usages = json::array();
  for (const store::VolumeInfo& v : ctx.store->ListVolumes()) {
    Result<json> u = UsageOf(ctx, v);
    if (u.status().IsNotFound()) continue;  // deleted since the listing
    if (!u.ok()) return u.status();
    usages.push_back(std::move(u).value());
  }
  return json{{"VolumeUsages", std::move(usages)}};
}

}  // namespace

void RegisterVolumeCommands(std::vector<CommandSpec>& table) {
  table.push_back({"volume.create",
                   "volume",
                   "Create an empty volume",
                   {"name", "size", "page_size", "compression"},
                   Create});
  table.push_back({"volume.list", "volume", "List volumes, sorted by name", {}, List});
  table.push_back({"volume.show", "volume", "Describe one volume", {"name"}, Show});
  table.push_back({"volume.resize", "volume", "Grow or shrink a volume", {"name", "size"}, Resize});
  table.push_back(
      {"volume.delete", "volume", "Delete a volume and free its pages", {"name"}, Delete});
  table.push_back(
      {"volume.usage", "volume", "Space used by one volume or by every volume", {"name"}, Usage});
}

}  // namespace clonefs::control
