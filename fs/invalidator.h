// Invalidator: tells the kernel to drop cached names and attributes after a volume changes
// outside the mount (for example through the control socket).
//
// The kernel notifications are sent from a worker thread of their own: sending one from inside
// a FUSE request handler can deadlock, because the kernel may wait on a lock that the request
// being handled holds. Thread-safe; requests queued before Start() or after Stop() are dropped.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

struct fuse_session;

namespace clonefs::fs {

class Invalidator {
 public:
  Invalidator() = default;
  ~Invalidator();  // stops the worker
  Invalidator(const Invalidator&) = delete;
  Invalidator& operator=(const Invalidator&) = delete;

  // Starts sending notifications to `session`, which must stay mounted until Stop().
  void Start(fuse_session* session);
  // Drops what is still queued and joins the worker. Idempotent.
  void Stop();

  // Drops the cached attributes and data of `ino`.
  void InvalidateInode(uint64_t ino);
  // Drops the cached lookup of `name` in directory `parent` (positive or negative).
  void InvalidateEntry(uint64_t parent, std::string name);

 private:
  struct Request {
    uint64_t ino = 0;  // the inode, or the parent directory of `name`
    std::string name;  // empty: an inode invalidation
  };

  void Enqueue(Request r);
  void Run();

  std::mutex mu_;  // guards the fields below; never held while notifying the kernel
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool running_ = false;
  fuse_session* session_ = nullptr;
  std::thread worker_;
};

}  // namespace clonefs::fs
