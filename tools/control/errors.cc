#include "tools/control/errors.h"

#include <cctype>

namespace clonefs::control {
namespace {

// The name Status::ErrorName() derives from a code alone: a copy of a status without a name.
std::string DefaultName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return Status::OK().ErrorName();
    case Status::Code::kNotFound:
      return Status::NotFound("").ErrorName();
    case Status::Code::kAlreadyExists:
      return Status::AlreadyExists("").ErrorName();
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument("").ErrorName();
    case Status::Code::kIOError:
      return Status::IOError("").ErrorName();
    case Status::Code::kNoSpace:
      return Status::NoSpace("").ErrorName();
    case Status::Code::kCorruption:
      return Status::Corruption("").ErrorName();
    case Status::Code::kBusy:
      return Status::Busy("").ErrorName();
    case Status::Code::kReadOnly:
      return Status::ReadOnly("").ErrorName();
    case Status::Code::kNotSupported:
      return Status::NotSupported("").ErrorName();
    case Status::Code::kQuotaExceeded:
      return Status::QuotaExceeded("").ErrorName();
    case Status::Code::kInvalidState:
      return Status::InvalidState("").ErrorName();
  }
  return "";
}

// "volume" -> "Volume"
std::string TitleCase(std::string_view word) {
  std::string out(word);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace

ApiError ToApiError(const Status& status, std::string_view resource, std::string_view identifier) {
  std::string name = status.ErrorName();
  if (name != DefaultName(status.code())) return {name, status.message()};

  const std::string kind = TitleCase(resource.empty() ? "resource" : resource);
  const std::string quoted = std::string(resource) + " '" + std::string(identifier) + "'";
  switch (status.code()) {
    case Status::Code::kNotFound:
      if (!identifier.empty()) return {kind + "NotFound", quoted + " does not exist"};
      return {kind + "NotFound", status.message()};
    case Status::Code::kAlreadyExists:
      if (!identifier.empty()) return {kind + "AlreadyExists", quoted + " already exists"};
      return {kind + "AlreadyExists", status.message()};
    case Status::Code::kInvalidArgument:
      return {std::string(errors::kInvalidParameterValue), status.message()};
    case Status::Code::kNoSpace:
      return {std::string(errors::kInsufficientStorage), status.message()};
    case Status::Code::kBusy:
      return {std::string(errors::kStoreBusy), status.message()};
    case Status::Code::kInvalidState:
      return {"Invalid" + kind + "State", status.message()};
    case Status::Code::kQuotaExceeded:
      return {kind + "QuotaExceeded", status.message()};
    case Status::Code::kOk:
    case Status::Code::kIOError:
    case Status::Code::kCorruption:
    case Status::Code::kReadOnly:
    case Status::Code::kNotSupported:
      break;
  }
  return {std::string(errors::kInternalError), status.ToString()};
}

Status NamedError(std::string_view code, Status::Code status_code, std::string message) {
  Status base;
  switch (status_code) {
    case Status::Code::kNotFound:
      base = Status::NotFound(std::move(message));
      break;
    case Status::Code::kAlreadyExists:
      base = Status::AlreadyExists(std::move(message));
      break;
    case Status::Code::kInvalidArgument:
      base = Status::InvalidArgument(std::move(message));
      break;
    case Status::Code::kNoSpace:
      base = Status::NoSpace(std::move(message));
      break;
    case Status::Code::kBusy:
      base = Status::Busy(std::move(message));
      break;
    case Status::Code::kNotSupported:
      base = Status::NotSupported(std::move(message));
      break;
    case Status::Code::kInvalidState:
      base = Status::InvalidState(std::move(message));
      break;
    default:
      base = Status::IOError(std::move(message));
      break;
  }
  return base.WithName(std::string(code));
}

nlohmann::json ErrorToJson(const ApiError& error) {
  return {{"Code", error.code}, {"Message", error.message}};
}

ApiError ErrorFromJson(const nlohmann::json& j) {
  if (j.is_object() && j.contains("Code") && j["Code"].is_string()) {
    ApiError e{j["Code"].get<std::string>(), ""};
    if (j.contains("Message") && j["Message"].is_string()) e.message = j["Message"];
    return e;
  }
  return {std::string(errors::kInternalError), "malformed error object: " + j.dump()};
}

}  // namespace clonefs::control
