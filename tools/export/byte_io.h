// Where an export stream goes and comes from: a file, a pipe, a socket, or memory in tests.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"

namespace clonefs::exportfmt {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(std::string_view data) = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `n` bytes into `buf`; 0 only at the end of the stream.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

// Reads exactly `n` bytes; `*got` says how many came before the end (Corruption-free: the
// caller decides what a short read means).
Status ReadFully(ByteSource* in, char* buf, size_t n, size_t* got);

// True when a transfer should stop (the other side of a copy was cancelled, say).
using StopFn = std::function<bool()>;

// A file descriptor (not closed here). Write retries short writes and EINTR. With `stop`, a
// transfer blocked on a pipe or socket looks at it every 200 ms and gives up
// (OperationCancelled) when it says so, rather than wait for a peer that may never come.
class FdSink final : public ByteSink {
 public:
  explicit FdSink(int fd, StopFn stop = nullptr) : fd_(fd), stop_(std::move(stop)) {}
  Status Write(std::string_view data) override;

 private:
  int fd_;
  StopFn stop_;
};
class FdSource final : public ByteSource {
 public:
  explicit FdSource(int fd, StopFn stop = nullptr) : fd_(fd), stop_(std::move(stop)) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  int fd_;
  StopFn stop_;
};

class StringSink final : public ByteSink {
 public:
  Status Write(std::string_view data) override {
    out.append(data);
    return Status::OK();
  }
  std::string out;
};
class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view in) : in_(in) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  std::string_view in_;
};

}  // namespace clonefs::exportfmt
