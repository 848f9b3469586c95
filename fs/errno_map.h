// errno_map: the one place where a Status becomes the errno a FUSE request is answered with.
//
// Pure function; thread-safe.
#pragma once

#include "base/status.h"

namespace clonefs::fs {

// Returns the positive errno that reports `status` to the kernel (EIO for anything unknown).
// REQUIRES: !status.ok()
int ErrnoFromStatus(const Status& status);

}  // namespace clonefs::fs
