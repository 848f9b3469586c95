#include "fs/fuse_adapter.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>

#include "fs/fuse_api.h"
#include "fs/fuse_ops.h"
#include "fs/invalidator.h"
#include "fs/mount_options.h"
#include "fs/notifying_store.h"
#include "fs/volume_fs.h"

namespace clonefs::fs {
namespace {

// libfuse's own messages ("fuse: bad mount point ...") go to our log; the last error is
// kept so that a failed mount can say why. libfuse sometimes prints one line in several
// calls, so text is collected until a newline.
std::mutex g_fuse_log_mu;
std::string g_fuse_line;
enum fuse_log_level g_fuse_line_level = FUSE_LOG_DEBUG;
std::string g_last_fuse_error;

void EmitFuseLine(enum fuse_log_level level, const std::string& line) {
  if (line.empty()) return;
  if (level <= FUSE_LOG_ERR) {
    spdlog::error("{}", line);
    g_last_fuse_error = line;
  } else if (level <= FUSE_LOG_NOTICE) {
    spdlog::info("{}", line);
  } else {
    spdlog::debug("{}", line);
  }
}

void LogFromFuse(enum fuse_log_level level, const char* fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  std::lock_guard lock(g_fuse_log_mu);
  if (g_fuse_line.empty() || level < g_fuse_line_level) g_fuse_line_level = level;
  for (const char* p = buf; *p != '\0'; ++p) {
    if (*p == '\n') {
      EmitFuseLine(g_fuse_line_level, g_fuse_line);
      g_fuse_line.clear();
    } else {
      g_fuse_line.push_back(*p == '\t' ? ' ' : *p);
    }
  }
}

std::string TakeFuseError(const std::string& fallback) {
  std::lock_guard lock(g_fuse_log_mu);
  EmitFuseLine(g_fuse_line_level, g_fuse_line);  // a message without its final newline
  g_fuse_line.clear();
  std::string msg = g_last_fuse_error.empty() ? fallback : g_last_fuse_error;
  g_last_fuse_error.clear();
  return msg;
}

bool HasOption(const std::vector<std::string>& opts, const std::string& key) {
  for (const std::string& o : opts) {
    if (o == key || o.rfind(key + "=", 0) == 0) return true;
  }
  return false;
}

// Removes every `key` (without a value) from `opts`; true if there was one.
bool TakeFlag(std::vector<std::string>* opts, std::string_view key) {
  size_t before = opts->size();
  std::erase_if(*opts, [key](const std::string& o) { return o == key; });
  return opts->size() != before;
}

// libfuse splits -o lists at commas; a literal comma is written "\,".
std::string EscapeOption(const std::string& opt) {
  std::string out;
  for (char c : opt) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Whether this process may mount with allow_other: root may, others where /etc/fuse.conf
// says user_allow_other.
bool MayAllowOther() {
  if (::geteuid() == 0) return true;
  std::ifstream conf("/etc/fuse.conf");
  std::string line;
  while (std::getline(conf, line)) {
    if (line.rfind("user_allow_other", 0) == 0) return true;
  }
  return false;
}

// The -o list handed to fuse_session_new().
std::string SessionOptions(const FuseOptions& options) {
  std::vector<std::string> opts = options.mount_options;
  if (options.access == nullptr) {
    // The kernel enforces the files' modes (0600, the daemon's user), also under allow_other.
    if (!HasOption(opts, "default_permissions")) opts.push_back("default_permissions");
  } else {
    // The mount answers ENOENT for what a user's account does not own; the kernel's mode
    // checks would answer EACCES first and tell that the name exists.
    TakeFlag(&opts, "default_permissions");
    if (!HasOption(opts, "allow_other")) {
      if (MayAllowOther()) {
        opts.push_back("allow_other");
      } else {
        spdlog::warn(
            "mount: only uid {} can use this mount: allow_other needs root or user_allow_other "
            "in /etc/fuse.conf",
            ::geteuid());
      }
    }
  }
  if (!HasOption(opts, "fsname")) {
    opts.push_back("fsname=" + (options.fsname.empty() ? std::string("clonefs") : options.fsname));
  }
  if (!HasOption(opts, "subtype")) opts.push_back("subtype=clonefs");
  std::string list;
  for (const std::string& o : opts) {
    if (!list.empty()) list.push_back(',');
    list += EscapeOption(o);
  }
  return list;
}

}  // namespace

struct FuseServer::Impl {
  store::Store* store = nullptr;
  std::string mountpoint;
  FuseOptions options;
  std::shared_ptr<Invalidator> invalidator;
  std::unique_ptr<VolumeFs> fs;
  fuse_session* session = nullptr;
  bool signal_handlers = false;
  bool mounted = false;

