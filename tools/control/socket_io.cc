#include "tools/control/socket_io.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace clonefs::control {
namespace {

// Waits until `fd` is ready for `events`. IOError(ETIMEDOUT) when the deadline passes.
Status WaitFor(int fd, short events, Deadline deadline) {
  for (;;) {
    int timeout_ms = -1;
    if (deadline.has_value()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status::IOError("timed out", ETIMEDOUT);
      timeout_ms = static_cast<int>(std::min<int64_t>(left.count() + 1, 1 << 30));
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) return Status::OK();
    if (n < 0 && errno != EINTR) return Status::FromErrno(errno, "poll");
  }
}

}  // namespace

Status MakeSocketAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) {
    return Status::InvalidArgument("socket path '" + path + "' must be 1 to " +
                                   std::to_string(sizeof(addr->sun_path) - 1) + " bytes long");
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  return Status::OK();
}

Status SendAll(int fd, std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    CLONEFS_RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline));
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Status::FromErrno(errno, "send");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status SendAllWithFds(int fd, std::string_view data, const std::vector<int>& fds,
                      Deadline deadline) {
  if (fds.empty() || data.empty()) return SendAll(fd, data, deadline);
  if (fds.size() > kMaxPassedFds) return Status::InvalidArgument("too many descriptors to pass");
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  for (;;) {
    CLONEFS_RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline));
    iovec iov{const_cast<char*>(data.data()), data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Status::FromErrno(errno, "sendmsg");
    }
    // The descriptors went with the first byte; the rest is plain data.
    return SendAll(fd, data.substr(static_cast<size_t>(n)), deadline);
  }
}

LineReader::~LineReader() {
  for (int fd : fds_) ::close(fd);
}

Result<std::optional<std::string>> LineReader::ReadLine(Deadline deadline) {
  for (;;) {
    size_t nl = buffer_.find('\n', scanned_);
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      scanned_ = 0;
      return std::optional<std::string>(std::move(line));
    }
    scanned_ = buffer_.size();
    if (buffer_.size() > max_line_) {
      return Status::InvalidArgument("message longer than " + std::to_string(max_line_) + " bytes");
    }
    if (eof_) {
      if (buffer_.empty()) return std::optional<std::string>();
      std::string line = std::move(buffer_);
      buffer_.clear();
      return std::optional<std::string>(std::move(line));
    }
    CLONEFS_RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline));
    char chunk[16384];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
    iovec iov{chunk, sizeof(chunk)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Status::FromErrno(errno, "recv");
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int passed;
        std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds_.push_back(passed);
      }
    }
    if (n == 0) eof_ = true;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace clonefs::control
