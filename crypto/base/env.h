// Env: every file, directory, lock and clock operation the store performs goes through here,
// so that tests can substitute a fault-injecting implementation (tests/testing/fault_env.h).
//
// errno becomes Status in exactly one place: the POSIX implementation. All methods are
// thread-safe; a File may be read and written from many threads at once (pread/pwrite).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace clonefs {

// Direct-I/O files (Env::OpenDirectFile) need offsets, lengths and buffer addresses that are
// multiples of this.
inline constexpr size_t kDirectIoAlignment = 4096;

// A random-access file.
class File {
 public:
  virtual ~File() = default;
  // Reads exactly `n` bytes at `offset` into `buf`; a short file is Corruption("short read").
  virtual Status ReadAt(uint64_t offset, size_t n, char* buf) const = 0;
  // Writes all of `data` at `offset`. ENOSPC is Status::NoSpace.
  virtual Status WriteAt(uint64_t offset, std::string_view data) = 0;
  // fdatasync: everything written so far survives a machine crash once this returns OK.
  virtual Status Sync() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() const = 0;
  virtual const std::string& path() const = 0;
};

// An exclusive advisory lock held until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;
  // The process-wide POSIX Env. Never null, never destroyed.
  static Env* Default();

  // Opens `path` read-write, creating it (mode 0600) when `create` is set.
  virtual Result<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) = 0;
  // Like OpenFile, but reads and writes bypass the kernel page cache (O_DIRECT): every offset,
  // length and buffer address must be a multiple of kDirectIoAlignment. On a filesystem without
  // direct I/O (tmpfs) the file is opened normally; aligned calls work the same either way, so
  // an Env without direct I/O may keep this default.
  virtual Result<std::unique_ptr<File>> OpenDirectFile(const std::string& path, bool create) {
    return OpenFile(path, create);
  }
  virtual Status DeleteFile(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, without "." and "..".
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  virtual Status CreateDir(const std::string& dir) = 0;  // OK if it exists already
  // fsync a directory so that creates, renames and deletes in it are durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Takes an exclusive lock on `path` and writes our pid into it. When another process holds
  // it, returns Busy("store is in use by pid N").
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // Bytes available to an unprivileged writer on the filesystem holding `path`.
  virtual Result<uint64_t> FreeSpace(const std::string& path) = 0;
  // Wall-clock time in microseconds since the Unix epoch.
  virtual uint64_t NowMicros() = 0;
  // Time for timers, in microseconds from an arbitrary start: never goes back, never jumps
  // when the wall clock is set.
  virtual uint64_t MonotonicMicros() = 0;
  // Waits on `cv` (with `lock` held, as std::condition_variable::wait_for does) until `wake()`
  // (called with `lock` held) is true or `micros` of MonotonicMicros() time have passed.
  virtual void WaitFor(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                       uint64_t micros, const std::function<bool()>& wake) = 0;
};

// An Env that hands every call to another one; a subclass overrides only what it changes
// (fault injection, a test clock).
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) override {
    return target_->OpenFile(path, create);
  }
  Result<std::unique_ptr<File>> OpenDirectFile(const std::string& path, bool create) override {
    return target_->OpenDirectFile(path, create);
  }
  Status DeleteFile(const std::string& path) override { return target_->DeleteFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return target_->RenameFile(from, to);
  }
  bool FileExists(const std::string& path) override { return target_->FileExists(path); }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return target_->ListDir(dir);
  }
  Status CreateDir(const std::string& dir) override { return target_->CreateDir(dir); }
  Status SyncDir(const std::string& dir) override { return target_->SyncDir(dir); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return target_->LockFile(path);
  }
  Result<uint64_t> FreeSpace(const std::string& path) override { return target_->FreeSpace(path); }
  uint64_t NowMicros() override { return target_->NowMicros(); }
  uint64_t MonotonicMicros() override { return target_->MonotonicMicros(); }
  void WaitFor(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, uint64_t micros,
               const std::function<bool()>& wake) override {
    target_->WaitFor(cv, lock, micros, wake);
  }

 private:
  Env* const target_;
};

// Reads a whole small file.
Result<std::string> ReadFileToString(Env* env, const std::string& path);
// Replaces `path` with `data` atomically and durably (temp file, sync, rename, sync dir).
Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data);

}  // namespace clonefs
