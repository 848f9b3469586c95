#include "tools/control/commands.h"

#include <algorithm>
#include <exception>

#include "store/access/account_registry.h"
#include "store/access/sharing.h"
#include "tools/control/identity.h"
#include "tools/control/sizes.h"

namespace clonefs::control {
namespace {

Status BadArg(const std::string& key, const std::string& why) {
  return Status::InvalidArgument("argument '" + key + "' " + why);
}

const CommandSpec* FindCommand(std::string_view name) {
  for (const CommandSpec& spec : AllCommands()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

ApiError Malformed(std::string message) {
  return {std::string(errors::kMalformedRequest), std::move(message)};
}

// The store names other accounts' resources ACCOUNT.NAME (store/access/store_names.h), and its
// messages use those names; a caller knows its own resources by the names it typed.
std::string InCallersNames(std::string message, const Caller& caller, const std::string& owner) {
  if (caller.account.empty() || caller.account == owner) return message;
  const std::string qualified = "'" + caller.account + ".";
  for (size_t at; (at = message.find(qualified)) != std::string::npos;) {
    message.erase(at + 1, qualified.size() - 1);  // keeps the quote
  }
  return message;
}

}  // namespace

const nlohmann::json* Args::Find(const std::string& key) const {
  if (!args_.is_object()) return nullptr;
  auto it = args_.find(key);
  if (it == args_.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> Args::RequiredString(const std::string& key) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(key));
  if (!value.has_value()) return BadArg(key, "is required");
  return *value;
}

Result<std::optional<std::string>> Args::OptionalString(const std::string& key) {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return BadArg(key, "must be a string");
  std::string s = v->get<std::string>();
  if (s.empty()) return BadArg(key, "must not be empty");
  return std::optional<std::string>(std::move(s));
}

Result<std::vector<std::string>> Args::RequiredStrings(const std::string& key) {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return BadArg(key, "is required");
  if (!v->is_array() || v->empty()) return BadArg(key, "must be a non-empty list of strings");
  std::vector<std::string> out;
  for (const nlohmann::json& item : *v) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      return BadArg(key, "must be a non-empty list of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::vector<std::string>> Args::OptionalStrings(const std::string& key) {
  if (Find(key) == nullptr) return std::vector<std::string>{};
  return RequiredStrings(key);
}

Result<std::optional<uint64_t>> Args::OptionalSize(const std::string& key) {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return std::optional<uint64_t>();
  if (v->is_string()) {
    CLONEFS_ASSIGN_OR_RETURN(uint64_t bytes, ParseSize(v->get<std::string>(), key));
    return std::optional<uint64_t>(bytes);
  }
  if (!v->is_number_integer()) {
    return BadArg(key, "must be a whole number of bytes or a size string such as \"10G\"");
  }
  if (!v->is_number_unsigned() && v->get<int64_t>() < 0) return BadArg(key, "must not be negative");
  // The same checks as a size string: positive, a multiple of 512.
  CLONEFS_ASSIGN_OR_RETURN(uint64_t bytes, ParseSize(std::to_string(v->get<uint64_t>()), key));
  return std::optional<uint64_t>(bytes);
}

Result<std::optional<uint64_t>> Args::OptionalUint(const std::string& key) {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return std::optional<uint64_t>();
  if (!v->is_number_integer()) return BadArg(key, "must be a whole number");
  if (!v->is_number_unsigned() && v->get<int64_t>() < 0) return BadArg(key, "must not be negative");
  return std::optional<uint64_t>(v->get<uint64_t>());
}

Result<bool> Args::OptionalBool(const std::string& key) {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) return BadArg(key, "must be true or false");
  return v->get<bool>();
}

Result<store::Tags> Args::OptionalTags(const std::string& key) {
  store::Tags tags;
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return tags;
  if (!v->is_array()) return BadArg(key, "must be a list of {\"Key\": ..., \"Value\": ...}");
  for (const nlohmann::json& tag : *v) {
    auto k = tag.is_object() ? tag.find("Key") : tag.end();
    auto val = tag.is_object() ? tag.find("Value") : tag.end();
    if (!tag.is_object() || tag.size() != 2 || k == tag.end() || val == tag.end() ||
        !k->is_string() || !val->is_string()) {
      return BadArg(key, "must be a list of {\"Key\": string, \"Value\": string}");
    }
    tags.emplace_back(k->get<std::string>(), val->get<std::string>());
  }
  return tags;
}

const std::vector<CommandSpec>& AllCommands() {
  static const std::vector<CommandSpec> table = [] {
    std::vector<CommandSpec> t;
    RegisterVolumeCommands(t);
    RegisterStoreCommands(t);
    RegisterSnapshotCommands(t);
    RegisterKeyCommands(t);
    RegisterStreamCommands(t);
    RegisterCopyCommands(t);
    RegisterAccountCommands(t);
    RegisterSharingCommands(t);
    RegisterTagCommands(t);
    return t;
  }();
  return table;
}

Dispatcher::Dispatcher(store::Store* store, Services services)
    : store_(store), services_(services) {
  if (services_.accounts == nullptr) {
    Result<std::unique_ptr<access::AccountRegistry>> accounts = OpenAccountRegistry(store);
    if (!accounts.ok()) {
      opened_ = accounts.status();
      return;
    }
    own_accounts_ = std::move(accounts).value();
    services_.accounts = own_accounts_.get();
  }
  if (services_.sharing == nullptr) {
    Result<std::unique_ptr<access::Sharing>> sharing = access::Sharing::Open(store);
    if (!sharing.ok()) {
      opened_ = sharing.status();
      return;
    }
    own_sharing_ = std::move(sharing).value();
    services_.sharing = own_sharing_.get();
  }
}

Dispatcher::~Dispatcher() = default;

nlohmann::json Dispatcher::HandleLine(std::string_view line, const Caller& caller,
                                      std::string* command, const ProgressHooks* hooks) const {
  nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return ErrorResponse(Malformed("request is not valid JSON"));
  return Handle(request, caller, command, hooks);
}

nlohmann::json Dispatcher::Handle(const nlohmann::json& request, const Caller& caller,
                                  std::string* command, const ProgressHooks* hooks) const {
  if (!request.is_object()) return ErrorResponse(Malformed("request must be a JSON object"));
  auto cmd = request.find("command");
  if (cmd == request.end() || !cmd->is_string()) {
    return ErrorResponse(Malformed("request needs a string \"command\""));
  }
  const std::string name = cmd->get<std::string>();
  if (command != nullptr) *command = name;
  static const nlohmann::json kNoArgs = nlohmann::json::object();
  auto args_it = request.find("args");
  const nlohmann::json& args_json =
      (args_it == request.end() || args_it->is_null()) ? kNoArgs : *args_it;
  if (!args_json.is_object()) return ErrorResponse(Malformed("\"args\" must be a JSON object"));
  for (auto it = request.begin(); it != request.end(); ++it) {
    if (it.key() != "command" && it.key() != "args" && it.key() != "progress" &&
        it.key() != "account") {
      return ErrorResponse(Malformed("unknown request field '" + it.key() + "'"));
    }
  }
  auto progress_it = request.find("progress");
  if (progress_it != request.end() && !progress_it->is_boolean()) {
    return ErrorResponse(Malformed("\"progress\" must be true or false"));
  }
  const bool wants_progress = progress_it != request.end() && progress_it->get<bool>();
  auto account_it = request.find("account");
  if (account_it != request.end() && !account_it->is_string()) {
    return ErrorResponse(Malformed("\"account\" must be a string of 12 digits"));
  }
  if (!opened_.ok()) return ErrorResponse(ToApiError(opened_, "store"));
  const std::optional<std::string> as_account =
      account_it == request.end() ? std::nullopt
                                  : std::optional<std::string>(account_it->get<std::string>());
  Result<Caller> who = IdentifyCaller(*services_.accounts, store_->info(), caller, as_account);
  if (!who.ok()) return ErrorResponse(ToApiError(who.status(), "account"));

  const CommandSpec* spec = FindCommand(name);
  if (spec == nullptr) {
    return ErrorResponse({std::string(errors::kInvalidAction), "unknown command '" + name + "'"});
  }
  for (auto it = args_json.begin(); it != args_json.end(); ++it) {
    if (std::find(spec->params.begin(), spec->params.end(), it.key()) == spec->params.end()) {
      return ErrorResponse({std::string(errors::kInvalidParameterValue),
                            "unknown argument '" + it.key() + "' for " + name});
    }
  }

  Args args(args_json);
  CommandContext ctx{store_, args, *who, "", nullptr, nullptr};
  ctx.services = &services_;
  ctx.accounts = services_.accounts;
  if (hooks != nullptr) {
    if (wants_progress) ctx.progress = hooks->report;
    ctx.cancelled = hooks->cancelled;
    ctx.fds = hooks->fds;
  }
  try {
    Result<nlohmann::json> result = spec->handler(ctx);
    if (!result.ok()) {
      ApiError e = ToApiError(result.status(), spec->resource, ctx.subject);
      e.message = InCallersNames(std::move(e.message), *who, store_->info().account_id);
      return ErrorResponse(e);
    }
    return OkResponse(std::move(result).value());
  } catch (const std::exception& e) {
    return ErrorResponse(
        {std::string(errors::kInternalError), std::string("unexpected: ") + e.what()});
  }
}

nlohmann::json OkResponse(nlohmann::json result) {
  return {{"ok", true}, {"result", std::move(result)}};
}

nlohmann::json ErrorResponse(const ApiError& error) {
  return {{"ok", false}, {"error", ErrorToJson(error)}};
}

nlohmann::json MakeRequest(std::string_view command, nlohmann::json args) {
  if (args.is_null()) args = nlohmann::json::object();
  return {{"command", std::string(command)}, {"args", std::move(args)}};
}

nlohmann::json ProgressMessage(uint64_t done, uint64_t total) {
  return {{"progress", {{"done", done}, {"total", total}}}};
}

bool ParseProgressMessage(const nlohmann::json& message, uint64_t* done, uint64_t* total) {
  if (!message.is_object() || message.size() != 1) return false;
  auto p = message.find("progress");
  if (p == message.end() || !p->is_object()) return false;
  auto d = p->find("done");
  auto t = p->find("total");
  if (d == p->end() || t == p->end() || !d->is_number_unsigned() || !t->is_number_unsigned()) {
    return false;
  }
  *done = d->get<uint64_t>();
  *total = t->get<uint64_t>();
  return true;
}

}  // namespace clonefs::control
