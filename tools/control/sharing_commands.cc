// Sharing between accounts (store/access/sharing.h): a snapshot's restore attribute (Aurora's
// ModifyDBClusterSnapshotAttribute / DescribeDBClusterSnapshotAttributes), and resource shares
// of volumes with their invitations (AWS RAM's CreateResourceShare, ListPrincipals,
// GetResourceShareInvitations, Accept/RejectResourceShareInvitation).
#include <nlohmann/json.hpp>

#include "base/error_names.h"
#include "store/access/account_registry.h"
#include "store/access/arn.h"
#include "store/access/sharing.h"
#include "store/keys/key_service.h"
#include "tools/control/commands.h"
#include "tools/control/json_views.h"
#include "tools/control/key_access.h"
#include "tools/control/references.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

constexpr std::string_view kRestore = "restore";

access::Sharing& SharingOf(const CommandContext& ctx) { return *ctx.services->sharing; }

json AttributesJson(const CommandContext& ctx, const store::SnapshotInfo& s,
                    const std::vector<std::string>& values) {
  return {{"SnapshotAttributesResult",
           {{"SnapshotIdentifier", TypedName(ctx.store->info(), s.name)},
            {"SnapshotArn", SnapshotArn(ctx.store->info(), s.name)},
            {"SnapshotAttributes",
             json::array({{{"AttributeName", kRestore}, {"AttributeValues", values}}})}}}};
}

// What the sharing rules need to know of `s`.
access::SnapshotFacts FactsOf(CommandContext& ctx, const store::SnapshotInfo& s) {
  access::SnapshotFacts f;
  f.manual = s.type == store::SnapshotType::kManual;
  f.encrypted = s.encrypted;
  f.default_key = s.encrypted && IsDefaultKeyOf(ctx, ctx.caller.account, s.kms_key_id);
  return f;
}

// Reads the "name" argument into ctx.subject, the identifier errors echo.
Status TakeName(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(ctx.subject, ctx.args.RequiredString("name"));
  return Status::OK();
}

Status CheckAttribute(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string attribute, ctx.args.RequiredString("attribute"));
  if (attribute != kRestore) {
    return errors::InvalidParameterValue("the only snapshot attribute is 'restore', not '" +
                                         attribute + "'");
  }
  return Status::OK();
}

Result<json> Modify(CommandContext& ctx) {
  CLONEFS_RETURN_IF_ERROR(TakeName(ctx));
  CLONEFS_RETURN_IF_ERROR(CheckAttribute(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::vector<std::string> add, ctx.args.OptionalStrings("add"));
  CLONEFS_ASSIGN_OR_RETURN(std::vector<std::string> remove, ctx.args.OptionalStrings("remove"));
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s, ResolveSnapshot(ctx, ctx.subject));
  const access::SnapshotFacts facts = FactsOf(ctx, s);
  auto exists = [&](const std::string& a) { return ctx.accounts->Find(a).has_value(); };
  CLONEFS_ASSIGN_OR_RETURN(
      std::vector<std::string> values,
      SharingOf(ctx).ModifyRestore(ctx.caller.account, access::SharingKey(s.name, s.id), add,
                                   remove, facts, exists));
  return AttributesJson(ctx, s, values);
}

Result<json> Show(CommandContext& ctx) {
  CLONEFS_RETURN_IF_ERROR(TakeName(ctx));
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s, ResolveSnapshot(ctx, ctx.subject));
  return AttributesJson(ctx, s, SharingOf(ctx).RestoreValues(access::SharingKey(s.name, s.id)));
}

std::string ShareArn(const CommandContext& ctx, const access::Share& s) {
  return access::FormatArn(ctx.store->info().region, s.owner, access::kResourceShareType, s.id);
}
std::string InvitationArn(const CommandContext& ctx, const std::string& receiver,
                          const std::string& id) {
  return access::FormatArn(ctx.store->info().region, receiver, access::kInvitationType, id);
}

json ShareJson(const CommandContext& ctx, const access::Share& s) {
  return {{"ResourceShareArn", ShareArn(ctx, s)},
          {"Name", s.name},
          {"OwningAccountId", s.owner},
          {"Status", "active"},
          {"ResourceArns",
           json::array({VolumeArn(ctx.store->info(), access::StoreNameOfKey(s.resource))})},
          {"CreationTime", IsoTime(s.created_us)},
          {"LastUpdatedTime", IsoTime(s.updated_us)}};
}

json InvitationJson(const CommandContext& ctx, const access::Invitation& i) {
  return {{"ResourceShareInvitationArn", InvitationArn(ctx, i.receiver, i.id)},
          {"ResourceShareName", i.share_name},
          {"ResourceShareArn", access::FormatArn(ctx.store->info().region, i.sender,
                                                 access::kResourceShareType, i.share_id)},
          {"SenderAccountId", i.sender},
          {"ReceiverAccountId", i.receiver},
          {"InvitationTimestamp", IsoTime(i.created_us)},
          {"Status", access::InvitationStatusName(i.status)}};
}

access::VolumeFacts VolumeFactsOf(CommandContext& ctx, const store::VolumeInfo& v) {
  access::VolumeFacts f;
  f.available = v.status == store::VolumeStatus::kAvailable;
  f.encrypted = v.encrypted;
  f.default_key = v.encrypted && IsDefaultKeyOf(ctx, ctx.caller.account, v.kms_key_id);
  f.cross_account_clone = SharingOf(ctx).IsCrossAccountClone(access::SharingKey(v.name, v.id));
  return f;
}

