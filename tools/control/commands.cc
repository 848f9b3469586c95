#include "tools/control/commands.h"

#include <algorithm>
#include <exception>

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

const std::vector<CommandSpec>& AllCommands() {
  static const std::vector<CommandSpec> table = [] {
    std::vector<CommandSpec> t;
    RegisterVolumeCommands(t);
    RegisterStoreCommands(t);
    return t;
  }();
  return table;
}

nlohmann::json Dispatcher::HandleLine(std::string_view line, const Caller& caller,
                                      std::string* command) const {
  nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return ErrorResponse(Malformed("request is not valid JSON"));
  return Handle(request, caller, command);
}

nlohmann::json Dispatcher::Handle(const nlohmann::json& request, const Caller& caller,
                                  std::string* command) const {
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
    if (it.key() != "command" && it.key() != "args") {
      return ErrorResponse(Malformed("unknown request field '" + it.key() + "'"));
    }
  }

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
  CommandContext ctx{store_, args, caller, ""};
  try {
    Result<nlohmann::json> result = spec->handler(ctx);
    if (!result.ok())
      return ErrorResponse(ToApiError(result.status(), spec->resource, ctx.subject));
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

}  // namespace clonefs::control
