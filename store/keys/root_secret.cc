#include "store/keys/root_secret.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/error_names.h"
#include "crypto/secret.h"

namespace clonefs::store {
namespace {

constexpr size_t kMaxPassphrase = 4096;

// Reads the first line of `path` into locked memory, wiping every other copy.
Result<crypto::SecretBytes> ReadPassphraseFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "passphrase file " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("passphrase file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return errors::Named(errors::kKeyFilePermissionsTooOpen,
                         Status::InvalidArgument("passphrase file " + path +
                                                 " may be read by others: run chmod 600 " + path));
  }
  crypto::SecretBytes buf(kMaxPassphrase, crypto::SecretBytes::Memory::kLocked);
  size_t n = 0;
  while (n < buf.size()) {
    ssize_t r = ::read(fd, buf.data() + n, buf.size() - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "read " + path);
    }
    if (r == 0) break;
    n += static_cast<size_t>(r);
  }
  ::close(fd);
  size_t len = 0;
  while (len < n && buf.data()[len] != '\n') ++len;
  if (len > 0 && buf.data()[len - 1] == '\r') --len;
  if (len == 0) return Status::InvalidArgument("passphrase file " + path + " is empty");
  return crypto::SecretBytes::CopyOf(buf.view().substr(0, len),
                                     crypto::SecretBytes::Memory::kLocked);
}

}  // namespace

std::string DefaultKeyFilePath(const std::string& store_dir) {
  std::string dir = store_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + ".key";
}

Result<std::shared_ptr<const crypto::RootSecret>> LoadRootSecret(
    const std::string& store_dir, const std::string& key_file, const std::string& passphrase_file) {
  if (!passphrase_file.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(crypto::SecretBytes pass, ReadPassphraseFile(passphrase_file));
    return std::make_shared<const crypto::RootSecret>(
        crypto::RootSecret::Passphrase(std::move(pass)));
  }
  return std::make_shared<const crypto::RootSecret>(
      crypto::RootSecret::KeyFile(key_file.empty() ? DefaultKeyFilePath(store_dir) : key_file));
}

}  // namespace clonefs::store
