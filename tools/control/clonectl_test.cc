// Runs the built clonectl binary (CLONECTL_PATH) and checks exit codes, messages and effects.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/control/cli_output.h"
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
  // Runs `clonectl --store STORE ARGS` with stdout and stderr on a terminal (util-linux
  // `script`); `out` gets everything the terminal showed. rc -1 when there is no `script`.
  CliRun OnTerminal(const std::string& args) {
    const std::string out = tmp_.path() + "/tty";
    std::string cmd = "script -qec \"env -u CLONEFS_HOME " + std::string(CLONECTL_PATH) +
                      " --store " + store_ + " " + args + "\" /dev/null >" + out + " 2>&1";
    int status = std::system(cmd.c_str());
    CliRun r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(out);
    return r;
  }
  static bool HaveScript() {
    return std::system("script -qec true /dev/null >/dev/null 2>&1") == 0;
  }
  std::unique_ptr<store::Store> OpenStore() {
    store::StoreOptions options;
    options.background_threads = false;
    auto opened = store::Store::Open(store_, options);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  // Writes `data` at `offset` of `volume` through a store opened in this process.
  void WriteWithStore(store::Store& store, const std::string& volume, uint64_t offset,
                      const std::string& data) {
    auto h = store.OpenVolume(volume);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_OK((*h)->Write(offset, data));
    ASSERT_OK((*h)->Sync());
  }
  static std::string Bytes(store::VolumeHandle& h) {
    std::string b(h.size(), '\0');
    EXPECT_TRUE(h.Read(0, b.size(), b.data()).ok());
    return b;
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

TEST_F(ControlClonectl, SnapshotLifecycleInDirectMode) {
  Init();
  ASSERT_EQ(InStore("volume create db1 --size 3M").rc, 0);
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    WriteWithStore(*store, "db1", 4096, "before the snapshot");
  }
  CliRun created =
      InStore("--json snapshot create db1 s1 --tag env=prod --tag 'owner=a=b' --tag empty=");
  ASSERT_EQ(created.rc, 0) << created.err;
  json s = json::parse(created.out);
  EXPECT_EQ(s["SnapshotIdentifier"], "s1");
  EXPECT_EQ(s["VolumeIdentifier"], "db1");
  EXPECT_EQ(s["SnapshotArn"].get<std::string>().rfind("arn:clonefs:eu-west-2:", 0), 0u);
  EXPECT_EQ(s["SnapshotType"], "manual");
  EXPECT_EQ(s["TagList"], json::parse(R"([{"Key":"env","Value":"prod"},
      {"Key":"owner","Value":"a=b"},{"Key":"empty","Value":""}])"));
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    WriteWithStore(*store, "db1", 4096, "after the snapshot!");
  }

  CliRun list = InStore("snapshot list");
  ASSERT_EQ(list.rc, 0) << list.err;
  EXPECT_NE(list.out.find("s1    db1"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("env=prod, owner=a=b, empty="), std::string::npos) << list.out;
  EXPECT_EQ(json::parse(InStore("--json snapshot list --volume db1").out)["Snapshots"].size(), 1u);
  EXPECT_EQ(InStore("snapshot list --volume other").out, "No snapshots.\n");
  CliRun show = InStore("snapshot show s1");
  ASSERT_EQ(show.rc, 0) << show.err;
  EXPECT_NE(show.out.find("Snapshot:     s1"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("3 MiB"), std::string::npos) << show.out;

  CliRun restored = InStore("--json volume restore s1 r1");
  ASSERT_EQ(restored.rc, 0) << restored.err;
  EXPECT_EQ(json::parse(restored.out)["SourceSnapshotIdentifier"], "s1");
  CliRun cloned = InStore("volume clone db1 c1");
  ASSERT_EQ(cloned.rc, 0) << cloned.err;
  EXPECT_NE(cloned.out.find("Source volume:  db1"), std::string::npos) << cloned.out;
  CliRun full = InStore("--json volume restore s1 f1 --full-copy");
  ASSERT_EQ(full.rc, 0) << full.err;
  EXPECT_EQ(full.err, "");  // no progress bar off a terminal
  json f = json::parse(full.out);
  EXPECT_EQ(f["CloneGroupId"], f["VolumeId"]);
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    auto snap = store->OpenSnapshot("s1");
    auto r1 = store->OpenVolume("r1");
    auto f1 = store->OpenVolume("f1");
    auto c1 = store->OpenVolume("c1");
    ASSERT_TRUE(snap.ok() && r1.ok() && f1.ok() && c1.ok());
    const std::string at_snapshot = Bytes(**snap);
    EXPECT_EQ(at_snapshot.substr(4096, 19), "before the snapshot");
    EXPECT_TRUE(Bytes(**r1) == at_snapshot);
    EXPECT_TRUE(Bytes(**f1) == at_snapshot);
    EXPECT_EQ(Bytes(**c1).substr(4096, 19), "after the snapshot!");
  }

  CliRun deleted = InStore("snapshot delete s1");
  ASSERT_EQ(deleted.rc, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "Deleted snapshot 's1'.\n");
  CliRun gone = InStore("snapshot show s1");
  EXPECT_EQ(gone.rc, 1);
  EXPECT_EQ(gone.err, "clonectl: SnapshotNotFound: snapshot 's1' does not exist\n");
  CliRun again = InStore("--json snapshot delete s1");
  EXPECT_EQ(again.rc, 1);
  EXPECT_EQ(json::parse(again.out)["Code"], "SnapshotNotFound");
  CliRun no_volume = InStore("snapshot create nope s2");
  EXPECT_EQ(no_volume.rc, 1);
  EXPECT_EQ(no_volume.err, "clonectl: VolumeNotFound: volume 'nope' does not exist\n");
  CliRun dup = InStore("snapshot create db1 s3 && " + std::string(CLONECTL_PATH) + " --store " +
                       store_ + " snapshot create db1 s3");
  EXPECT_EQ(dup.rc, 1);
  EXPECT_EQ(dup.err, "clonectl: SnapshotAlreadyExists: snapshot 's3' already exists\n");
}

TEST_F(ControlClonectl, SnapshotUsageAndTagErrors) {
  Init();
  ASSERT_EQ(InStore("volume create db1 --size 1M").rc, 0);
  CliRun no_eq = InStore("snapshot create db1 s1 --tag novalue");
  EXPECT_EQ(no_eq.rc, 1);
  EXPECT_EQ(no_eq.err, "clonectl: InvalidParameterValue: invalid tag 'novalue': use KEY=VALUE\n");
  CliRun no_key = InStore("snapshot create db1 s1 --tag =v");
  EXPECT_EQ(no_key.rc, 1);
  EXPECT_NE(no_key.err.find("InvalidParameterValue"), std::string::npos) << no_key.err;
  CliRun long_key = InStore("snapshot create db1 s1 --tag " + std::string(129, 'k') + "=v");
  EXPECT_EQ(long_key.rc, 1);
  EXPECT_NE(long_key.err.find("InvalidParameterValue"), std::string::npos) << long_key.err;
  EXPECT_EQ(
      InStore("snapshot create db1 s1 --tag " + std::string(128, 'k') + "=" + std::string(256, 'v'))
          .rc,
      0);
  // --tag takes one value each time, so positionals may follow it.
  CliRun before = InStore("--json snapshot create --tag a=1 db1 s2 --tag b=2");
  ASSERT_EQ(before.rc, 0) << before.err;
  EXPECT_EQ(json::parse(before.out)["TagList"].size(), 2u);
  EXPECT_EQ(InStore("snapshot create db1").rc, 2);
  EXPECT_EQ(InStore("snapshot").rc, 2);
  EXPECT_EQ(InStore("snapshot show").rc, 2);
  EXPECT_EQ(InStore("volume clone db1").rc, 2);
  EXPECT_EQ(InStore("volume restore s1").rc, 2);
  EXPECT_EQ(InStore("volume restore s1 r1 --full-copy=maybe").rc, 2);
  EXPECT_EQ(InStore("snapshot list --volume ''").rc, 1);
}

TEST_F(ControlClonectl, CloneQuotaExceededReachesTheUserVerbatim) {
  Init();
  ASSERT_EQ(InStore("volume create db1 --size 2M").rc, 0);
  std::string expected;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    WriteWithStore(*store, "db1", 0, std::string(1 << 20, 'q'));
    for (int i = 1; i <= store::kMaxClonesPerLineage; ++i) {
      ASSERT_TRUE(store->CloneVolume("db1", std::string("c").append(std::to_string(i))).ok()) << i;
    }
    auto refused = store->CloneVolume("db1", "c16");
    ASSERT_FALSE(refused.ok());
    expected = refused.status().message();
  }
  CliRun clone = InStore("volume clone db1 c16");
  EXPECT_EQ(clone.rc, 1);
  EXPECT_EQ(clone.err, "clonectl: CloneQuotaExceeded: " + expected + "\n");
  EXPECT_NE(expected.find("--full-copy"), std::string::npos) << expected;
  CliRun json_clone = InStore("--json volume clone db1 c16");
  EXPECT_EQ(json_clone.rc, 1);
  EXPECT_EQ(json::parse(json_clone.out),
            json({{"Code", "CloneQuotaExceeded"}, {"Message", expected}}));

  CliRun full = InStore("volume clone db1 c16 --full-copy");
  ASSERT_EQ(full.rc, 0) << full.err;
  EXPECT_NE(full.out.find("Volume:       c16"), std::string::npos) << full.out;
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto a = store->OpenVolume("db1");
  auto b = store->OpenVolume("c16");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(Bytes(**a) == Bytes(**b));
}

