// clonefs: the mount daemon. Serves one store's volumes as block-image files.
//
//   clonefs STORE_DIR MOUNTPOINT [-f] [-d] [-o OPTIONS]
//
// Works as an fstab type `fuse.clonefs` (mount.fuse3 runs `clonefs SOURCE MOUNTPOINT -o ...`).
// Returns once the mount is ready; unless -f, it then serves from a detached child process.
// The child is forked before anything starts a thread (the store does at open), and reports
// its startup outcome to the waiting parent through a pipe.
#include <fcntl.h>
#include <malloc.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/scaled_clock_env.h"
#include "fs/fuse_adapter.h"
#include "fs/mount_options.h"
#include "fs/notifying_store.h"
#include "store/access/account_registry.h"
#include "store/access/sharing.h"
#include "store/keys/key_service.h"
#include "store/keys/root_secret.h"
#include "store/store.h"
#include "tools/control/backup_service.h"
#include "tools/control/copy_service.h"
#include "tools/control/identity.h"
#include "tools/control/metrics_writer.h"
#include "tools/control/mount_access.h"
#include "tools/control/server.h"

namespace clonefs {
namespace {

// The running daemon. Members are destroyed in reverse order: the mount goes first (its
// session teardown syncs the store), then the control socket, then the store, which
// checkpoints and only then releases its lock. The control socket and the mount both use the
// store through `events`, so that snapshots taken or deleted with clonectl reach the mount.
struct Daemon {
  std::unique_ptr<Env> clock;  // clock_start=: the test clock every part below reads
  std::unique_ptr<store::Store> store;
  std::unique_ptr<fs::NotifyingStore> events;
  // Who the accounts are and what they share: one of each, for the control plane and the mount.
  std::unique_ptr<access::AccountRegistry> accounts;
  std::unique_ptr<access::Sharing> sharing;
  std::unique_ptr<control::CopyService> copies;
  std::unique_ptr<control::BackupService> backups;
  std::unique_ptr<control::ControlServer> control;
  std::unique_ptr<fs::FuseServer> fuse;
  std::unique_ptr<control::MetricsWriter> metrics;  // first to go: it reads the store
};

// The child's side of the startup pipe: one status byte ('0' ready, '1' failed), then for a
// failure the message the parent prints.
class StartupReport {
 public:
  explicit StartupReport(int fd) : fd_(fd) {}
  ~StartupReport() { Close(); }

  void Send(bool ok, const std::string& message) {
    if (fd_ < 0) return;
    std::string data = std::string(ok ? "0" : "1") + message;
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the parent is gone: nobody to tell
      p += n;
      left -= static_cast<size_t>(n);
    }
    Close();
  }

 private:
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_;
};

std::string Absolute(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) != nullptr) return buf;
  return path;  // left for the caller's own checks (and error messages) to deal with
}

std::string AbsoluteUnresolved(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof(buf)) == nullptr) return path;
  return std::string(buf) + "/" + path;
}

