#include "tools/control/runner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "store/keys/root_secret.h"
#include "store/store.h"
#include "tools/control/client.h"
#include "tools/control/errors.h"
#include "tools/control/server.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

// Set by SIGINT/SIGTERM/SIGHUP while a long command runs in this process: it then stops and
// undoes its work (a partial volume or snapshot) instead of leaving it behind.
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void OnInterrupt(int) { g_interrupted = 1; }

// Routes the termination signals to OnInterrupt while it lives.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = OnInterrupt;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~InterruptGuard() {
    for (size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> old_{};
};

json NotAStore(const std::string& dir) {
  return Failure(errors::kStoreNotFound,
                 dir + " is not a clonefs store (run: clonectl --store " + dir + " init)");
}

// Runs the request in this process against the store opened directly.
json RunDirect(const RunOptions& o, const json& request) {
  Env* env = Env::Default();
  if (!store::Store::IsStore(env, o.store_dir)) {
    if (::access(o.store_dir.c_str(), R_OK | X_OK) != 0 && errno == EACCES) {
      return Failure(errors::kAccessDenied,
                     "permission denied on " + o.store_dir +
                         ": no clonefs daemon serves it, and only root or the store's owner may "
                         "open it directly");
    }
    return NotAStore(o.store_dir);
  }
  struct stat st;
  if (::stat(o.store_dir.c_str(), &st) == 0 && !CallerMayControl(::geteuid(), st.st_uid)) {
    return Failure(errors::kAccessDenied,
                   "no clonefs daemon serves " + o.store_dir +
                       ", and only root or the owner of the store (uid " +
                       std::to_string(st.st_uid) +
                       ") may open it directly; other users need the daemon running (clonefs " +
                       o.store_dir + " MOUNTPOINT)");
  }
  store::StoreOptions options;
  options.background_threads = false;
  options.cache_bytes = 64ull << 20;
  auto root = store::LoadRootSecret(o.store_dir, o.key_file, o.passphrase_file);
  if (!root.ok()) return ErrorResponse(ToApiError(root.status(), "store"));
  options.root_secret = *root;
  auto opened = store::Store::Open(o.store_dir, options);
  if (!opened.ok()) return ErrorResponse(ToApiError(opened.status(), "store"));
  Dispatcher dispatcher(opened->get());
  ProgressHooks hooks;
  hooks.report = [&o](uint64_t done, uint64_t total) {
    if (o.on_progress) o.on_progress(done, total);
  };
  hooks.cancelled = [] { return g_interrupted != 0; };
  hooks.fds = o.fds;
  std::optional<InterruptGuard> interrupts;
  if (o.interruptible) interrupts.emplace();
  json with_progress = request;
  if (o.on_progress) with_progress["progress"] = true;
  return dispatcher.Handle(with_progress, Caller{::geteuid(), ::getpid()}, nullptr, &hooks);
}

}  // namespace

json Failure(std::string_view code, std::string message) {
  return ErrorResponse({std::string(code), std::move(message)});
}

std::string NormalizeStoreDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(dir, ec);
  std::string out = ec ? dir : abs.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string KeyFilePath(const std::string& flag, const std::string& store_dir) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("CLONEFS_KEY_FILE");
  if (env != nullptr && *env != '\0') return env;
  return store::DefaultKeyFilePath(store_dir);
}

// Progress is always asked of the daemon: a progress line also shows that a long command is
// still at work, so the timeout only bounds the silence between lines.
json RunRequest(const RunOptions& o, const json& request) {
  auto client = ControlClient::Connect(ControlSocketPath(o.store_dir));
  if (!client.ok()) return RunDirect(o, request);
  auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_seconds * 1000));
  auto response = (*client)->Call(
      request, timeout,
      [&o](uint64_t done, uint64_t total) {
        if (o.on_progress) o.on_progress(done, total);
      },
      o.fds);
  if (!response.ok()) return ErrorResponse(ToApiError(response.status(), "store"));
  return std::move(response).value();
}

}  // namespace clonefs::control
