#include "tools/control/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tools/control/commands.h"
#include "tools/control/errors.h"
#include "tools/control/json_views.h"

namespace clonefs::control {
namespace {

Status Unavailable(std::string message) {
  return NamedError(errors::kDaemonUnavailable, Status::Code::kIOError, std::move(message));
}

bool IsResponse(const nlohmann::json& r) {
  if (!r.is_object() || !r.contains("ok") || !r["ok"].is_boolean()) return false;
  return r["ok"].get<bool>() ? r.contains("result") : r.contains("error");
}

}  // namespace

Result<std::unique_ptr<ControlClient>> ControlClient::Connect(const std::string& socket_path) {
  sockaddr_un addr;
  CLONEFS_RETURN_IF_ERROR(MakeSocketAddress(socket_path, &addr));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    ::close(fd);
    return Unavailable("cannot connect to " + socket_path + ": " + std::strerror(err));
  }
  return std::unique_ptr<ControlClient>(new ControlClient(fd));
}

ControlClient::~ControlClient() { ::close(fd_); }

Result<nlohmann::json> ControlClient::Call(const nlohmann::json& request,
                                           std::chrono::milliseconds timeout,
                                           const ProgressCallback& on_progress,
                                           const std::vector<int>& fds) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json sent = request;
  if (on_progress && sent.is_object()) sent["progress"] = true;
  Status s = SendAllWithFds(fd_, JsonToString(sent) + "\n", fds, deadline);
  if (!s.ok()) {
    // A daemon that refuses the connection (StoreBusy) answers before it has read anything
    // and closes: its answer may be waiting even though the request could not be sent.
    auto refusal =
        reader_.ReadLine(std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
    if (refusal.ok() && refusal->has_value()) {
      nlohmann::json response =
          nlohmann::json::parse(refusal->value(), nullptr, /*allow_exceptions=*/false);
      if (!response.is_discarded() && IsResponse(response)) return response;
    }
    return Unavailable("sending the request to the daemon failed: " + s.message());
  }
  for (;;) {
    auto line = reader_.ReadLine(deadline);
    if (!line.ok()) {
      if (line.status().err() == ETIMEDOUT) {
        return Unavailable("the daemon did not answer within " +
                           std::to_string(timeout.count() / 1000) + " s");
      }
      return Unavailable("reading the daemon's response failed: " + line.status().message());
    }
    if (!line->has_value()) {
      return Unavailable("the daemon closed the connection without answering");
    }
    nlohmann::json response =
        nlohmann::json::parse(line->value(), nullptr, /*allow_exceptions=*/false);
    uint64_t done = 0, total = 0;
    if (ParseProgressMessage(response, &done, &total)) {
      if (on_progress) on_progress(done, total);
      deadline = std::chrono::steady_clock::now() + timeout;  // the daemon is alive and working
      continue;
    }
    if (response.is_discarded() || !IsResponse(response)) {
      return NamedError(errors::kInternalError, Status::Code::kIOError,
                        "malformed response from the daemon");
    }
    return response;
  }
}

}  // namespace clonefs::control
