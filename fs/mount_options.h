// mount_options: the command line of the `clonefs` daemon, in mount(8) style.
//
//   clonefs STORE_DIR MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]]...
//
// mount(8) and mount.fuse3 call `clonefs SOURCE MOUNTPOINT -o opts` for fstab entries of type
// `fuse.clonefs`, so the options are a mix of four kinds, sorted here:
//   - ours (log_level=, cache_mb=, log_file=, key_file=, passphrase_file=, snapshot_quota=,
//     account_snapshot_quota=,
//     max_connections_per_uid=, backups=, backup_check_ms=, pitr=, clock_start=, clock_rate=,
//     metrics=, metrics_interval_ms=),
//     consumed;
//   - the filesystem's own (sparse_blocks), checked here and left in fuse_options, where
//     FuseServer (fuse_adapter.h) takes them out before libfuse sees the list;
//   - mount(8)-only ones (defaults, noauto, _netdev, x-systemd.*, ...), dropped;
//   - everything else, handed to libfuse and the kernel (allow_other, default_permissions, ro,
//     fsname=, ...), which rejects what it does not know.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace clonefs::fs {

// -o sparse_blocks: volume files report the bytes they store as st_blocks instead of their
// full size (VolumeFsOptions::sparse_blocks).
inline constexpr std::string_view kSparseBlocksOption = "sparse_blocks";

struct MountOptions {
  std::string store_dir;
  std::string mountpoint;
  bool foreground = false;  // -f: do not detach; logs stay on stderr
  bool debug = false;       // -d: libfuse request tracing and log_level=debug; implies -f
  bool show_help = false;
  bool show_version = false;
  std::string log_level = "info";  // trace|debug|info|warn|error
  std::string log_file;            // empty: stderr (or syslog when detached from a terminal)
  uint64_t cache_bytes = 512ull << 20;
  // Manual snapshots (copies in progress included) a snapshot copy may bring the store to.
  uint64_t snapshot_quota = 10000;
  // Manual snapshots one account may have (Aurora's default quota is 100; like a Service
  // Quotas increase, an operator raises it for all accounts of the store).
  uint64_t account_snapshot_quota = 100;
  // Control-socket connections one uid may hold at once, under the socket's limit in all
  // (ControlServer::kMaxConnections), so that one user cannot starve the others.
  uint64_t max_connections_per_uid = 16;
  // Automated backups (tools/control/backup_service.h): off for a host whose volumes need
  // none; the schedule is looked at every backup_check_ms.
  bool backups = true;
  uint64_t backup_check_ms = 10000;
  // Point-in-time restore: each durable sync after writes is a restore point. Off only for a
  // baseline (bench/pitr_bench.sh); windows then end at the last point made.
  bool restore_points = true;
  // For tests: the store's wall clock starts at clock_start (Unix seconds; 0: the real time)
  // and runs clock_rate times as fast as the real one (ScaledClockEnv).
  uint64_t clock_start = 0;
  uint64_t clock_rate = 1;
  // A Prometheus text-format file of the store's figures, rewritten every metrics_interval_ms
  // (empty: none).
  std::string metrics_file;
  uint64_t metrics_interval_ms = 10000;
  // The key store's root secret: a key file (empty: STORE_DIR.key) or a passphrase file.
  std::string key_file;
  std::string passphrase_file;
  std::vector<std::string> fuse_options;  // one option per element, in command-line order
};

// Parses the arguments after argv[0]. Errors are InvalidArgument with a one-line message
// suitable for "clonefs: <message>". With --help or --version the positionals may be missing.
Result<MountOptions> ParseMountArgs(const std::vector<std::string>& args);

// The text printed by `clonefs --help`.
std::string MountUsage(std::string_view program);

// "clonefs 0.1.0".
std::string VersionString();

}  // namespace clonefs::fs
