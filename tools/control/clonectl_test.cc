// Runs the built clonectl binary (CLONECTL_PATH) and checks exit codes, messages and effects.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tools/control/commands.h"
#include "tools/control/server.h"
#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

struct CliRun {
  int rc = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class ControlClonectl : public ::testing::Test {
 protected:
  // Runs `clonectl ARGS` with CLONEFS_HOME unset (ARGS is shell text).
  CliRun Clonectl(const std::string& args) {
    const std::string out = tmp_.path() + "/out", err = tmp_.path() + "/err";
    std::string cmd =
        "env -u CLONEFS_HOME " + std::string(CLONECTL_PATH) + " " + args + " >" + out + " 2>" + err;
    int status = std::system(cmd.c_str());
    CliRun r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
  }
  CliRun InStore(const std::string& args) { return Clonectl("--store " + store_ + " " + args); }
  void Init() {
    CliRun r = InStore("init --region eu-west-2");
    ASSERT_EQ(r.rc, 0) << r.err;
  }

  testing::TempDir tmp_;
  std::string store_ = tmp_.path() + "/store";
};

TEST_F(ControlClonectl, InitTwiceIsStoreAlreadyExists) {
  CliRun first = InStore("init --region eu-west-2");
  ASSERT_EQ(first.rc, 0) << first.err;
  EXPECT_NE(first.out.find("region eu-west-2"), std::string::npos) << first.out;
  CliRun again = InStore("init --region us-east-1");
  EXPECT_EQ(again.rc, 1);
  EXPECT_EQ(again.err, "clonectl: StoreAlreadyExists: " + store_ + " is already a clonefs store\n");
  CliRun info = InStore("--json store info");
  ASSERT_EQ(info.rc, 0) << info.err;
  EXPECT_EQ(json::parse(info.out)["Region"], "eu-west-2");  // unchanged
}

TEST_F(ControlClonectl, InitRejectsBadRegion) {
  for (const char* region : {"US-EAST-1", "us_east_1", "''", "abcdefghijklmnopqrstuvwxyz0123456"}) {
    CliRun r = InStore(std::string("init --region ") + region);
    EXPECT_EQ(r.rc, 1) << region;
    EXPECT_NE(r.err.find("InvalidParameterValue"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(store::Store::IsStore(Env::Default(), store_));
}

TEST_F(ControlClonectl, NotAStore) {
  CliRun r = Clonectl("--store " + tmp_.path() + " volume list");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "clonectl: StoreNotFound: " + tmp_.path() +
                       " is not a clonefs store (run: clonectl --store " + tmp_.path() +
                       " init)\n");
  CliRun j = Clonectl("--store " + tmp_.path() + " --json store info");
  EXPECT_EQ(j.rc, 1);
  EXPECT_EQ(json::parse(j.out)["Code"], "StoreNotFound");
}

TEST_F(ControlClonectl, BadSizesCreateNothing) {
  Init();
  for (const char* size : {"abc", "0", "1000", "-1G", "99999999999999999999P", "1.5G", "10GB"}) {
    CliRun r = InStore(std::string("volume create db1 --size ") + size);
    EXPECT_NE(r.rc, 0) << size;
    EXPECT_NE(r.err.find("--size"), std::string::npos) << size << ": " << r.err;
  }
  CliRun page = InStore("volume create db1 --size 1G --page-size 1K");
  EXPECT_EQ(page.rc, 1);
  EXPECT_NE(page.err.find("InvalidParameterValue"), std::string::npos) << page.err;
  EXPECT_EQ(InStore("volume create db1 --size 1G --page-size ''").rc, 1);
  EXPECT_EQ(InStore("volume usage ''").rc, 1);
  CliRun compression = InStore("volume create db1 --size 1G --compression lz4");
  EXPECT_EQ(compression.rc, 2);
  CliRun list = InStore("--json volume list");
  ASSERT_EQ(list.rc, 0) << list.err;
  EXPECT_EQ(json::parse(list.out)["Volumes"].size(), 0u);
}

TEST_F(ControlClonectl, UsageErrorsExitTwo) {
  EXPECT_EQ(Clonectl("").rc, 2);
  EXPECT_EQ(Clonectl("volume").rc, 2);
  EXPECT_EQ(Clonectl("volume create db1").rc, 2);  // --size is required
  EXPECT_EQ(Clonectl("volume frobnicate").rc, 2);
  EXPECT_EQ(Clonectl("--store '' store info").rc, 2);
  EXPECT_EQ(Clonectl("--help").rc, 0);
}

TEST_F(ControlClonectl, VolumeLifecycleInDirectMode) {
  Init();
  CliRun created = InStore("--json volume create db1 --size 10G --compression zstd");
  ASSERT_EQ(created.rc, 0) << created.err;
  json v = json::parse(created.out);
  EXPECT_EQ(v["VolumeIdentifier"], "db1");
  EXPECT_EQ(v["AllocatedStorage"], 10);
  EXPECT_EQ(v["Compression"], "zstd");
  EXPECT_EQ(v["VolumeArn"].get<std::string>().rfind("arn:clonefs:eu-west-2:", 0), 0u);

  CliRun show = InStore("volume show db1");  // global options may also follow the subcommand
  ASSERT_EQ(show.rc, 0) << show.err;
  EXPECT_NE(show.out.find("10 GiB"), std::string::npos) << show.out;
  CliRun list = InStore("volume list");
  EXPECT_NE(list.out.find("db1"), std::string::npos) << list.out;
  CliRun resized = InStore("volume resize db1 --size 20GiB --json");
  ASSERT_EQ(resized.rc, 0) << resized.err;
  EXPECT_EQ(json::parse(resized.out)["SizeBytes"], 20ull << 30);
  CliRun usage = InStore("volume usage");
  ASSERT_EQ(usage.rc, 0) << usage.err;
  EXPECT_NE(usage.out.find("20 GiB"), std::string::npos) << usage.out;
  EXPECT_EQ(InStore("store usage").rc, 0);
  EXPECT_EQ(InStore("store sync").rc, 0);
  EXPECT_EQ(InStore("gc").rc, 0);

  CliRun dup = InStore("--json volume create db1 --size 1G");
  EXPECT_EQ(dup.rc, 1);
  EXPECT_EQ(dup.err, "clonectl: VolumeAlreadyExists: volume 'db1' already exists\n");
  EXPECT_EQ(json::parse(dup.out)["Code"], "VolumeAlreadyExists");
  EXPECT_EQ(InStore("volume delete db1").rc, 0);
  CliRun gone = InStore("volume show db1");
  EXPECT_EQ(gone.rc, 1);
  EXPECT_EQ(gone.err, "clonectl: VolumeNotFound: volume 'db1' does not exist\n");
}

TEST_F(ControlClonectl, StoreBusyWithoutDaemonAndDaemonModeWithOne) {
  Init();
  store::StoreOptions options;
  options.background_threads = false;
  auto opened = store::Store::Open(store_, options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();

  CliRun busy = InStore("volume list");
  EXPECT_EQ(busy.rc, 1);
  EXPECT_EQ(busy.err,
            "clonectl: StoreBusy: store is in use by pid " + std::to_string(::getpid()) + "\n");

  // With a control server the same command reaches the store through the socket.
  auto server = ControlServer::Start(opened->get(), ControlSocketPath(store_));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  CliRun created = InStore("--json volume create db2 --size 1M");
  ASSERT_EQ(created.rc, 0) << created.err;
  EXPECT_EQ(json::parse(created.out)["VolumeIdentifier"], "db2");
  EXPECT_TRUE((*opened)->GetVolume("db2").ok());
  CliRun missing = InStore("volume delete nope");
  EXPECT_EQ(missing.rc, 1);
  EXPECT_EQ(missing.err, "clonectl: VolumeNotFound: volume 'nope' does not exist\n");
}

TEST_F(ControlClonectl, DefaultStoreFromClonefsHome) {
  std::string cmd =
      "CLONEFS_HOME=" + store_ + " " + std::string(CLONECTL_PATH) + " init >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_TRUE(store::Store::IsStore(Env::Default(), store_));
}

}  // namespace
}  // namespace clonefs::control
