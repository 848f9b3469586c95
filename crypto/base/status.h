// Status: the outcome of every fallible call in clonefs.
//
// A Status is either OK or carries a code, an optional errno and a message. Codes map to
// errno in exactly one place (fs/errno_map) and to stable error names (`ErrorName()`) that the
// control CLI prints. Thread-safe to copy; immutable after construction.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace clonefs {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,         // the named thing does not exist (or is not visible to the caller)
    kAlreadyExists,    // a name is taken
    kInvalidArgument,  // bad input from a user: nothing was changed
    kIOError,          // the OS refused; errno() says why
    kNoSpace,          // ENOSPC / EDQUOT: nothing acknowledged was lost
    kCorruption,       // a checksum or structure check failed: never hand out the bytes
    kBusy,             // the store is locked by another process, or the object is in use
    kReadOnly,         // a write to something read-only
    kNotSupported,
    kQuotaExceeded,
    kInvalidState,  // the object exists but is in a state that forbids the operation
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  // `err` is the errno that caused it; ENOSPC/EDQUOT become kNoSpace.
  static Status FromErrno(int err, std::string context);
  static Status IOError(std::string msg, int err = 5 /*EIO*/) {
    return {Code::kIOError, std::move(msg), err};
  }
  static Status NoSpace(std::string msg) { return {Code::kNoSpace, std::move(msg), 28}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status Busy(std::string msg) { return {Code::kBusy, std::move(msg)}; }
  static Status ReadOnly(std::string msg) { return {Code::kReadOnly, std::move(msg)}; }
  static Status NotSupported(std::string msg) { return {Code::kNotSupported, std::move(msg)}; }
  static Status QuotaExceeded(std::string msg) { return {Code::kQuotaExceeded, std::move(msg)}; }
  static Status InvalidState(std::string msg) { return {Code::kInvalidState, std::move(msg)}; }

  // A status with a stable API error name (e.g. "VolumeNotFound") overriding the default one.
  Status WithName(std::string_view name) const {
    Status s = *this;
    s.name_ = std::string(name);
    return s;
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int err() const { return errno_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsNoSpace() const { return code_ == Code::kNoSpace; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }

  // Stable machine-readable name: the override from WithName() or one derived from the code.
  std::string ErrorName() const;
  // "NotFound: volume db1 does not exist"
  std::string ToString() const;

  // Explicitly discard a status where ignoring it is correct (say why at the call site).
  void IgnoreError() const {}

 private:
  Status(Code code, std::string msg, int err = 0)
      : code_(code), errno_(err), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
  std::string name_;
};

// Returns early from the enclosing function when `expr` is not OK.
#define CLONEFS_RETURN_IF_ERROR(expr) \
  do {                                \
    ::clonefs::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

}  // namespace clonefs
