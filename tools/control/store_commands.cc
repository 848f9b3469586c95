// store.* commands: info, usage, gc, sync.
#include "tools/control/commands.h"
#include "tools/control/json_views.h"
#include "tools/control/store_stats.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

Result<json> Info(CommandContext& ctx) { return StoreInfoToJson(ctx.store->info()); }

// Space and garbage collection are the whole store's, every account's: the store owner's to
// see and to run.
Status RequireAdmin(const CommandContext& ctx, const char* command) {
  if (ctx.caller.admin) return Status::OK();
  return errors::AccessDenied(std::string(command) +
                              " concerns the whole store and is for the store owner; "
                              "`volume usage` shows your own volumes' space");
}

Result<json> Usage(CommandContext& ctx) {
  CLONEFS_RETURN_IF_ERROR(RequireAdmin(ctx, "store usage"));
  json usage = StoreUsageToJson(ctx.store->GetUsage());
  usage["VolumeCount"] = ctx.store->ListVolumes().size();
  return usage;
}

// I/O, cache and GC figures since the daemon (or this direct-mode command) opened the store.
Result<json> Stats(CommandContext& ctx) {
  CLONEFS_RETURN_IF_ERROR(RequireAdmin(ctx, "store stats"));
  return StoreStatsToJson(ctx.store->GetStats());
}

// Runs one GC pass; answers with the usage before and after and the bytes it gave back.
Result<json> CollectGarbage(CommandContext& ctx) {
  CLONEFS_RETURN_IF_ERROR(RequireAdmin(ctx, "gc"));
  const store::StoreUsage before = ctx.store->GetUsage();
  CLONEFS_RETURN_IF_ERROR(ctx.store->CollectGarbage());
  const store::StoreUsage after = ctx.store->GetUsage();
  const uint64_t reclaimed =
      before.segment_bytes > after.segment_bytes ? before.segment_bytes - after.segment_bytes : 0;
  return json{{"Before", StoreUsageToJson(before)},
              {"After", StoreUsageToJson(after)},
              {"ReclaimedBytes", reclaimed}};
}

Result<json> Sync(CommandContext& ctx) {
  CLONEFS_RETURN_IF_ERROR(ctx.store->Sync());
  return json::object();
}

}  // namespace

void RegisterStoreCommands(std::vector<CommandSpec>& table) {
  table.push_back(
      {"store.info", "store", "Region, directory, account and format version", {}, Info});
  table.push_back(
      {"store.usage", "store", "Segment space: total, live and garbage bytes", {}, Usage});
  table.push_back({"store.stats",
                   "store",
                   "I/O counts, bytes and latencies, cache hit rate, GC progress, segments",
                   {},
                   Stats});
  table.push_back({"store.gc", "store", "Run one garbage-collection pass now", {}, CollectGarbage});
  table.push_back({"store.sync", "store", "Make every acknowledged write durable", {}, Sync});
}

}  // namespace clonefs::control
