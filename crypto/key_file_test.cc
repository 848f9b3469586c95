#include "crypto/key_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "crypto/test_util.h"

namespace clonefs::crypto {
namespace {

using testing::TempDir;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(KeyFile, IsCreatedOwnerOnlyAndReadsBack) {
  TempDir dir;
  const std::string path = dir.path() + "/root.key";
  const mode_t old_umask = ::umask(0);  // even a permissive umask must not widen the mode
  Status created = CreateKeyFile(path);
  ::umask(old_umask);
  ASSERT_OK(created);
  EXPECT_EQ(ModeOf(path), 0600u);
  auto a = ReadKeyFile(path);
  auto b = ReadKeyFile(path);
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_EQ(a->size(), kKeyFileSize);
  EXPECT_TRUE(a->Equals(*b));
  EXPECT_FALSE(a->Equals(SecretBytes(kKeyFileSize)));  // not all zeros
}

TEST(KeyFile, IsNeverOverwritten) {
  TempDir dir;
  const std::string path = dir.path() + "/root.key";
  ASSERT_OK(CreateKeyFile(path));
  auto before = ReadKeyFile(path);
  ASSERT_OK(before.status());
  EXPECT_EQ(CreateKeyFile(path).code(), Status::Code::kAlreadyExists);
  auto after = ReadKeyFile(path);
  ASSERT_OK(after.status());
  EXPECT_TRUE(before->Equals(*after));
}

TEST(KeyFile, IsRefusedWhenGroupOrOthersMayReadIt) {
  TempDir dir;
  const std::string path = dir.path() + "/root.key";
  ASSERT_OK(CreateKeyFile(path));
  for (mode_t mode : {0640, 0604, 0660, 0610, 0601, 0644}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto key = ReadKeyFile(path);
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_EQ(key.status().ErrorName(), "KeyFilePermissionsTooOpen");
    EXPECT_NE(key.status().message().find("chmod 600"), std::string::npos)
        << key.status().message();
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_OK(ReadKeyFile(path).status());
}

TEST(KeyFile, MissingIsNotFound) {
  TempDir dir;
  EXPECT_TRUE(ReadKeyFile(dir.path() + "/absent.key").status().IsNotFound());
}

TEST(KeyFile, RefusesWrongSizeSymlinksAndDirectories) {
  TempDir dir;
  const std::string short_key = dir.path() + "/short.key";
  {
    std::ofstream f(short_key);
    f << "too short";
  }
  ASSERT_EQ(::chmod(short_key.c_str(), 0600), 0);
  EXPECT_EQ(ReadKeyFile(short_key).status().code(), Status::Code::kInvalidArgument);

  const std::string real = dir.path() + "/real.key";
  const std::string link = dir.path() + "/link.key";
  ASSERT_OK(CreateKeyFile(real));
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  EXPECT_FALSE(ReadKeyFile(link).ok());

  const std::string sub = dir.path() + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  EXPECT_FALSE(ReadKeyFile(sub).ok());
}

}  // namespace
}  // namespace clonefs::crypto
