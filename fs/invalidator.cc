#include "fs/invalidator.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "fs/fuse_api.h"

namespace clonefs::fs {

Invalidator::~Invalidator() { Stop(); }

void Invalidator::Start(fuse_session* session) {
  std::lock_guard lock(mu_);
  if (running_) return;
  session_ = session;
  running_ = true;
  worker_ = std::thread([this] { Run(); });
}

void Invalidator::Stop() {
  {
    std::lock_guard lock(mu_);
    running_ = false;
    queue_.clear();
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Invalidator::InvalidateInode(uint64_t ino) { Enqueue(Request{ino, {}}); }

void Invalidator::InvalidateEntry(uint64_t parent, std::string name) {
  Enqueue(Request{parent, std::move(name)});
}

void Invalidator::Enqueue(Request r) {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    queue_.push_back(std::move(r));
  }
  cv_.notify_one();
}

void Invalidator::Run() {
  while (true) {
    Request r;
    fuse_session* se = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !running_ || !queue_.empty(); });
      if (!running_) return;
      r = std::move(queue_.front());
      queue_.pop_front();
      se = session_;
    }
    int rc = r.name.empty()
                 ? fuse_lowlevel_notify_inval_inode(se, r.ino, 0, 0)
                 : fuse_lowlevel_notify_inval_entry(se, r.ino, r.name.c_str(), r.name.size());
    // ENOENT only means the kernel had nothing cached for it.
    if (rc != 0 && rc != -ENOENT) {
      spdlog::warn("mount: kernel cache invalidation of inode {} {} failed: {}", r.ino, r.name,
                   std::strerror(-rc));
    }
  }
}

}  // namespace clonefs::fs
