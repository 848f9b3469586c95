// snapshot.copy: a copy of a snapshot of this region or another (CopyDBClusterSnapshot). The
// daemon runs it in the background (CopyService) and answers at once with the target in
// Status "copying"; clonectl's direct mode, with no daemon to keep a queue, copies inside the
// request.
#include "tools/control/commands.h"
#include "tools/control/copy_service.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

Result<json> Copy(CommandContext& ctx) {
  CopyRequest r;
  CLONEFS_ASSIGN_OR_RETURN(r.source, ctx.args.RequiredString("source"));
  CLONEFS_ASSIGN_OR_RETURN(r.target, ctx.args.RequiredString("target"));
  ctx.subject = r.target;
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> key, ctx.args.OptionalString("kms_key"));
  r.kms_key = key.value_or("");
  CLONEFS_ASSIGN_OR_RETURN(r.copy_tags, ctx.args.OptionalBool("copy_tags"));
  CLONEFS_ASSIGN_OR_RETURN(r.tags, ctx.args.OptionalTags("tags"));
  if (ctx.services != nullptr && ctx.services->copies != nullptr) {
    return ctx.services->copies->Submit(r);
  }
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
