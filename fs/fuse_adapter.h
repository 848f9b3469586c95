// FuseServer: mounts a store's volumes with libfuse and serves them.
//
// The daemon's whole FUSE lifetime in three steps:
//   auto server = FuseServer::Mount(store, "/mnt/x", options);  // session created and mounted
//   server->Serve();   // until `fusermount3 -u`, `umount`, SIGINT, SIGTERM or SIGHUP
//   server.reset();    // unmounts if still mounted; the store is synced
// The store must outlive the server. Serve() runs on the calling thread plus a pool of
// libfuse workers; the other methods are called from one thread. This header keeps FUSE's
// own headers out of its includers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "fs/access_policy.h"
#include "store/store.h"

namespace clonefs::fs {

struct FuseOptions {
  // Options for libfuse and the kernel, one per element ("allow_other", "ro", ...).
  // default_permissions, fsname= and subtype=clonefs are added unless given here. The
  // filesystem's own options that mount_options.h passes along in this list (sparse_blocks)
  // are taken out and applied to the filesystem instead: libfuse would refuse them.
  std::vector<std::string> mount_options;
  std::string fsname;  // the source shown in /proc/mounts; usually the store directory
  bool debug = false;  // libfuse traces every request (at spdlog debug level)
  unsigned max_threads = 16;
  double entry_timeout_s = 1.0;  // how long the kernel may cache names and attributes
  // Null: a single-owner mount, modes checked by the kernel (default_permissions). Otherwise
  // every local user comes in (allow_other, where FUSE permits it) and sees what its account
  // owns (access_policy.h); the mount checks, the kernel does not.
  std::shared_ptr<const AccessPolicy> access;
};

class FuseServer {
 public:
  // Creates the FUSE session, installs the SIGINT/SIGTERM/SIGHUP handlers that end Serve(),
  // and mounts `mountpoint`. Registers the store's change listener (so call it once per
  // store) and, when `store` is a NotifyingStore (fs/notifying_store.h), its snapshot
  // listener too. Errors carry libfuse's own message where it gave one.
  static Result<std::unique_ptr<FuseServer>> Mount(store::Store* store,
                                                   const std::string& mountpoint,
                                                   const FuseOptions& options);
  // Unmounts (when still mounted), syncs the store and tears the session down.
  ~FuseServer();
  FuseServer(const FuseServer&) = delete;
  FuseServer& operator=(const FuseServer&) = delete;

  // Serves requests until the filesystem is unmounted or a handled signal arrives.
  Status Serve();

 private:
  struct Impl;
  explicit FuseServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace clonefs::fs
