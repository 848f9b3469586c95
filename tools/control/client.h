// ControlClient: one connection to a daemon's control socket (docs/CLI.md). Sends requests and
// reads their responses, one at a time. Not thread-safe; use one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "tools/control/socket_io.h"

namespace clonefs::control {

class ControlClient {
 public:
  // Connects to `socket_path`. Fails (named DaemonUnavailable) when no socket is there or
  // nothing accepts on it; the caller may then open the store directly.
  static Result<std::unique_ptr<ControlClient>> Connect(const std::string& socket_path);

  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends `request` and returns the response object ({"ok":...}) — an error response from the
  // daemon is a successful Call. Fails (named DaemonUnavailable) when the daemon does not answer
  // within `timeout` or closes the connection, and InternalError on a malformed response.
  //
  // With `on_progress`, the request asks for progress ("progress": true) and each progress
  // line the daemon sends before the response is handed to it; `timeout` then bounds the
  // silence between two lines, so a long command may take longer than `timeout` in all.
  using ProgressCallback = std::function<void(uint64_t done, uint64_t total)>;
  //
  // `fds` are passed with the request (SCM_RIGHTS): the stream a snapshot.export writes to or
  // a snapshot.import reads from. The caller keeps its copies.
  Result<nlohmann::json> Call(const nlohmann::json& request, std::chrono::milliseconds timeout,
                              const ProgressCallback& on_progress = nullptr,
                              const std::vector<int>& fds = {});

 private:
  explicit ControlClient(int fd) : fd_(fd), reader_(fd, kMaxResponseBytes) {}

  int fd_;
  LineReader reader_;
};

}  // namespace clonefs::control
