// account.* commands: create, list, show. The store owner's account (root and the user owning
// the store directory) administers accounts; any other account sees only itself, and another
// account's id answers exactly as an unknown one.
#include "store/access/account_id.h"
#include "store/access/account_registry.h"
#include "tools/control/commands.h"
#include "tools/control/identity.h"
#include "tools/control/json_views.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

Status RequireAdmin(const CommandContext& ctx, std::string_view what) {
  if (ctx.caller.admin) return Status::OK();
  return errors::AccessDenied(std::string(what) +
                              " is for the store owner (root or the owner of the store "
                              "directory); ask them to run it");
}

Result<json> Create(CommandContext& ctx) {
  CLONEFS_RETURN_IF_ERROR(RequireAdmin(ctx, "account create"));
  CLONEFS_ASSIGN_OR_RETURN(std::string id, ctx.args.RequiredString("id"));
  ctx.subject = id;
  CLONEFS_RETURN_IF_ERROR(access::ValidateAccountId(id));
  CLONEFS_ASSIGN_OR_RETURN(std::vector<std::string> names, ctx.args.RequiredStrings("users"));
  std::vector<access::AccountUser> users;
  for (const std::string& name : names) {
    Result<uint32_t> uid = UidOfUser(name);
    if (!uid.ok()) {
      return errors::InvalidParameterValue("Unix user '" + name + "' does not exist on this host");
    }
    users.push_back({name, *uid});
  }
  CLONEFS_ASSIGN_OR_RETURN(access::Account account, ctx.accounts->Create(id, std::move(users)));
  return AccountToJson(account);
}

// Every account for the store owner; anyone else's own only.
Result<json> List(CommandContext& ctx) {
  json accounts = json::array();
  for (const access::Account& a : ctx.accounts->List()) {
    if (ctx.caller.admin || a.id == ctx.caller.account) accounts.push_back(AccountToJson(a));
  }
  return json{{"Accounts", std::move(accounts)}};
}

Result<json> Show(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string id, ctx.args.RequiredString("id"));
  ctx.subject = id;
  CLONEFS_RETURN_IF_ERROR(access::ValidateAccountId(id));
  std::optional<access::Account> account = ctx.accounts->Find(id);
  if (!account.has_value() || (!ctx.caller.admin && id != ctx.caller.account)) {
    return errors::AccountNotFound(id);
  }
  return AccountToJson(*account);
}

}  // namespace

void RegisterAccountCommands(std::vector<CommandSpec>& table) {
  table.push_back({"account.create",
                   "account",
                   "Create an account (12 digits) for one or more Unix users (store owner only)",
                   {"id", "users"},
                   Create});
  table.push_back({"account.list",
                   "account",
                   "List accounts (the caller's own, unless the store "
                   "owner)",
                   {},
                   List});
  table.push_back({"account.show", "account", "Describe one account", {"id"}, Show});
}

}  // namespace clonefs::control