// Checks that need no thread and give the clearest messages; run before forking.
Status CheckPaths(const fs::MountOptions& o) {
  struct stat st {};
  if (!store::Store::IsStore(Env::Default(), o.store_dir)) {
    return Status::InvalidArgument(o.store_dir + " is not a clonefs store (run: clonectl --store " +
                                   o.store_dir + " init)");
  }
  if (stat(o.mountpoint.c_str(), &st) != 0) {
    // A mountpoint left by a crashed daemon fails with ENOTCONN: libfuse explains that one.
    if (errno == ENOTCONN) return Status::OK();
    return Status::InvalidArgument("mountpoint " + o.mountpoint + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("mountpoint " + o.mountpoint + " is not a directory");
  }
  return Status::OK();
}

// Logs to log_file when given; to syslog when detached from a terminal (nobody would see
// stderr); otherwise to stderr, which systemd's journal captures.
Status SetupLogging(const fs::MountOptions& o, bool detached) {
  spdlog::sink_ptr sink;
  try {
    if (!o.log_file.empty()) {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(o.log_file, /*truncate=*/false);
    } else if (detached && isatty(STDERR_FILENO)) {
      sink = std::make_shared<spdlog::sinks::syslog_sink_mt>("clonefs", LOG_PID, LOG_DAEMON,
                                                             /*enable_formatting=*/true);
      sink->set_pattern("%v");
    } else {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IOError(std::string("cannot open the log: ") + e.what());
  }
  auto logger = std::make_shared<spdlog::logger>("clonefs", std::move(sink));
  logger->set_level(spdlog::level::from_str(o.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  if (o.log_file.empty() && !(detached && isatty(STDERR_FILENO))) {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  } else if (!o.log_file.empty()) {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] [%P] %v");
  }
  return Status::OK();
}

// Opens the store, starts the control socket and mounts. On failure `d` holds what was
// started, for the caller to tear down.
Status Start(const fs::MountOptions& o, Daemon* d) {
  store::StoreOptions so;
  so.cache_bytes = o.cache_bytes;
  so.restore_points = o.restore_points;
  if (o.clock_start != 0) {
    d->clock =
        std::make_unique<ScaledClockEnv>(Env::Default(), o.clock_start * 1000 * 1000, o.clock_rate);
    so.env = d->clock.get();
    spdlog::warn("daemon: test clock: starts at {} (Unix seconds) and runs {}x", o.clock_start,
                 o.clock_rate);
  }
  Result<std::shared_ptr<const crypto::RootSecret>> root =
      store::LoadRootSecret(o.store_dir, o.key_file, o.passphrase_file);
  if (!root.ok()) return Status::InvalidArgument("root secret: " + root.status().message());
  so.root_secret = std::move(root).value();
  Result<std::unique_ptr<store::Store>> store = store::Store::Open(o.store_dir, so);
  if (!store.ok()) {
    if (store.status().code() == Status::Code::kBusy) return store.status();
    return Status::IOError("cannot open store " + o.store_dir + ": " + store.status().ToString());
  }
  d->store = std::move(store).value();
  if (!d->store->keys().lock_reason().ok()) {
    // Not fatal: unencrypted volumes are served; encrypted ones are refused until restarted
    // with the right secret.
    spdlog::warn("daemon: encrypted volumes are unavailable: {}",
                 d->store->keys().lock_reason().message());
  }
  d->events = std::make_unique<fs::NotifyingStore>(d->store.get());
  Result<std::unique_ptr<access::AccountRegistry>> accounts =
      control::OpenAccountRegistry(d->events.get());
  if (!accounts.ok()) return Status::IOError("accounts: " + accounts.status().ToString());
  d->accounts = std::move(accounts).value();
  Result<std::unique_ptr<access::Sharing>> sharing = access::Sharing::Open(d->events.get());
  if (!sharing.ok()) return Status::IOError("sharing: " + sharing.status().ToString());
  d->sharing = std::move(sharing).value();

  control::CopyServiceOptions co;
  co.snapshot_quota = o.snapshot_quota;
  Result<std::unique_ptr<control::CopyService>> copies =
      control::CopyService::Start(d->events.get(), co);
  if (!copies.ok()) return Status::IOError("snapshot copies: " + copies.status().ToString());
  d->copies = std::move(copies).value();

  if (o.backups) {
    control::BackupServiceOptions bo;
    bo.check_interval_us = o.backup_check_ms * 1000;
    d->backups = std::make_unique<control::BackupService>(d->events.get(), so.env, bo);
  }

  const std::string socket = control::ControlSocketPath(o.store_dir);
  control::Services services;
  services.copies = d->copies.get();
  services.backups = d->backups.get();
  services.accounts = d->accounts.get();
  services.sharing = d->sharing.get();
  services.account_snapshot_quota = o.account_snapshot_quota;
  Result<std::unique_ptr<control::ControlServer>> control =
      control::ControlServer::Start(d->events.get(), socket, services, o.max_connections_per_uid);
  if (!control.ok()) {
    return Status::IOError("cannot serve the control socket " + socket + ": " +
                           control.status().message());
  }
  d->control = std::move(control).value();

  fs::FuseOptions fo;
  fo.mount_options = o.fuse_options;
  fo.fsname = o.store_dir;
  fo.debug = o.debug;
  // Every local user comes in, and each sees what its account owns or is shared with it.
  fo.access = std::make_shared<control::AccountsAccessPolicy>(d->accounts.get(), d->sharing.get());
  Result<std::unique_ptr<fs::FuseServer>> fuse =
      fs::FuseServer::Mount(d->events.get(), o.mountpoint, fo);
  if (!fuse.ok()) {
    return Status::IOError("cannot mount " + o.mountpoint + ": " + fuse.status().message());
  }
  d->fuse = std::move(fuse).value();
  if (!o.metrics_file.empty()) {
    d->metrics = std::make_unique<control::MetricsWriter>(d->store.get(), o.metrics_file,
                                                          o.metrics_interval_ms * 1000);
  }
  return Status::OK();
}

void RedirectToDevNull(bool also_stderr) {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  dup2(fd, STDIN_FILENO);
  dup2(fd, STDOUT_FILENO);
  if (also_stderr) dup2(fd, STDERR_FILENO);
  if (fd > STDERR_FILENO) close(fd);
}

// Everything after the (optional) fork: start, report, serve, stop.
int RunDaemon(const fs::MountOptions& o, StartupReport* report, bool detached) {
  signal(SIGPIPE, SIG_IGN);  // a clonectl that hangs up must not kill the daemon
  Status s = SetupLogging(o, detached);
  auto d = std::make_unique<Daemon>();
  if (s.ok()) s = Start(o, d.get());
  if (!s.ok()) {
    spdlog::error("daemon: {}", s.message());
    d.reset();  // unlock the store before the caller learns of the failure
    std::string msg = "clonefs: " + s.message() + "\n";
    if (detached) {
      report->Send(false, msg);
    } else {
      fputs(msg.c_str(), stderr);
    }
    return 1;
  }
  if (detached) {
    report->Send(true, "");
    RedirectToDevNull(/*also_stderr=*/isatty(STDERR_FILENO) != 0);
  }
  s = d->fuse->Serve();
  spdlog::info("daemon: shutting down");
  d->metrics.reset();
  d->fuse.reset();
  d->control.reset();
  d->backups.reset();
  d->copies.reset();  // copies in flight stop uncommitted (they start again next time)
  d->events.reset();
  d->store.reset();
  spdlog::info("daemon: store {} closed", o.store_dir);
  spdlog::shutdown();
  return s.ok() ? 0 : 1;
}

// The parent's side: waits until the child reports, then exits with its outcome.
int WaitForChild(pid_t child, int fd) {
  std::string data;
  char buf[512];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (!data.empty() && data[0] == '0') return 0;
  if (!data.empty()) {
    fputs(data.c_str() + 1, stderr);
    waitpid(child, nullptr, 0);
    return 1;
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "clonefs: the daemon was killed by signal %d during startup\n",
            WTERMSIG(status));
  } else {
    fprintf(stderr, "clonefs: the daemon exited during startup (status %d)\n",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return 1;
}

int Main(int argc, char** argv) {
  // Resident memory is part of the daemon's budget. By default glibc gives each of the many
  // FUSE worker threads an arena of its own and, once a large buffer has been freed, serves
  // large buffers from those arenas and keeps what is freed there: measured, that held resident
  // memory at several times what was in use. A few shared arenas, returning free memory above
  // 1 MiB, and mmap for large buffers (the fixed threshold that comes with setting
  // M_TRIM_THRESHOLD) keep it close to use; the hot per-thread buffers are allocated once.
  mallopt(M_ARENA_MAX, 4);
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  Result<fs::MountOptions> parsed =
      fs::ParseMountArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    fprintf(stderr, "clonefs: %s\n", parsed.status().message().c_str());
    return 1;
  }
  fs::MountOptions o = std::move(parsed).value();
  if (o.show_help) {
    fputs(fs::MountUsage("clonefs").c_str(), stdout);
    return 0;
  }
  if (o.show_version) {
    printf("%s\n", fs::VersionString().c_str());
    return 0;
  }
  Status s = CheckPaths(o);
  if (!s.ok()) {
    fprintf(stderr, "clonefs: %s\n", s.message().c_str());
    return 1;
  }
  // The daemon leaves the working directory, so relative paths must be resolved now.
  o.store_dir = Absolute(o.store_dir);
  // Secrets: absolute but not resolved, so that a key file that is a symbolic link is still
  // refused as one.
  o.key_file = AbsoluteUnresolved(o.key_file);
  o.passphrase_file = AbsoluteUnresolved(o.passphrase_file);
  o.mountpoint = Absolute(o.mountpoint);
  if (o.foreground) return RunDaemon(o, nullptr, /*detached=*/false);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    fprintf(stderr, "clonefs: pipe: %s\n", std::strerror(errno));
    return 1;
  }
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "clonefs: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (pid > 0) {
    close(fds[1]);
    return WaitForChild(pid, fds[0]);
  }
  close(fds[0]);
  setsid();
  if (chdir("/") != 0) {
    // "/" always exists; nothing sensible to do otherwise.
  }
  StartupReport report(fds[1]);
  return RunDaemon(o, &report, /*detached=*/true);
}

}  // namespace
}  // namespace clonefs

int main(int argc, char** argv) { return clonefs::Main(argc, argv); }
