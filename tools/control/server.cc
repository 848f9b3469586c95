#include "tools/control/server.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "tools/control/json_views.h"
#include "tools/control/socket_io.h"

namespace clonefs::control {
namespace {

// A connection idle this long is closed; a response that cannot be sent in this time is dropped.
constexpr auto kIdleTimeout = std::chrono::minutes(5);
constexpr auto kSendTimeout = std::chrono::seconds(30);

// Closes `fd` when it goes out of scope unless released.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// True when something accepts connections at `addr`.
bool SomeoneListens(const sockaddr_un& addr) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// Removes a socket file left behind by a process that died; refuses to touch anything else.
Status RemoveStaleSocket(const std::string& path, const sockaddr_un& addr) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::OK();
    return Status::FromErrno(errno, "stat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status::InvalidArgument(path + " exists and is not a socket");
  }
  if (SomeoneListens(addr)) return Status::Busy("a control server already listens on " + path);
  spdlog::info("control: removing stale socket {}", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "unlink " + path);
  }
  return Status::OK();
}

Caller PeerOf(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Caller{static_cast<uint32_t>(-1), -1};  // unknown: has no account, is refused
  }
  return Caller{cred.uid, cred.pid};
}

// True when the peer has closed the connection, or we have shut it down (the server stops).
bool HungUp(int fd) {
  pollfd p{fd, 0, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

// True when a write to `fd` would not block now.
bool Writable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLOUT) != 0;
}

}  // namespace

std::string ControlSocketPath(const std::string& store_dir) { return store_dir + "/control.sock"; }

bool CallerMayControl(uint32_t uid, uint32_t owner_uid) { return uid == 0 || uid == owner_uid; }

Result<std::unique_ptr<ControlServer>> ControlServer::Start(store::Store* store,
                                                            const std::string& socket_path,
                                                            Services services,
                                                            size_t max_connections_per_uid) {
  sockaddr_un addr;
  CLONEFS_RETURN_IF_ERROR(MakeSocketAddress(socket_path, &addr));
  struct stat dir_st;
  if (::stat(store->info().dir.c_str(), &dir_st) != 0) {
    return Status::FromErrno(errno, "stat " + store->info().dir);
  }
  CLONEFS_RETURN_IF_ERROR(RemoveStaleSocket(socket_path, addr));
  // Every local user must reach the socket inside the store directory: make the directory
  // searchable (not listable). Everything else in it is the owner's only (docs/FORMAT.md).
  const mode_t searchable = dir_st.st_mode | S_IXGRP | S_IXOTH;
  if ((dir_st.st_mode & 0777) != (searchable & 0777) &&
      ::chmod(store->info().dir.c_str(), searchable & 07777) != 0) {
    return Status::FromErrno(errno, "chmod " + store->info().dir);
  }

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno(errno, "socket");
  FdCloser guard(fd);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::FromErrno(errno, "bind " + socket_path);
  }
  // Every local user may connect: each request is checked against the caller's account.
  Status s;
  if (::chmod(socket_path.c_str(), 0666) != 0) s = Status::FromErrno(errno, "chmod " + socket_path);
  if (s.ok() && ::geteuid() == 0 && dir_st.st_uid != 0 &&
      ::chown(socket_path.c_str(), dir_st.st_uid, static_cast<gid_t>(-1)) != 0) {
    s = Status::FromErrno(errno, "chown " + socket_path);
  }
  struct stat sock_st;
  if (s.ok() && ::lstat(socket_path.c_str(), &sock_st) != 0) {
    s = Status::FromErrno(errno, "stat " + socket_path);
  }
  if (s.ok() && ::listen(fd, 64) != 0) s = Status::FromErrno(errno, "listen " + socket_path);
  int pipe_fds[2];
  if (s.ok() && ::pipe2(pipe_fds, O_CLOEXEC) != 0) s = Status::FromErrno(errno, "pipe");
  if (!s.ok()) {
    ::unlink(socket_path.c_str());
    return s;
  }
  guard.release();
  std::unique_ptr<ControlServer> server(
      new ControlServer(store, services, socket_path, fd, pipe_fds[0], pipe_fds[1], sock_st.st_ino,
                        std::clamp<size_t>(max_connections_per_uid, 1, kMaxConnections)));
  server->accept_thread_ = std::thread([srv = server.get()] { srv->AcceptLoop(); });
  spdlog::info("control: listening on {} (store owner uid {}, at most {} connections per uid)",
               socket_path, dir_st.st_uid, server->max_per_uid_);
  return server;
}

ControlServer::ControlServer(store::Store* store, Services services, std::string path,
                             int listen_fd, int wake_read_fd, int wake_write_fd, ino_t inode,
                             size_t max_per_uid)
    : dispatcher_(store, services),
      path_(std::move(path)),
      listen_fd_(listen_fd),
      wake_read_fd_(wake_read_fd),
      wake_write_fd_(wake_write_fd),
      inode_(inode),
      max_per_uid_(max_per_uid) {}

