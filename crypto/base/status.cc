#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace clonefs {

Status Status::FromErrno(int err, std::string context) {
  std::string msg = std::move(context) + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status(Code::kNoSpace, std::move(msg), err);
  if (err == ENOENT) return Status(Code::kNotFound, std::move(msg), err);
  return Status(Code::kIOError, std::move(msg), err);
}

std::string Status::ErrorName() const {
  if (!name_.empty()) return name_;
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NotFound";
    case Code::kAlreadyExists:
      return "AlreadyExists";
    case Code::kInvalidArgument:
      return "InvalidParameterValue";
    case Code::kIOError:
      return "IOError";
    case Code::kNoSpace:
      return "InsufficientStorage";
    case Code::kCorruption:
      return "Corruption";
    case Code::kBusy:
      return "StoreBusy";
    case Code::kReadOnly:
      return "ReadOnly";
    case Code::kNotSupported:
      return "NotSupported";
    case Code::kQuotaExceeded:
      return "QuotaExceeded";
    case Code::kInvalidState:
      return "InvalidState";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return ErrorName() + ": " + message_;
}

}  // namespace clonefs
