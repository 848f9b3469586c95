#include "base/env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "tests/testing/fault_env.h"

namespace clonefs {
namespace {

// A fresh directory under /tmp, removed at exit.
std::string TempDir() {
  static std::vector<std::string>* dirs = [] {
    auto* v = new std::vector<std::string>();
    std::atexit([] {
      for (const auto& d : *dirs) std::system(("rm -rf '" + d + "'").c_str());
    });
    return v;
  }();
  char tmpl[] = "/tmp/clonefs-env-XXXXXX";
  dirs->emplace_back(::mkdtemp(tmpl));
  return dirs->back();
}

TEST(PosixEnv, WriteReadSyncRoundTrip) {
  Env* env = Env::Default();
  std::string dir = TempDir();
  auto f = env->OpenFile(dir + "/a", true);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->WriteAt(10, "hello").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  char buf[5];
  ASSERT_TRUE((*f)->ReadAt(10, 5, buf).ok());
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_TRUE((*f)->ReadAt(14, 5, buf).IsCorruption());  // short read is never silent
  EXPECT_EQ(*(*f)->Size(), 15u);
}

TEST(PosixEnv, SecondLockReportsHolderPid) {
  Env* env = Env::Default();
  std::string dir = TempDir();
  auto first = env->LockFile(dir + "/LOCK");
  ASSERT_TRUE(first.ok());
  // flock locks belong to the open file description, so a second open in this process conflicts.
  auto second = env->LockFile(dir + "/LOCK");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(), "store is in use by pid " + std::to_string(::getpid()));
}

TEST(FaultInjectionEnv, DropsOnlyUnsyncedBytes) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  auto f = env.OpenFile(dir + "/seg", true);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->WriteAt(0, "synced").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(env.SyncDir(dir).ok());
  ASSERT_TRUE((*f)->WriteAt(6, "lost").ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(*(*f)->Size(), 6u);
}

TEST(FaultInjectionEnv, AFileWhoseNameWasNeverSyncedIsGoneAfterACrash) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  auto kept = env.OpenFile(dir + "/kept", true);
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(env.SyncDir(dir).ok());
  auto lost = env.OpenFile(dir + "/lost", true);
  ASSERT_TRUE(lost.ok());
  ASSERT_TRUE((*lost)->WriteAt(0, "data").ok());
  ASSERT_TRUE((*lost)->Sync().ok());  // its bytes, but not its name
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_TRUE(Env::Default()->FileExists(dir + "/kept"));
  EXPECT_FALSE(Env::Default()->FileExists(dir + "/lost"));
}

TEST(FaultInjectionEnv, CrashesAtTheChosenSyncPoint) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  auto f = env.OpenFile(dir + "/seg", true);
  ASSERT_TRUE(f.ok());
  env.CrashAtSync(3);
  ASSERT_TRUE((*f)->WriteAt(0, "one").ok());
  ASSERT_TRUE((*f)->Sync().ok());      // sync point 1
  ASSERT_TRUE(env.SyncDir(dir).ok());  // 2
  ASSERT_TRUE((*f)->WriteAt(3, "two").ok());
  EXPECT_EQ((*f)->Sync().code(), Status::Code::kIOError);  // 3: the crash, not a sync
  EXPECT_EQ(env.sync_points(), 3u);
  EXPECT_EQ(*(*f)->Size(), 3u);                  // "two" was never synced
  EXPECT_FALSE((*f)->WriteAt(6, "three").ok());  // the machine is down
  EXPECT_FALSE(env.SyncDir(dir).ok());
}

TEST(FaultInjectionEnv, WriteBudgetGivesNoSpace) {
  FaultInjectionEnv env(Env::Default());
  std::string dir = TempDir();
  auto f = env.OpenFile(dir + "/seg", true);
  ASSERT_TRUE(f.ok());
  env.SetWriteBudget(8);
  EXPECT_TRUE((*f)->WriteAt(0, "12345678").ok());
  EXPECT_TRUE((*f)->WriteAt(8, "9").IsNoSpace());
  env.SetWriteBudget(-1);
  EXPECT_TRUE((*f)->WriteAt(8, "9").ok());
}

}  // namespace
}  // namespace clonefs
