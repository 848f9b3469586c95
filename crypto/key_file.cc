// Uses POSIX calls directly rather than Env: creating a key needs O_EXCL and an explicit mode,
// and reading one needs fstat's mode bits on the very descriptor that is read (no race between
// the check and the read). Env offers neither, and key files are never written by the store.
#include "crypto/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/error_names.h"

namespace clonefs::crypto {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string ParentDir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status WriteAllAndSync(int fd, const SecretBytes& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "write " + path);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "fsync " + path);
  return Status::OK();
}

}  // namespace

Status CreateKeyFile(const std::string& path) {
  CLONEFS_ASSIGN_OR_RETURN(SecretBytes key,
                           SecretBytes::Random(kKeyFileSize, SecretBytes::Memory::kLocked));
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) return Status::AlreadyExists("key file " + path + " already exists");
    return Status::FromErrno(errno, "create key file " + path);
  }
  Status s;
  // The umask can only remove bits, but be explicit: the mode is the whole protection.
  if (::fchmod(fd.get(), 0600) != 0) s = Status::FromErrno(errno, "chmod " + path);
  if (s.ok()) s = WriteAllAndSync(fd.get(), key, path);
  if (s.ok()) {
    Fd dir(::open(ParentDir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
      s = Status::FromErrno(errno, "sync directory of " + path);
    }
  }
  // Never leave a half-written key behind: a later open would refuse it anyway (wrong size),
  // but a retry of CreateKeyFile would then fail with AlreadyExists.
  if (!s.ok()) (void)::unlink(path.c_str());
  return s;
}

Result<SecretBytes> ReadKeyFile(const std::string& path) {
  // O_NONBLOCK so that a FIFO planted at the path cannot hang the open; it is then refused as
  // not a regular file. It changes nothing for regular files.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound("key file " + path + " does not exist");
    return Status::FromErrno(errno, "open key file " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument("key file " + path + " has mode " + mode +
                                   "; it must not be accessible to group or others "
                                   "(chmod 600 " +
                                   path + ")")
        .WithName(errors::kKeyFilePermissionsTooOpen);
  }
  if (st.st_size != static_cast<off_t>(kKeyFileSize)) {
    return Status::InvalidArgument("key file " + path + " must hold exactly 32 bytes");
  }
  SecretBytes key(kKeyFileSize, SecretBytes::Memory::kLocked);
  size_t done = 0;
  while (done < key.size()) {
    ssize_t n = ::read(fd.get(), key.data() + done, key.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "read key file " + path);
    if (n == 0) return Status::InvalidArgument("key file " + path + " shrank while read");
    done += static_cast<size_t>(n);
  }
  return key;
}

}  // namespace clonefs::crypto
