// Key files: the simplest root secret for a key store, 32 random bytes in a file only its owner
// may read (like an ssh private key). Whoever can read the file can unlock every key in the
// store, so keep it off the store's disk (or at least out of its backups).
//
// Pure functions over the filesystem; thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"
#include "crypto/secret.h"

namespace clonefs::crypto {

inline constexpr size_t kKeyFileSize = 32;

// Creates `path` with kKeyFileSize random bytes and mode 0600, durably (file and directory
// synced). Never overwrites: AlreadyExists when `path` exists.
Status CreateKeyFile(const std::string& path);

// Reads a key file into locked memory. Refuses (InvalidArgument, name
// "KeyFilePermissionsTooOpen") a file that its group or others may read, write or execute,
// and (InvalidArgument) anything that is not a regular file of exactly kKeyFileSize bytes.
// NotFound when it does not exist. Symbolic links are not followed.
Result<SecretBytes> ReadKeyFile(const std::string& path);

}  // namespace clonefs::crypto
