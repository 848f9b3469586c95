#include "fs/errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace clonefs::fs {
namespace {

TEST(ErrnoMap, EveryCodeHasItsErrno) {
  EXPECT_EQ(ErrnoFromStatus(Status::NotFound("x")), ENOENT);
  EXPECT_EQ(ErrnoFromStatus(Status::AlreadyExists("x")), EEXIST);
  EXPECT_EQ(ErrnoFromStatus(Status::InvalidArgument("x")), EINVAL);
  EXPECT_EQ(ErrnoFromStatus(Status::NoSpace("x")), ENOSPC);
  EXPECT_EQ(ErrnoFromStatus(Status::Corruption("x")), EIO);
  EXPECT_EQ(ErrnoFromStatus(Status::Busy("x")), EBUSY);
  EXPECT_EQ(ErrnoFromStatus(Status::ReadOnly("x")), EROFS);
  EXPECT_EQ(ErrnoFromStatus(Status::NotSupported("x")), EOPNOTSUPP);
  EXPECT_EQ(ErrnoFromStatus(Status::QuotaExceeded("x")), EDQUOT);
  EXPECT_EQ(ErrnoFromStatus(Status::InvalidState("x")), EBUSY);
}

TEST(ErrnoMap, IOErrorKeepsTheOsErrno) {
  EXPECT_EQ(ErrnoFromStatus(Status::IOError("x")), EIO);
  EXPECT_EQ(ErrnoFromStatus(Status::IOError("x", EACCES)), EACCES);
  EXPECT_EQ(ErrnoFromStatus(Status::IOError("x", 0)), EIO);
  EXPECT_EQ(ErrnoFromStatus(Status::FromErrno(EROFS, "write")), EROFS);
  EXPECT_EQ(ErrnoFromStatus(Status::FromErrno(ENOSPC, "write")), ENOSPC);
  EXPECT_EQ(ErrnoFromStatus(Status::FromErrno(EDQUOT, "write")), ENOSPC);
}

TEST(ErrnoMap, NamedStatusesKeepTheirCodesErrno) {
  EXPECT_EQ(ErrnoFromStatus(Status::NotFound("x").WithName("VolumeNotFound")), ENOENT);
}

TEST(ErrnoMap, OkIsNeverSuccess) { EXPECT_EQ(ErrnoFromStatus(Status::OK()), EIO); }

}  // namespace
}  // namespace clonefs::fs
