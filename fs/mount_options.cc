#include "fs/mount_options.h"

#include <algorithm>
#include <array>
#include <charconv>

#ifndef CLONEFS_VERSION
#define CLONEFS_VERSION "unknown"
#endif

namespace clonefs::fs {
namespace {

constexpr uint64_t kMinCacheMb = 16;
constexpr uint64_t kMaxCacheMb = 1ull << 20;  // 1 TiB: a typo guard, not a tuning limit

// Options that only mean something to mount(8), fstab or systemd, plus the access-time and
// exec/suid/dev flags, which mean nothing for a tree of block images.
constexpr std::array<std::string_view, 14> kMountOnlyOptions = {
    "rw",    "defaults", "auto",    "noauto", "user", "nouser", "users",
    "owner", "group",    "_netdev", "nofail", "dev",  "suid",   "exec"};
constexpr std::array<std::string_view, 2> kMountOnlyPrefixes = {"x-", "comment="};
constexpr std::array<std::string_view, 2> kMountOnlySuffixes = {"atime", "lazytime"};

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

bool IsMountOnly(std::string_view opt) {
  auto in = [opt](const auto& list, auto pred) {
    return std::any_of(list.begin(), list.end(), [&](std::string_view x) { return pred(opt, x); });
  };
  return in(kMountOnlyOptions, [](std::string_view a, std::string_view b) { return a == b; }) ||
         in(kMountOnlyPrefixes, StartsWith) || in(kMountOnlySuffixes, EndsWith);
}

bool IsLogLevel(std::string_view v) {
  return v == "trace" || v == "debug" || v == "info" || v == "warn" || v == "error";
}

// The value of option `key`: a positive number of `what`.
Result<uint64_t> PositiveCount(std::string_view key, std::string_view value, const char* what) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n == 0) {
    return Status::InvalidArgument("bad " + std::string(key) + " '" + std::string(value) +
                                   "' (a positive number of " + what + ")");
  }
  return n;
}

// Applies one option of a -o list.
Status ApplyOption(std::string_view opt, MountOptions* out) {
  if (opt.empty()) return Status::OK();
  size_t eq = opt.find('=');
  std::string_view key = opt.substr(0, eq);
  std::string_view value = eq == std::string_view::npos ? "" : opt.substr(eq + 1);
  if (key == "log_level") {
    if (!IsLogLevel(value)) {
      return Status::InvalidArgument("bad log_level '" + std::string(value) +
                                     "' (trace|debug|info|warn|error)");
    }
    out->log_level = std::string(value);
  } else if (key == "cache_mb") {
    uint64_t mb = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mb);
    if (ec != std::errc() || end != value.data() + value.size() || mb < kMinCacheMb ||
        mb > kMaxCacheMb) {
      return Status::InvalidArgument("bad cache_mb '" + std::string(value) + "' (" +
                                     std::to_string(kMinCacheMb) + " or more megabytes)");
    }
    out->cache_bytes = mb << 20;
  } else if (key == "snapshot_quota") {
    CLONEFS_ASSIGN_OR_RETURN(out->snapshot_quota, PositiveCount(key, value, "snapshots"));
  } else if (key == "account_snapshot_quota") {
    CLONEFS_ASSIGN_OR_RETURN(out->account_snapshot_quota, PositiveCount(key, value, "snapshots"));
  } else if (key == "max_connections_per_uid") {
    CLONEFS_ASSIGN_OR_RETURN(out->max_connections_per_uid,
                             PositiveCount(key, value, "connections"));
  } else if (key == "backups") {
    if (value != "on" && value != "off") {
      return Status::InvalidArgument("bad backups '" + std::string(value) + "' (on|off)");
    }
    out->backups = value == "on";
  } else if (key == "pitr") {
    if (value != "on" && value != "off") {
      return Status::InvalidArgument("bad pitr '" + std::string(value) + "' (on|off)");
    }
    out->restore_points = value == "on";
  } else if (key == "backup_check_ms") {
    CLONEFS_ASSIGN_OR_RETURN(out->backup_check_ms, PositiveCount(key, value, "milliseconds"));
  } else if (key == "clock_start") {
    CLONEFS_ASSIGN_OR_RETURN(out->clock_start, PositiveCount(key, value, "seconds"));
  } else if (key == "clock_rate") {
    CLONEFS_ASSIGN_OR_RETURN(out->clock_rate, PositiveCount(key, value, "times"));
  } else if (key == "metrics") {
    if (value.empty()) return Status::InvalidArgument("metrics needs a path");
    out->metrics_file = std::string(value);
  } else if (key == "metrics_interval_ms") {
    CLONEFS_ASSIGN_OR_RETURN(out->metrics_interval_ms, PositiveCount(key, value, "milliseconds"));
  } else if (key == "log_file") {
    if (value.empty()) return Status::InvalidArgument("log_file needs a path");
    out->log_file = std::string(value);
  } else if (key == "key_file") {
    if (value.empty()) return Status::InvalidArgument("key_file needs a path");
    out->key_file = std::string(value);
  } else if (key == "passphrase_file") {
    if (value.empty()) return Status::InvalidArgument("passphrase_file needs a path");
    out->passphrase_file = std::string(value);
  } else if (key == kSparseBlocksOption) {
    if (eq != std::string_view::npos) {
      return Status::InvalidArgument("sparse_blocks takes no value");
    }
    out->fuse_options.emplace_back(key);  // for FuseServer, which applies it to the filesystem
  } else if (!IsMountOnly(opt)) {
    out->fuse_options.emplace_back(opt);
  }
  return Status::OK();
}