ControlServer::~ControlServer() {
  char byte = 0;
  while (::write(wake_write_fd_, &byte, 1) < 0 && errno == EINTR) {
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  // The accept thread is gone: connections_ is ours now.
  for (auto& conn : connections_) ::shutdown(conn->fd, SHUT_RDWR);
  for (auto& conn : connections_) {
    conn->thread.join();
    ::close(conn->fd);
  }
  connections_.clear();
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0 && st.st_ino == inode_) ::unlink(path_.c_str());
  ::close(listen_fd_);
  ::close(wake_read_fd_);
  ::close(wake_write_fd_);
  spdlog::info("control: stopped listening on {}", path_);
}

void ControlServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("control: poll failed: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;  // shutting down
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
        spdlog::warn("control: accept failed: {}", std::strerror(errno));
      }
      continue;
    }
    ReapFinished();
    AddConnection(fd);
  }
}

void ControlServer::Refuse(int fd, const Caller& caller, const std::string& why) {
  spdlog::warn("control: refusing uid={} pid={}: {}", caller.uid, caller.pid, why);
  nlohmann::json busy = ErrorResponse({std::string(errors::kStoreBusy), why});
  SendAll(fd, JsonToString(busy) + "\n", std::chrono::steady_clock::now() + kSendTimeout)
      .IgnoreError();  // the connection is closed either way
  ::close(fd);
}

void ControlServer::AddConnection(int fd) {
  Caller caller = PeerOf(fd);
  if (connections_.size() >= kMaxConnections) {
    Refuse(
        fd, caller,
        "too many control connections (" + std::to_string(kMaxConnections) + " open); try again");
    return;
  }
  const size_t mine = std::count_if(connections_.begin(), connections_.end(),
                                    [&](const auto& c) { return c->caller.uid == caller.uid; });
  if (mine >= max_per_uid_) {
    Refuse(fd, caller,
           "uid " + std::to_string(caller.uid) + " already holds " + std::to_string(mine) +
               " control connections, the most one user may (max_connections_per_uid=" +
               std::to_string(max_per_uid_) + "); close some and try again");
    return;
  }
  auto conn = std::make_unique<Connection>();
  conn->fd = fd;
  conn->caller = caller;
  Connection* raw = conn.get();
  connections_.push_back(std::move(conn));
  raw->thread = std::thread([this, raw] { Serve(raw); });
}

void ControlServer::ReapFinished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done.load()) {
      (*it)->thread.join();
      ::close((*it)->fd);
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string ControlServer::Answer(const Connection& conn, std::string_view line,
                                  const std::vector<int>& fds) {
  const Caller& caller = conn.caller;
  // Progress lines go out on this thread, before the response, so lines never interleave.
  bool lost = false;  // a progress line could not be sent: the client is gone
  ProgressHooks hooks;
  hooks.report = [&](uint64_t done, uint64_t total) {
    if (lost || !Writable(conn.fd)) return;  // progress is advisory: never wait for a reader
    Status s = SendAll(conn.fd, JsonToString(ProgressMessage(done, total)) + "\n",
                       std::chrono::steady_clock::now() + kSendTimeout);
    lost = !s.ok();
  };
  hooks.cancelled = [&] { return lost || HungUp(conn.fd); };
  hooks.fds = fds;
  std::string command;
  nlohmann::json response = dispatcher_.HandleLine(line, caller, &command, &hooks);
  const bool ok = response.value("ok", false);
  std::string outcome = ok ? "ok" : response["error"].value("Code", "?");
  if (command.empty()) command = "(none)";
  spdlog::info("control: uid={} pid={} command={} -> {}", caller.uid, caller.pid, command, outcome);
  return JsonToString(response);
}

void ControlServer::Serve(Connection* conn) {
  LineReader reader(conn->fd);
  for (;;) {
    auto line = reader.ReadLine(std::chrono::steady_clock::now() + kIdleTimeout);
    std::string reply;
    if (!line.ok()) {
      if (line.status().code() != Status::Code::kInvalidArgument) break;  // closed or idle
      reply = JsonToString(
          ErrorResponse({std::string(errors::kMalformedRequest), line.status().message()}));
    } else if (!line->has_value()) {
      break;  // the client hung up
    } else if (line->value().find_first_not_of(" \t\r") == std::string::npos) {
      continue;  // blank line
    } else {
      std::vector<int> fds = reader.TakeFds();
      reply = Answer(*conn, line->value(), fds);
      for (int fd : fds) ::close(fd);
    }
    Status s = SendAll(conn->fd, reply + "\n", std::chrono::steady_clock::now() + kSendTimeout);
    if (!s.ok() || !line.ok()) break;
  }
  ::shutdown(conn->fd, SHUT_RDWR);
  conn->done.store(true);
}

}  // namespace clonefs::control
