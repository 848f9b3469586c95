// AlignedBuffer: heap memory aligned for direct I/O (kDirectIoAlignment), owned, movable.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

#include "base/env.h"

namespace clonefs::store {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t capacity) { Reserve(capacity); }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), capacity_(std::exchange(o.capacity_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(capacity_, o.capacity_);
    return *this;
  }

  // Makes room for at least `capacity` bytes (rounded up to the alignment). Contents are lost
  // when it has to grow.
  void Reserve(size_t capacity) {
    if (capacity <= capacity_) return;
    const size_t rounded = RoundUp(capacity);
    void* p = nullptr;
    if (posix_memalign(&p, kDirectIoAlignment, rounded) != 0) throw std::bad_alloc();
    std::free(data_);
    data_ = static_cast<char*>(p);
    capacity_ = rounded;
  }

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t capacity() const { return capacity_; }

  static constexpr size_t RoundUp(size_t n) {
    return (n + kDirectIoAlignment - 1) / kDirectIoAlignment * kDirectIoAlignment;
  }
  static constexpr uint64_t RoundDown(uint64_t n) {
    return n / kDirectIoAlignment * kDirectIoAlignment;
  }

 private:
  char* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace clonefs::store
