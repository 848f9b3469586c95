// ControlServer: serves the control protocol (docs/CLI.md) on a Unix socket for a running
// daemon, executing each request with the Dispatcher against the daemon's open Store.
//
// One accept thread; each connection is served on its own thread (at most kMaxConnections at
// once, and at most max_connections_per_uid of them for one uid, so that one user cannot
// starve the others: past either, StoreBusy). The socket is created with mode 0666 and, when
// the daemon runs as root, owned by the store directory's owner: every local user can connect,
// and is then checked. Each caller is identified with SO_PEERCRED and mapped to its account by
// the Dispatcher (identity.h): a uid with no account can do nothing. Every command is logged at
// info level with the caller's uid and pid (never its arguments).
//
// Long commands (a --full-copy) send progress lines before their response when the request
// asked ("progress": true), skipping an update rather than waiting when the client is not
// reading. They are cancelled (and undo their work) when the client closes the connection or
// the server stops.
//
// Thread-safety: Start() and the destructor are called from one thread; serving is internal.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "store/store.h"
#include "tools/control/commands.h"

namespace clonefs::control {

// store_dir + "/control.sock"
std::string ControlSocketPath(const std::string& store_dir);

// True when a caller with `uid` may open a store owned by `owner_uid` directly (clonectl with no
// daemon): root or the owner.
bool CallerMayControl(uint32_t uid, uint32_t owner_uid);

class ControlServer {
 public:
  static constexpr size_t kMaxConnections = 64;
  static constexpr size_t kDefaultMaxConnectionsPerUid = 16;

  // Listens on `socket_path`, replacing a stale socket file left by a dead process. Fails with
  // Busy when another server is answering there, InvalidArgument when the path is not a socket
  // or too long, IOError when the OS refuses.
  // REQUIRES: `store` is open and outlives the server.
  // `max_connections_per_uid` is capped at kMaxConnections.
  static Result<std::unique_ptr<ControlServer>> Start(
      store::Store* store, const std::string& socket_path, Services services = {},
      size_t max_connections_per_uid = kDefaultMaxConnectionsPerUid);

  // Stops accepting, ends every connection (a request being executed finishes first; a long
  // one is cancelled), joins the threads, closes and unlinks the socket.
  ~ControlServer();

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  struct Connection {
    int fd = -1;
    Caller caller;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  ControlServer(store::Store* store, Services services, std::string path, int listen_fd,
                int wake_read_fd, int wake_write_fd, ino_t inode, size_t max_per_uid);

  void AcceptLoop();
  void AddConnection(int fd);
  // Answers StoreBusy with `why` and closes `fd`.
  void Refuse(int fd, const Caller& caller, const std::string& why);
  void Serve(Connection* conn);
  // `fds`: the descriptors passed with the request (closed by the caller afterwards).
  std::string Answer(const Connection& conn, std::string_view line, const std::vector<int>& fds);
  void ReapFinished();  // joins and closes connections whose thread has ended

  const Dispatcher dispatcher_;
  const std::string path_;
  const int listen_fd_;
  const int wake_read_fd_;  // the destructor writes a byte to wake the accept thread
  const int wake_write_fd_;
  const ino_t inode_;         // of our socket file: only that file is unlinked at the end
  const size_t max_per_uid_;  // connections one uid may hold
  std::thread accept_thread_;

  // Touched only by the accept thread, then by the destructor after joining it.
  std::list<std::unique_ptr<Connection>> connections_;
};

}  // namespace clonefs::control
