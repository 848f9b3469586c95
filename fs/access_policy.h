// AccessPolicy: who sees what in a mount that several accounts share.
//
// Without a policy a mount is single-owner: every volume and snapshot shows under its store
// name, owned by the daemon's user, and the kernel checks the file modes
// (default_permissions). With one, each request is answered for the account of the Unix user
// who made it (the FUSE request's uid): volumes/ and snapshots/ list only what that account
// owns, under the names it gave them, and anything else is ENOENT on lookup, getattr and
// open alike, so that a name's existence never leaks across accounts. Snapshots another
// account shares with it show read-only under shared/OWNER/snapshots/. The daemon implements
// it over the store's account registry (store/access/); VolumeFs only asks.
//
// Implementations must be thread-safe: every FUSE worker thread calls them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/types.h"

namespace clonefs::fs {

class AccessPolicy {
 public:
  // The owning account of a store name, and the name that account gave it.
  struct Owned {
    std::string account;
    std::string name;
  };

  virtual ~AccessPolicy() = default;
  // The account of Unix user `uid`; nullopt when it has none (it then sees empty directories
  // and may create nothing).
  virtual std::optional<std::string> AccountOfUid(uint32_t uid) const = 0;
  // The store name of the object `account` calls `name`.
  virtual std::string StoreNameOf(const std::string& account, const std::string& name) const = 0;
  // Who owns store name `store_name`, and under which name.
  virtual Owned OwnerOf(const std::string& store_name) const = 0;
  // The uid an account's files show (its first Unix user).
  virtual uint32_t UidOfAccount(const std::string& account) const = 0;
  // Whether another account's snapshot is shared with `account` (its restore attribute names
  // `account`, or "all").
  virtual bool SnapshotSharedWith(const std::string& account,
                                  const store::SnapshotInfo& snapshot) const = 0;
  // The store names of the snapshots other accounts share with `account`.
  virtual std::vector<std::string> SnapshotsSharedWith(const std::string& account) const = 0;
};

}  // namespace clonefs::fs
