#include "fs/mount_options.h"

#include <gtest/gtest.h>

namespace clonefs::fs {
namespace {

using Args = std::vector<std::string>;

TEST(MountOptions, PositionalsAndDefaults) {
  Result<MountOptions> r = ParseMountArgs({"/srv/store", "/mnt/x"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->store_dir, "/srv/store");
  EXPECT_EQ(r->mountpoint, "/mnt/x");
  EXPECT_FALSE(r->foreground);
  EXPECT_FALSE(r->debug);
  EXPECT_EQ(r->log_level, "info");
  EXPECT_EQ(r->cache_bytes, 512ull << 20);
  EXPECT_TRUE(r->fuse_options.empty());
}

TEST(MountOptions, MountFuseHelperStyle) {
  // What mount.fuse3 runs for "/srv/s /mnt/x fuse.clonefs defaults,_netdev,allow_other 0 0".
  Result<MountOptions> r =
      ParseMountArgs({"/srv/s", "/mnt/x", "-o",
                      "rw,defaults,_netdev,allow_other,noatime,x-systemd.automount,"
                      "nofail,dev,suid,exec,auto,user,log_level=warn,cache_mb=64"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->fuse_options, Args({"allow_other"}));
  EXPECT_EQ(r->log_level, "warn");
  EXPECT_EQ(r->cache_bytes, 64ull << 20);
}

TEST(MountOptions, OptionsBeforePositionalsAndGlued) {
  Result<MountOptions> r =
      ParseMountArgs({"-f", "-oro,default_permissions", "/s", "-o", "fsname=a", "/m"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->foreground);
  EXPECT_EQ(r->store_dir, "/s");
  EXPECT_EQ(r->mountpoint, "/m");
  EXPECT_EQ(r->fuse_options, Args({"ro", "default_permissions", "fsname=a"}));
}

TEST(MountOptions, DebugImpliesForegroundAndDebugLogs) {
  Result<MountOptions> r = ParseMountArgs({"/s", "/m", "-d"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->debug);
  EXPECT_TRUE(r->foreground);
  EXPECT_EQ(r->log_level, "debug");
}

TEST(MountOptions, LogFile) {
  Result<MountOptions> r = ParseMountArgs({"/s", "/m", "-o", "log_file=/var/log/c.log"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->log_file, "/var/log/c.log");
}

TEST(MountOptions, SparseBlocksIsPassedOnForTheFilesystem) {
  Result<MountOptions> r = ParseMountArgs({"/s", "/m", "-o", "defaults,sparse_blocks,allow_other"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->fuse_options, Args({"sparse_blocks", "allow_other"}));
  EXPECT_NE(MountUsage("clonefs").find("sparse_blocks"), std::string::npos);
  Result<MountOptions> bad = ParseMountArgs({"/s", "/m", "-o", "sparse_blocks=1"});
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("sparse_blocks"), std::string::npos);
}

TEST(MountOptions, KeyFileAndPassphraseFile) {
  Result<MountOptions> r =
      ParseMountArgs({"/s", "/m", "-o", "key_file=/etc/clonefs/s.key,allow_other"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->key_file, "/etc/clonefs/s.key");
  EXPECT_EQ(r->fuse_options, Args({"allow_other"}));  // consumed, never handed to the kernel
  r = ParseMountArgs({"/s", "/m", "-o", "passphrase_file=/run/pass"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->passphrase_file, "/run/pass");
  EXPECT_TRUE(r->key_file.empty());
  EXPECT_FALSE(ParseMountArgs({"/s", "/m", "-o", "key_file="}).ok());
  EXPECT_NE(MountUsage("clonefs").find("key_file=PATH"), std::string::npos);
}

TEST(MountOptions, Errors) {
  EXPECT_FALSE(ParseMountArgs({}).ok());
  EXPECT_FALSE(ParseMountArgs({"/s"}).ok());
  EXPECT_FALSE(ParseMountArgs({"/s", "/m", "/extra"}).ok());
  EXPECT_FALSE(ParseMountArgs({"/s", "/m", "-o"}).ok());
  EXPECT_FALSE(ParseMountArgs({"/s", "/m", "-x"}).ok());
  EXPECT_FALSE(ParseMountArgs({"/s", "/m", "-o", "log_level=loud"}).ok());
  EXPECT_FALSE(ParseMountArgs({"/s", "/m", "-o", "cache_mb=abc"}).ok());
  EXPECT_FALSE(ParseMountArgs({"/s", "/m", "-o", "cache_mb=1"}).ok());
  EXPECT_FALSE(ParseMountArgs({"/s", "/m", "-o", "cache_mb=64k"}).ok());
  EXPECT_FALSE(ParseMountArgs({"/s", "/m", "-o", "log_file="}).ok());
  Result<MountOptions> r = ParseMountArgs({"/s", "/m", "-o", "log_level=loud"});
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("log_level"), std::string::npos);
}

TEST(MountOptions, CountsArePositive) {
  Result<MountOptions> d = ParseMountArgs({"/s", "/m"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->max_connections_per_uid, 16u);
  EXPECT_EQ(d->snapshot_quota, 10000u);
  EXPECT_EQ(d->account_snapshot_quota, 100u);
  Result<MountOptions> r =
      ParseMountArgs({"/s", "/m", "-o",
                      "max_connections_per_uid=3,snapshot_quota=7,account_snapshot_quota=20000"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->max_connections_per_uid, 3u);
  EXPECT_EQ(r->snapshot_quota, 7u);
  EXPECT_EQ(r->account_snapshot_quota, 20000u);
  EXPECT_TRUE(r->fuse_options.empty());  // ours: not handed to libfuse
  for (const char* bad : {"max_connections_per_uid=0", "max_connections_per_uid=x",
                          "max_connections_per_uid=", "snapshot_quota=-1",
                          "account_snapshot_quota=0", "account_snapshot_quota=1x"}) {
    Result<MountOptions> e = ParseMountArgs({"/s", "/m", "-o", bad});
    EXPECT_EQ(e.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(e.status().message().find("a positive number"), std::string::npos) << bad;
  }
}

TEST(MountOptions, BackupsAndTheTestClock) {
  Result<MountOptions> d = ParseMountArgs({"/s", "/m"});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->backups);
  EXPECT_EQ(d->clock_start, 0u);
  EXPECT_EQ(d->clock_rate, 1u);
  Result<MountOptions> r = ParseMountArgs(
      {"/s", "/m", "-o", "backups=off,backup_check_ms=50,clock_start=1796600000,clock_rate=600"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->backups);
  EXPECT_EQ(r->backup_check_ms, 50u);
  EXPECT_EQ(r->clock_start, 1796600000u);
  EXPECT_EQ(r->clock_rate, 600u);
  EXPECT_TRUE(r->fuse_options.empty());
  Result<MountOptions> m =
      ParseMountArgs({"/s", "/m", "-o", "metrics=/run/clonefs.prom,metrics_interval_ms=500"});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->metrics_file, "/run/clonefs.prom");
  EXPECT_EQ(m->metrics_interval_ms, 500u);
  EXPECT_TRUE(m->fuse_options.empty());
  for (const char* bad : {"backups=yes", "backups", "backup_check_ms=0", "clock_rate=0",
                          "clock_start=soon", "metrics=", "metrics_interval_ms=0"}) {
    EXPECT_EQ(ParseMountArgs({"/s", "/m", "-o", bad}).status().code(),
              Status::Code::kInvalidArgument)
        << bad;
  }
}

TEST(MountOptions, HelpAndVersionNeedNoPositionals) {
  Result<MountOptions> h = ParseMountArgs({"--help"});
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->show_help);
  Result<MountOptions> v = ParseMountArgs({"-V"});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->show_version);
  EXPECT_NE(MountUsage("clonefs").find("STORE_DIR MOUNTPOINT"), std::string::npos);
  EXPECT_EQ(VersionString().rfind("clonefs ", 0), 0u);
}

TEST(MountOptions, DoubleDashEndsOptions) {
  Result<MountOptions> r = ParseMountArgs({"--", "-weird-store", "/m"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->store_dir, "-weird-store");
}

TEST(MountOptions, EmptyItemsInAListAreIgnored) {
  Result<MountOptions> r = ParseMountArgs({"/s", "/m", "-o", ",allow_other,,"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->fuse_options, Args({"allow_other"}));
}

}  // namespace
}  // namespace clonefs::fs
