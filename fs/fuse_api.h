// fuse_api: the one include of the libfuse low-level API, pinned to the 3.12 API level so the
// code builds against Debian 12's libfuse 3.14 and anything newer.
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>
