#include "fs/errno_map.h"

#include <cerrno>

namespace clonefs::fs {

int ErrnoFromStatus(const Status& status) {
  using Code = Status::Code;
  switch (status.code()) {
    case Code::kOk:
      return EIO;  // A caller bug: never answer a failed request with "success".
    case Code::kNotFound:
      return ENOENT;
    case Code::kAlreadyExists:
      return EEXIST;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kIOError:
      return status.err() > 0 ? status.err() : EIO;
    case Code::kNoSpace:
      return ENOSPC;
    case Code::kCorruption:
      return EIO;
    case Code::kBusy:
      return EBUSY;
    case Code::kReadOnly:
      return EROFS;
    case Code::kNotSupported:
      return EOPNOTSUPP;
    case Code::kQuotaExceeded:
      return EDQUOT;
    case Code::kInvalidState:
      return EBUSY;
  }
  return EIO;
}

}  // namespace clonefs::fs
