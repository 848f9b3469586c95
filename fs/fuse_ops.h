// fuse_ops: the libfuse low-level operation table that forwards each request to the VolumeFs
// passed as the session's userdata. The one place where exceptions are stopped: a request
// whose handler throws (before replying) is answered EIO; nothing escapes into libfuse.
#pragma once

#include "fs/fuse_api.h"

namespace clonefs::fs {

const fuse_lowlevel_ops& VolumeFsOps();

}  // namespace clonefs::fs