Result<json> ShareCreate(CommandContext& ctx) {
  CLONEFS_RETURN_IF_ERROR(TakeName(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::string resource, ctx.args.RequiredString("resource"));
  CLONEFS_ASSIGN_OR_RETURN(std::vector<std::string> principals,
                           ctx.args.RequiredStrings("principals"));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ResolveVolume(ctx, resource));
  const access::VolumeFacts facts = VolumeFactsOf(ctx, v);
  auto exists = [&](const std::string& a) { return ctx.accounts->Find(a).has_value(); };
  CLONEFS_ASSIGN_OR_RETURN(
      access::Share share,
      SharingOf(ctx).CreateShare(ctx.caller.account, ctx.subject, access::SharingKey(v.name, v.id),
                                 principals, facts, exists));
  return json{{"ResourceShare", ShareJson(ctx, share)}};
}

Result<json> ShareList(CommandContext& ctx) {
  json out = json::array();
  for (const access::Share& s : SharingOf(ctx).SharesOf(ctx.caller.account)) {
    if (VolumeKeyAlive(ctx, s.resource)) out.push_back(ShareJson(ctx, s));  // not a deleted one
  }
  return json{{"ResourceShares", std::move(out)}};
}

Result<json> ShareDelete(CommandContext& ctx) {
  CLONEFS_RETURN_IF_ERROR(TakeName(ctx));
  CLONEFS_RETURN_IF_ERROR(SharingOf(ctx).DeleteShare(ctx.caller.account, ctx.subject));
  return json{{"ReturnValue", true}};
}

Result<json> SharePrincipals(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string resource, ctx.args.RequiredString("resource"));
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo v, ResolveVolume(ctx, resource));
  json out = json::array();
  for (const access::PrincipalOfResource& p :
       SharingOf(ctx).PrincipalsOf(access::SharingKey(v.name, v.id))) {
    out.push_back(
        {{"Id", p.principal.account},
         {"ResourceShareArn", access::FormatArn(ctx.store->info().region, ctx.caller.account,
                                                access::kResourceShareType, p.share_id)},
         {"ResourceShareName", p.share_name},
         {"Status", access::AssociationName(p.principal.status)},
         {"CreationTime", IsoTime(p.principal.created_us)},
         {"LastUpdatedTime", IsoTime(p.principal.updated_us)}});
  }
  return json{{"Principals", std::move(out)}};
}

// An invitation as given: its ARN (of the caller's) or its id.
Result<std::string> InvitationId(const CommandContext& ctx) {
  if (!access::LooksLikeArn(ctx.subject)) return ctx.subject;
  CLONEFS_ASSIGN_OR_RETURN(access::Arn arn, access::ParseArn(ctx.subject, access::kInvitationType));
  if (arn.account != ctx.caller.account) {
    return errors::Named(errors::kInvitationNotFound,
                         Status::NotFound("invitation '" + ctx.subject + "' does not exist"));
  }
  return arn.name;
}

Result<json> InvitationList(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> status, ctx.args.OptionalString("status"));
  std::optional<access::InvitationStatus> filter;
  if (status) {
    CLONEFS_ASSIGN_OR_RETURN(filter, access::ParseInvitationStatus(*status));
  }
  json out = json::array();
  for (const access::Invitation& i : SharingOf(ctx).InvitationsOf(ctx.caller.account, filter)) {
    if (VolumeKeyAlive(ctx, i.resource)) out.push_back(InvitationJson(ctx, i));
  }
  return json{{"ResourceShareInvitations", std::move(out)}};
}

Result<json> InvitationAnswer(CommandContext& ctx, bool accept) {
  CLONEFS_RETURN_IF_ERROR(TakeName(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::string id, InvitationId(ctx));
  access::Sharing& sharing = SharingOf(ctx);
  Result<access::Invitation> i =
      accept ? sharing.Accept(ctx.caller.account, id) : sharing.Reject(ctx.caller.account, id);
  if (i.status().ErrorName() == errors::kInvitationNotFound) {
    return errors::Named(errors::kInvitationNotFound,
                         Status::NotFound("invitation '" + ctx.subject + "' does not exist"));
  }
  CLONEFS_RETURN_IF_ERROR(i.status());
  return json{{"ResourceShareInvitation", InvitationJson(ctx, *i)}};
}

}  // namespace

void RegisterSharingCommands(std::vector<CommandSpec>& table) {
  table.push_back({"snapshot.attribute.modify",
                   "snapshot",
                   "Add or remove accounts that may restore or copy a manual snapshot",
                   {"name", "attribute", "add", "remove"},
                   Modify});
  table.push_back({"snapshot.attribute.show",
                   "snapshot",
                   "Show which accounts may restore or copy a snapshot",
                   {"name"},
                   Show});
  table.push_back(
      {"share.create",
       "share",
       "Share a volume with accounts: each is invited, and may clone it once it accepts",
       {"name", "resource", "principals"},
       ShareCreate});
  table.push_back({"share.list", "share", "List this account's resource shares", {}, ShareList});
  table.push_back({"share.delete",
                   "share",
                   "Delete a resource share: its principals lose access at once",
                   {"name"},
                   ShareDelete});
  table.push_back({"share.principals",
                   "share",
                   "List the accounts a volume is shared with and their association status",
                   {"resource"},
                   SharePrincipals});
  table.push_back({"invitation.list",
                   "invitation",
                   "List the resource share invitations sent to this account",
                   {"status"},
                   InvitationList});
  table.push_back({"invitation.accept",
                   "invitation",
                   "Accept a resource share invitation",
                   {"name"},
                   [](CommandContext& ctx) { return InvitationAnswer(ctx, /*accept=*/true); }});
  table.push_back({"invitation.reject",
                   "invitation",
                   "Reject a resource share invitation",
                   {"name"},
                   [](CommandContext& ctx) { return InvitationAnswer(ctx, /*accept=*/false); }});
}

}  // namespace clonefs::control