TEST_F(ControlClonectl, DaemonModeSnapshotsAndFullCopies) {
  Init();
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateVolume("db1", {.size_bytes = 4 << 20}).ok());
  WriteWithStore(*store, "db1", 3 << 20, std::string(5000, 'd'));
  auto server = ControlServer::Start(store.get(), ControlSocketPath(store_));
  ASSERT_TRUE(server.ok()) << server.status().ToString();

  ASSERT_EQ(InStore("snapshot create db1 s1").rc, 0);
  {
    // Open (as a loop device on the mounted snapshot file would be): it cannot be deleted.
    auto open = store->OpenSnapshot("s1");
    ASSERT_TRUE(open.ok());
    CliRun busy = InStore("snapshot delete s1");
    EXPECT_EQ(busy.rc, 1);
    EXPECT_EQ(busy.err.rfind("clonectl: InvalidSnapshotState: snapshot 's1' is in use", 0), 0u)
        << busy.err;
  }
  CliRun full = InStore("--json volume clone db1 f1 --full-copy");
  ASSERT_EQ(full.rc, 0) << full.err;
  EXPECT_EQ(full.err, "");
  EXPECT_EQ(json::parse(full.out)["VolumeIdentifier"], "f1");  // stdout holds the JSON alone
  auto a = store->OpenVolume("db1");
  auto b = store->OpenVolume("f1");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(Bytes(**a) == Bytes(**b));
  EXPECT_EQ(InStore("snapshot delete s1").rc, 0);
  EXPECT_EQ(store->ListSnapshots().size(), 0u);  // nor any temporary one

  if (!HaveScript()) GTEST_SKIP() << "no util-linux script(1) to provide a terminal";
  CliRun tty = OnTerminal("volume restore s2 r1 --full-copy");  // no such snapshot
  EXPECT_NE(tty.out.find("SnapshotNotFound"), std::string::npos) << tty.out;
  ASSERT_EQ(InStore("snapshot create db1 s2").rc, 0);
  tty = OnTerminal("volume restore s2 r1 --full-copy");
  EXPECT_EQ(tty.rc, 0) << tty.out;
  EXPECT_NE(tty.out.find("\rCopying to r1 [------------------------------]   0%  0 B / 4 MiB"),
            std::string::npos)
      << tty.out;
  EXPECT_NE(tty.out.find("\rCopying to r1 [##############################] 100%  4 MiB / 4 MiB"),
            std::string::npos)
      << tty.out;
  EXPECT_NE(tty.out.find("\r\x1b[KVolume:       r1"), std::string::npos) << tty.out;
  // --json never draws a bar.
  CliRun json_tty = OnTerminal("--json volume restore s2 r2 --full-copy");
  EXPECT_EQ(json_tty.rc, 0) << json_tty.out;
  EXPECT_EQ(json_tty.out.find("Copying"), std::string::npos) << json_tty.out;
}

