// snapshot.export and snapshot.import: a snapshot as an export stream (tools/export), written
// to or read from a descriptor the client passes with the request (SCM_RIGHTS). That is how
// clonefs-export reaches a store its daemon holds open: the daemon does the work, the bytes go
// straight between it and the file or pipe the tool was given, and nothing of the image is
// staged anywhere. In clonectl's direct mode the same handlers run in-process.
#include <spdlog/spdlog.h>

#include "base/tags.h"
#include "crypto/recipient.h"
#include "store/keys/key_service.h"
#include "tools/control/commands.h"
#include "tools/control/copy_service.h"
#include "tools/control/json_views.h"
#include "tools/control/references.h"
#include "tools/control/snapshot_quota.h"
#include "tools/export/exporter.h"
#include "tools/export/importer.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

// The one descriptor a stream command needs.
Result<int> StreamFd(const CommandContext& ctx, const char* direction) {
  if (ctx.fds.size() != 1) {
    return Status::InvalidArgument(std::string("this command needs one descriptor to ") +
                                   direction + " the stream, passed with the request");
  }
  return ctx.fds[0];
}

Result<exportfmt::Codec> CodecArg(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> codec, ctx.args.OptionalString("codec"));
  if (!codec.has_value() || *codec == "none") return exportfmt::Codec::kNone;
  if (*codec == "zstd") return exportfmt::Codec::kZstd;
  return Status::InvalidArgument("argument 'codec' must be none or zstd, not '" + *codec + "'");
}

// Progress in pages, as the ProgressFn of the request wants it (when it asked).
std::function<void(uint64_t, uint64_t)> PageProgress(const CommandContext& ctx) {
  if (!ctx.progress) return nullptr;
  return [report = ctx.progress, last = std::chrono::steady_clock::time_point()](
             uint64_t page, uint64_t pages) mutable {
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(250) && page < pages) return;
    last = now;
    report(page, pages);
  };
}

json SummaryJson(const exportfmt::Header& h, const exportfmt::Trailer& t) {
  json j = {{"SourceSnapshotArn", h.source_arn},
            {"Incremental", h.incremental()},
            {"VolumeSize", h.volume_size},
            {"PageSize", h.page_size()},
            {"Pages", t.pages},
            {"ZeroPages", t.zero_pages}};
  j["Recipient"] = h.envelope == exportfmt::Envelope::kRecipient ? json(h.recipient) : json();
  return j;
}

Result<json> Export(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, ctx.args.RequiredString("name"));
  ctx.subject = name;
  CLONEFS_ASSIGN_OR_RETURN(int fd, StreamFd(ctx, "write"));
  exportfmt::ExportOptions o;
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo snapshot, ResolveSnapshot(ctx, name));
  o.snapshot = snapshot.name;
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> since, ctx.args.OptionalString("since"));
  if (since.has_value()) {
    CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo base, ResolveSnapshot(ctx, *since));
    o.since = base.name;
  }
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> recipient,
                           ctx.args.OptionalString("recipient_pem"));
  o.recipient_pem = recipient.value_or("");
  if (!o.recipient_pem.empty()) {
    CLONEFS_RETURN_IF_ERROR(crypto::DescribePublicKey(o.recipient_pem).status());
  }
  CLONEFS_ASSIGN_OR_RETURN(o.codec, CodecArg(ctx));
  o.cancelled = ctx.cancelled;
  o.progress = PageProgress(ctx);
  exportfmt::FdSink sink(fd, ctx.cancelled);
  CLONEFS_ASSIGN_OR_RETURN(exportfmt::ExportSummary summary,
                           exportfmt::ExportSnapshot(*ctx.store, o, &sink));
  spdlog::info("snapshot {} exported{} ({} pages, {} zero pages)", name,
               o.since.empty() ? "" : " since " + o.since, summary.trailer.pages,
               summary.trailer.zero_pages);
  return SummaryJson(summary.header, summary.trailer);
}

Result<json> Import(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string name, ctx.args.RequiredString("name"));
  ctx.subject = name;
  exportfmt::ImportOptions o;
  CLONEFS_ASSIGN_OR_RETURN(o.target, NewStoreName(ctx, name, "snapshot"));
  if (ctx.services != nullptr && ctx.services->copies != nullptr &&
      ctx.services->copies->Has(o.target)) {
    return errors::SnapshotAlreadyExists(name);
  }
  CLONEFS_ASSIGN_OR_RETURN(int fd, StreamFd(ctx, "read"));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> base, ctx.args.OptionalString("base"));
  if (base.has_value()) {
    CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo base_snapshot, ResolveSnapshot(ctx, *base));
    o.base = base_snapshot.name;
  }
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> kms_key, ctx.args.OptionalString("kms_key"));
  o.kms_key = kms_key.value_or("");
  CLONEFS_ASSIGN_OR_RETURN(o.tags, ctx.args.OptionalTags("tags"));
  CLONEFS_RETURN_IF_ERROR(tags::CheckTags(o.tags));
  // Held until the import ends: concurrent imports cannot all take the quota's last place.
  CLONEFS_ASSIGN_OR_RETURN(SnapshotQuotaPlace place, SnapshotQuotaPlace::Take(ctx));
  // A stream sealed for a recipient opens only with a recipient key the caller's account owns
  // or may Decrypt with; the new snapshot is encrypted under the caller's key.
  std::unique_ptr<store::KeyService> keys = ctx.store->KeysOf(ctx.caller.account);
  o.open_envelope = [&keys](std::string_view fingerprint, std::string_view envelope,
                            std::string_view context) -> Result<crypto::SecretBytes> {
    return keys->OpenForRecipient(fingerprint, envelope, context);
  };
  o.cancelled = ctx.cancelled;
  o.progress = PageProgress(ctx);
  exportfmt::FdSource source(fd, ctx.cancelled);
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s,
                           exportfmt::ImportSnapshot(*ctx.store, o, &source));
  spdlog::info("snapshot {} imported from {}", o.target, s.source_snapshot_arn);
  return SnapshotToJson(*ctx.store, s);
}

}  // namespace

void RegisterStreamCommands(std::vector<CommandSpec>& table) {
  table.push_back({"snapshot.export",
                   "snapshot",
                   "Write a snapshot (or its changes since a base) as an export stream to the "
                   "descriptor passed with the request",
                   {"name", "since", "recipient_pem", "codec"},
                   Export});
  table.push_back({"snapshot.import",
                   "snapshot",
                   "Read an export stream from the descriptor passed with the request into a new "
                   "snapshot, verified before it becomes available",
                   {"name", "base", "kms_key", "tags"},
                   Import});
}

}  // namespace clonefs::control
