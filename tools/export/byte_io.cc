#include "tools/export/byte_io.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error_names.h"

namespace clonefs::exportfmt {

Status ReadFully(ByteSource* in, char* buf, size_t n, size_t* got) {
  *got = 0;
  while (*got < n) {
    CLONEFS_ASSIGN_OR_RETURN(size_t r, in->Read(buf + *got, n - *got));
    if (r == 0) break;
    *got += r;
  }
  return Status::OK();
}

namespace {

// Waits until `fd` is ready for `events`, looking at `stop` every 200 ms.
Status WaitReady(int fd, short events, const StopFn& stop) {
  if (!stop) return Status::OK();
  for (;;) {
    if (stop()) {
      return errors::Named(errors::kOperationCancelled,
                           Status::IOError("the export stream was stopped"));
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, 200);
    if (n > 0) return Status::OK();
    if (n < 0 && errno != EINTR) return Status::FromErrno(errno, "poll export stream");
  }
}

}  // namespace

Status FdSink::Write(std::string_view data) {
  while (!data.empty()) {
    CLONEFS_RETURN_IF_ERROR(WaitReady(fd_, POLLOUT, stop_));
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "write export stream");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Result<size_t> FdSource::Read(char* buf, size_t n) {
  while (true) {
    CLONEFS_RETURN_IF_ERROR(WaitReady(fd_, POLLIN, stop_));
    ssize_t r = ::read(fd_, buf, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::FromErrno(errno, "read export stream");
    return static_cast<size_t>(r);
  }
}

Result<size_t> StringSource::Read(char* buf, size_t n) {
  n = std::min(n, in_.size());
  std::memcpy(buf, in_.data(), n);
  in_.remove_prefix(n);
  return n;
}

}  // namespace clonefs::exportfmt
