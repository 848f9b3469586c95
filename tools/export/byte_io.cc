#include "tools/export/byte_io.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

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

Status FdSink::Write(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "write export stream");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Result<size_t> FdSource::Read(char* buf, size_t n) {
  while (true) {
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