Status ApplyOptionList(std::string_view list, MountOptions* out) {
  while (true) {
    size_t comma = list.find(',');
    CLONEFS_RETURN_IF_ERROR(ApplyOption(list.substr(0, comma), out));
    if (comma == std::string_view::npos) return Status::OK();
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

Result<MountOptions> ParseMountArgs(const std::vector<std::string>& args) {
  MountOptions out;
  std::vector<std::string> positional;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.empty() || a[0] != '-' || a == "-") {
      positional.push_back(a);
    } else if (a == "--") {
      options_done = true;
    } else if (a == "-h" || a == "--help") {
      out.show_help = true;
    } else if (a == "-V" || a == "--version") {
      out.show_version = true;
    } else if (a == "-f") {
      out.foreground = true;
    } else if (a == "-d" || a == "--debug") {
      out.debug = true;
      out.foreground = true;
      out.log_level = "debug";
    } else if (a == "-s") {
      // libfuse's "single-threaded" flag: accepted for compatibility, the loop stays parallel.
    } else if (a == "-o") {
      if (i + 1 == args.size()) return Status::InvalidArgument("-o needs an option list");
      CLONEFS_RETURN_IF_ERROR(ApplyOptionList(args[++i], &out));
    } else if (a.rfind("-o", 0) == 0) {
      CLONEFS_RETURN_IF_ERROR(ApplyOptionList(std::string_view(a).substr(2), &out));
    } else {
      return Status::InvalidArgument("unknown option '" + a + "' (see --help)");
    }
  }
  if (out.show_help || out.show_version) return out;
  if (positional.size() < 2) {
    return Status::InvalidArgument("need a store directory and a mountpoint (see --help)");
  }
  if (positional.size() > 2) {
    return Status::InvalidArgument("unexpected argument '" + positional[2] + "'");
  }
  out.store_dir = positional[0];
  out.mountpoint = positional[1];
  return out;
}

std::string MountUsage(std::string_view program) {
  std::string p(program);
  return "usage: " + p +
         " STORE_DIR MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]\n"
         "\n"
         "Serves the volumes of the clonefs store in STORE_DIR as block-image files under\n"
         "MOUNTPOINT/volumes/. Returns once the mount is ready and keeps serving in the\n"
         "background; unmount with `fusermount3 -u MOUNTPOINT` or `umount MOUNTPOINT`.\n"
         "\n"
         "  -f              stay in the foreground, logging to stderr\n"
         "  -d              debug: trace every FUSE request (implies -f, log_level=debug)\n"
         "  -h, --help      print this help\n"
         "  -V, --version   print the version\n"
         "\n"
         "clonefs options (-o):\n"
         "  log_level=LEVEL     trace|debug|info|warn|error (default info)\n"
         "  log_file=PATH       append logs to PATH instead of stderr/syslog\n"
         "  cache_mb=N          metadata cache budget in MiB (default 512)\n"
         "  key_file=PATH       key file unlocking the store's KMS keys (default STORE_DIR.key)\n"
         "  passphrase_file=PATH  unlock them with the passphrase in PATH instead\n"
         "  snapshot_quota=N    manual snapshots a snapshot copy may bring the store to\n"
         "                      (default 10000; SnapshotQuotaExceeded past it)\n"
         "  account_snapshot_quota=N  manual snapshots one account may have\n"
         "                      (default 100; SnapshotQuotaExceeded past it)\n"
         "  max_connections_per_uid=N  control connections one Unix user may hold at once\n"
         "                      (default 16, of 64 in all; StoreBusy past it)\n"
         "  backups=on|off      take and expire automated snapshots in each volume's\n"
         "                      backup window (default on)\n"
         "  backup_check_ms=N   how often the backup schedule is looked at (default 10000)\n"
         "  pitr=on|off         make each durable sync a restore point (default on; off\n"
         "                      only as a baseline for benchmarks)\n"
         "  metrics=PATH        rewrite PATH with Prometheus text-format metrics\n"
         "  metrics_interval_ms=N  how often (default 10000)\n"
         "  clock_start=SECS, clock_rate=N  for tests: the store's clock starts at SECS\n"
         "                      (Unix time) and runs N times as fast as the real one\n"
         "  sparse_blocks       a volume's st_blocks (du) count the bytes it stores, not its\n"
         "                      size; cp then copies a sparse volume instead of cloning it\n"
         "                      (`clonectl volume usage` shows real use either way)\n"
         "\n"
         "FUSE and kernel options (-o), for example:\n"
         "  allow_other         added by itself where FUSE allows it (root, or\n"
         "                      user_allow_other in fuse.conf): every local user comes in\n"
         "                      and sees what its account owns or is shared with it\n"
         "  ro                  read-only mount\n"
         "  fsname=NAME         source shown in /proc/mounts (default: STORE_DIR)\n"
         "\n"
         "mount(8)-only options (defaults, auto, noauto, user, _netdev, nofail, x-systemd.*,\n"
         "...) are accepted and ignored, so an fstab line of type fuse.clonefs works:\n"
         "  /srv/clonefs  /mnt/clonefs  fuse.clonefs  defaults,_netdev,allow_other  0 0\n";
}

std::string VersionString() { return std::string("clonefs ") + CLONEFS_VERSION; }

}  // namespace clonefs::fs