  ~Impl() {
    invalidator->Stop();  // before the session goes: it notifies through it
    if (mounted) fuse_session_unmount(session);
    if (signal_handlers) fuse_remove_signal_handlers(session);
    if (session != nullptr) fuse_session_destroy(session);  // runs Destroy(): syncs the store
    if (mounted) spdlog::info("mount: unmounted {}", mountpoint);
  }
};

FuseServer::FuseServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FuseServer::~FuseServer() = default;

Result<std::unique_ptr<FuseServer>> FuseServer::Mount(store::Store* store,
                                                      const std::string& mountpoint,
                                                      const FuseOptions& options) {
  fuse_set_log_func(LogFromFuse);
  TakeFuseError("");
  auto impl = std::make_unique<Impl>();
  impl->store = store;
  impl->mountpoint = mountpoint;
  impl->options = options;
  impl->invalidator = std::make_shared<Invalidator>();
  VolumeFsOptions fs_options;
  fs_options.entry_timeout_s = options.entry_timeout_s;
  fs_options.access = options.access;
  fs_options.sparse_blocks = TakeFlag(&impl->options.mount_options, kSparseBlocksOption);
  impl->fs = std::make_unique<VolumeFs>(store, fs_options);
  store->SetChangeListener([inv = impl->invalidator](const store::VolumeInfo& v, bool deleted) {
    NotifyStoreChange(*inv, v, deleted);
  });
  if (auto* notifying = dynamic_cast<NotifyingStore*>(store)) {
    notifying->SetSnapshotListener(
        [inv = impl->invalidator](const store::SnapshotInfo& s, bool deleted) {
          NotifySnapshotChange(*inv, s, deleted);
        });
  }

  std::string opts = SessionOptions(impl->options);
  std::vector<const char*> argv = {"clonefs", "-o", opts.c_str()};
  if (options.debug) argv.push_back("-d");
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  const fuse_lowlevel_ops& ops = VolumeFsOps();
  impl->session = fuse_session_new(&args, &ops, sizeof(ops), impl->fs.get());
  fuse_opt_free_args(&args);
  if (impl->session == nullptr) {
    return Status::InvalidArgument(TakeFuseError("cannot create the FUSE session"));
  }
  if (fuse_set_signal_handlers(impl->session) != 0) {
    return Status::IOError("cannot install signal handlers");
  }
  impl->signal_handlers = true;
  if (fuse_session_mount(impl->session, mountpoint.c_str()) != 0) {
    return Status::IOError(TakeFuseError("cannot mount " + mountpoint));
  }
  impl->mounted = true;
  impl->invalidator->Start(impl->session);
  spdlog::info("mount: mounted {} on {} ({}{})", options.fsname, mountpoint, opts,
               fs_options.sparse_blocks ? ",sparse_blocks" : "");
  return std::unique_ptr<FuseServer>(new FuseServer(std::move(impl)));
}

Status FuseServer::Serve() {
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(config, impl_->options.max_threads);
  // Idle workers stay: a worker that exits takes its per-thread buffers with it, and under a
  // bursty load libfuse would otherwise start and stop dozens of workers a second, each
  // page-faulting its buffers in afresh.
  fuse_loop_cfg_set_idle_threads(config, impl_->options.max_threads);
  fuse_loop_cfg_set_clone_fd(config, 0);
  int rc = fuse_session_loop_mt(impl_->session, config);
  fuse_loop_cfg_destroy(config);
  if (rc < 0) {
    spdlog::error("mount: FUSE loop on {} failed: {}", impl_->mountpoint, std::strerror(-rc));
    return Status::IOError("FUSE loop failed", -rc);
  }
  if (rc > 0) spdlog::info("mount: stopping on signal {}", rc);
  return Status::OK();
}

}  // namespace clonefs::fs
