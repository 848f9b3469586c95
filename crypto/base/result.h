// Result<T>: a value or the Status explaining why there is none.
#pragma once

#include <cassert>
#include <optional>
#include <utility>

#include "base/status.h"

namespace clonefs {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

#define CLONEFS_CONCAT_INNER(a, b) a##b
#define CLONEFS_CONCAT(a, b) CLONEFS_CONCAT_INNER(a, b)
// `CLONEFS_ASSIGN_OR_RETURN(auto x, Foo());` returns Foo()'s status on failure.
#define CLONEFS_ASSIGN_OR_RETURN(lhs, expr)                                                   \
  auto CLONEFS_CONCAT(_res_, __LINE__) = (expr);                                              \
  if (!CLONEFS_CONCAT(_res_, __LINE__).ok()) return CLONEFS_CONCAT(_res_, __LINE__).status(); \
  lhs = std::move(CLONEFS_CONCAT(_res_, __LINE__)).value()

}  // namespace clonefs
