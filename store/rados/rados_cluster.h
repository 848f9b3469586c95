// RadosCluster: one librados connection and the pool and namespace a store lives in, shared by
// the RADOS pieces of a store (segments now; later, what else a store keeps in the cluster).
//
// It sets the op timeouts: librados' default is 0, which blocks a call forever while no OSD
// (or monitor) answers, so a store on a sick cluster would hang rather than fail. With them a
// call that gets no answer in time fails with -ETIMEDOUT.
//
// errno becomes Status here (Check), with messages that name the pool, namespace and object,
// so every RADOS piece reports failures the same way. The librados calls return -errno.
// Thread-safe: librados' Rados and IoCtx take concurrent operations; nothing here changes the
// IoCtx (namespace, locator) after Connect.
#pragma once

#include <cstdint>
#include <memory>
#include <rados/librados.hpp>
#include <string>
#include <string_view>

#include "base/result.h"

namespace clonefs::store {

class RadosCluster {
 public:
  struct Options {
    std::string conf_path;            // a ceph.conf: monitors, keyring
    std::string client_id = "admin";  // the cephx user, without "client."
    std::string pool;
    std::string ns;  // the RADOS namespace inside `pool`; "" is the default one
    // How long one librados call may wait for an OSD or monitor before it fails (-ETIMEDOUT).
    // Keep it well above 15 s: after an OSD restarts, a client's first op to it waits until
    // the op counts as laggy (objecter_timeout, 10 s) and the client fetches the new OSD map.
    int op_timeout_seconds = 30;
  };

  // Connects and opens `pool`; NotFound when the pool does not exist.
  static Result<std::shared_ptr<RadosCluster>> Connect(const Options& options);
  ~RadosCluster();
  RadosCluster(const RadosCluster&) = delete;
  RadosCluster& operator=(const RadosCluster&) = delete;

  librados::Rados& rados() { return rados_; }
  librados::IoCtx& io() { return io_; }
  const Options& options() const { return options_; }
  // "rados://POOL/NS", for messages.
  const std::string& description() const { return description_; }

  // OK for r >= 0; otherwise a Status saying `what` failed on `object` and why. -ENOENT is
  // NotFound, -EEXIST AlreadyExists, -ENOSPC/-EDQUOT NoSpace, -EBUSY Busy; the rest IOError
  // with the errno. -ESHUTDOWN (this client was blocklisted, i.e. fenced) and -ETIMEDOUT say so.
  Status Check(int r, std::string_view what, std::string_view object = {}) const;

  // A monitor command (JSON, as `ceph ... --format json` sends it); its JSON answer.
  Result<std::string> MonCommand(const std::string& json);

 private:
  explicit RadosCluster(Options options);

  const Options options_;
  const std::string description_;
  librados::Rados rados_;
  librados::IoCtx io_;  // after rados_: closed before the client shuts down
};

}  // namespace clonefs::store
