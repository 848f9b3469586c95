// Byte-level helpers for the control protocol: newline-delimited JSON over a Unix stream
// socket. Used by the server and the client; not thread-safe per object.
#pragma once

#include <sys/un.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace clonefs::control {

// The longest request line the daemon accepts (excluding the newline): what one client may make
// it buffer.
constexpr size_t kMaxMessageBytes = 1 << 20;
// The longest response line a client accepts: a list of 10,000 snapshots is about 8 MiB, and
// the daemon is trusted not to send lines without end.
constexpr size_t kMaxResponseBytes = 256u << 20;

// A point in time after which I/O gives up; nullopt waits forever.
using Deadline = std::optional<std::chrono::steady_clock::time_point>;

// Fills `addr` for `path`; InvalidArgument when the path does not fit in sun_path.
Status MakeSocketAddress(const std::string& path, sockaddr_un* addr);

// Writes all of `data` (never raises SIGPIPE). A missed deadline is IOError(ETIMEDOUT).
Status SendAll(int fd, std::string_view data, Deadline deadline);
// The same, passing the descriptors `fds` (SCM_RIGHTS, at most kMaxPassedFds) with the first
// bytes, so that they arrive with the message they belong to.
Status SendAllWithFds(int fd, std::string_view data, const std::vector<int>& fds,
                      Deadline deadline);
inline constexpr size_t kMaxPassedFds = 4;

// Splits a stream into lines, and collects descriptors passed with them (SCM_RIGHTS).
class LineReader {
 public:
  // Lines longer than `max_line` bytes are refused.
  explicit LineReader(int fd, size_t max_line = kMaxMessageBytes) : fd_(fd), max_line_(max_line) {}
  ~LineReader();  // closes descriptors nobody took
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its newline; nullopt at end of stream (a trailing partial line is
  // returned as a line). Fails with IOError on a socket error or a missed deadline
  // (errno ETIMEDOUT), and InvalidArgument for a line longer than max_line.
  Result<std::optional<std::string>> ReadLine(Deadline deadline);
  // The descriptors received so far (close-on-exec), now the caller's to close. A client
  // sends them with its request, so after ReadLine they are that request's.
  std::vector<int> TakeFds() { return std::exchange(fds_, {}); }

 private:
  int fd_;
  size_t max_line_;
  std::vector<int> fds_;
  std::string buffer_;
  size_t scanned_ = 0;  // bytes of buffer_ known to hold no newline: a long line is scanned once
  bool eof_ = false;
};

}  // namespace clonefs::control
