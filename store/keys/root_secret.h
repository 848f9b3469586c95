// Where a store's key store gets its root secret (docs/ENCRYPTION.md, "Root secret").
//
// The default is a key file beside the store directory, "<store dir>.key", created by
// `clonectl init`: outside the directory, so that copying or backing up the store does not
// copy the key with it. A passphrase file (its first line is the passphrase) is the
// alternative. Used by clonectl (--key-file, --passphrase-file) and the daemon
// (-o key_file=, -o passphrase_file=). Pure functions over the filesystem; thread-safe.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "crypto/key_store.h"

namespace clonefs::store {

// "<store_dir>.key" (trailing slashes ignored).
std::string DefaultKeyFilePath(const std::string& store_dir);

// The root secret to open the store with: the passphrase in `passphrase_file` when that is
// given, else the key file `key_file` (empty: the default path). A key file is only named
// here, not read: a missing or too-open one leaves the key store locked, with the reason in
// its lock_reason(). A passphrase file must be a regular file readable by its owner only
// (KeyFilePermissionsTooOpen otherwise) and hold a non-empty first line.
Result<std::shared_ptr<const crypto::RootSecret>> LoadRootSecret(
    const std::string& store_dir, const std::string& key_file, const std::string& passphrase_file);

}  // namespace clonefs::store