TEST_F(ControlClonectl, ProgressBarInDirectMode) {
  if (!HaveScript()) GTEST_SKIP() << "no util-linux script(1) to provide a terminal";
  Init();
  ASSERT_EQ(InStore("volume create db1 --size 2M").rc, 0);
  CliRun tty = OnTerminal("volume clone db1 c1 --full-copy");
  EXPECT_EQ(tty.rc, 0) << tty.out;
  EXPECT_NE(tty.out.find("100%  2 MiB / 2 MiB\x1b[K\r\x1b[K"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("Volume:       c1"), std::string::npos) << tty.out;
}

TEST(ControlProgressBar, Format) {
  EXPECT_EQ(FormatProgressBar("Copying to x", 512 << 20, 1 << 30, 10),
            "Copying to x [#####-----]  50%  512 MiB / 1 GiB");
  EXPECT_EQ(FormatProgressBar("c", 0, 4096, 4), "c [----]   0%  0 B / 4 KiB");
  EXPECT_EQ(FormatProgressBar("c", 9999, 4096, 4), "c [####] 100%  4 KiB / 4 KiB");
  EXPECT_EQ(FormatProgressBar("c", 0, 0, 4), "c [####] 100%  0 B / 0 B");
  EXPECT_EQ(FormatProgressBar("c", 1ull << 62, ~0ull, 4).substr(0, 12), "c [#---]  25");
}

TEST_F(ControlClonectl, DefaultStoreFromClonefsHome) {
  std::string cmd =
      "CLONEFS_HOME=" + store_ + " " + std::string(CLONECTL_PATH) + " init >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_TRUE(store::Store::IsStore(Env::Default(), store_));
}

TEST_F(ControlClonectl, RecipientKeysAndTheirPublicKeys) {
  Init();
  CliRun created = InStore("--json key create --alias exports --key-spec X25519");
  ASSERT_EQ(created.rc, 0) << created.err;
  json key = json::parse(created.out);
  const std::string key_id = key["KeyId"];
  EXPECT_EQ(key["KeySpec"], "X25519");
  EXPECT_EQ(key["KeyUsage"], "ENCRYPT_DECRYPT");
  CliRun rsa = InStore("key create --key-spec RSA_3072");
  ASSERT_EQ(rsa.rc, 0) << rsa.err;
  EXPECT_NE(rsa.out.find("Spec:         RSA_3072\n"), std::string::npos) << rsa.out;
  CliRun bad = InStore("key create --key-spec RSA_2048");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("--key-spec"), std::string::npos) << bad.err;
  CliRun symmetric = InStore("key create --alias data");
  ASSERT_EQ(symmetric.rc, 0) << symmetric.err;
  EXPECT_NE(symmetric.out.find("Spec:         SYMMETRIC_DEFAULT\n"), std::string::npos)
      << symmetric.out;

  // Without --out the PEM is printed as it is.
  CliRun printed = InStore("key get-public-key exports");
  ASSERT_EQ(printed.rc, 0) << printed.err;
  EXPECT_EQ(printed.out.rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u) << printed.out;
  const std::string end = "-----END PUBLIC KEY-----\n";
  ASSERT_GE(printed.out.size(), end.size());
  EXPECT_EQ(printed.out.substr(printed.out.size() - end.size()), end);

  // --out writes it to a new file, mode 0644, and says so.
  const std::string pem_file = tmp_.path() + "/exports.pem";
  CliRun saved = InStore("key get-public-key alias/exports --out " + pem_file);
  ASSERT_EQ(saved.rc, 0) << saved.err;
  EXPECT_EQ(saved.out, "Wrote the X25519 public key of " + key_id + " to " + pem_file + ".\n");
  EXPECT_EQ(Slurp(pem_file), printed.out);
  struct stat st {};
  ASSERT_EQ(::stat(pem_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // It never replaces a file, and a missing directory is named.
  CliRun again = InStore("key get-public-key exports --out " + pem_file);
  EXPECT_EQ(again.rc, 1);
  EXPECT_EQ(again.err, "clonectl: InvalidParameterValue: --out " + pem_file +
                           " already exists; remove it or choose another file\n");
  EXPECT_EQ(Slurp(pem_file), printed.out);
  const std::string nowhere = tmp_.path() + "/no/such/dir/k.pem";
  CliRun missing = InStore("key get-public-key exports --out " + nowhere);
  EXPECT_EQ(missing.rc, 1);
  EXPECT_EQ(missing.err, "clonectl: InvalidParameterValue: --out " + nowhere + ": the directory " +
                             tmp_.path() + "/no/such/dir does not exist\n");
  // --json: the result, and where it went.
  const std::string json_file = tmp_.path() + "/exports-json.pem";
  CliRun as_json = InStore("--json key get-public-key exports --out " + json_file);
  ASSERT_EQ(as_json.rc, 0) << as_json.err;
  json result = json::parse(as_json.out);
  EXPECT_EQ(result["KeyId"], key_id);
  EXPECT_EQ(result["KeySpec"], "X25519");
  EXPECT_EQ(result["KeyUsage"], "ENCRYPT_DECRYPT");
  EXPECT_EQ(result["PublicKey"], printed.out);
  EXPECT_EQ(result["PublicKeyFile"], json_file);
  EXPECT_EQ(Slurp(json_file), printed.out);
  for (const auto& entry : std::filesystem::directory_iterator(tmp_.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos)
        << "left behind: " << entry.path();
  }

  // A symmetric key has no public key; a recipient key wraps no volume's data keys.
  CliRun none = InStore("key get-public-key data --out " + tmp_.path() + "/data.pem");
  EXPECT_EQ(none.rc, 1);
  EXPECT_NE(none.err.find("clonectl: InvalidKeyUsageException: key "), std::string::npos)
      << none.err;
  EXPECT_NE(none.err.find(" is a symmetric key; it has no public key\n"), std::string::npos)
      << none.err;
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/data.pem"));
  CliRun volume = InStore("volume create v --size 1M --encrypted --kms-key exports");
  EXPECT_EQ(volume.rc, 1);
  EXPECT_NE(volume.err.find("clonectl: InvalidKeyUsageException: "), std::string::npos)
      << volume.err;
}

// Accounts in direct mode: root administers them, --account acts as one, and the text and
// JSON forms follow the other commands'.
TEST_F(ControlClonectl, AccountsInDirectMode) {
  Init();
  CliRun help = Clonectl("account --help");  // no store, no daemon
  EXPECT_EQ(help.rc, 0) << help.err;
  EXPECT_NE(help.out.find("create"), std::string::npos) << help.out;
  CliRun made = InStore("account create 012345678901 --user nobody");
  ASSERT_EQ(made.rc, 0) << made.err;
  EXPECT_NE(made.out.find("Account:"), std::string::npos) << made.out;
  EXPECT_NE(made.out.find("nobody (uid 65534)"), std::string::npos) << made.out;
  CliRun list = InStore("account list");
  ASSERT_EQ(list.rc, 0) << list.err;
  EXPECT_EQ(list.out.rfind("ACCOUNT", 0), 0u) << list.out;
  CliRun json_list = InStore("--json account list");
  ASSERT_EQ(json_list.rc, 0);
  json accounts = json::parse(json_list.out)["Accounts"];
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_TRUE(accounts[0]["AccountId"].is_string());
  CliRun bad = InStore("account create 0123456789012 --user daemon");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("InvalidParameterValue: account id '0123456789012' must be exactly 12 "
                         "digits, not 13"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(InStore("account create 333333333333").rc, 2);  // --user is required
  ASSERT_EQ(InStore("--account 012345678901 volume create db1 --size 1M").rc, 0);
  CliRun shown = InStore("--json --account 012345678901 volume show db1");
  ASSERT_EQ(shown.rc, 0) << shown.err;
  EXPECT_EQ(json::parse(shown.out)["VolumeArn"], "arn:clonefs:eu-west-2:012345678901:volume:db1");
  CliRun owners = InStore("volume show db1");
  EXPECT_EQ(owners.rc, 1);
  EXPECT_NE(owners.err.find("VolumeNotFound: volume 'db1' does not exist"), std::string::npos)
      << owners.err;
  EXPECT_EQ(InStore("--account 999999999999 volume list").rc, 1);
}

}  // namespace
}  // namespace clonefs::control
