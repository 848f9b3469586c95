// Copies into memory that the CPU will not read again soon, such as the log's write buffer,
// whose bytes go to disk by DMA. Ordinary stores first fetch every destination cache line
// (which a buffer cycled through tens of MiB never has cached) and then evict useful data for
// it; non-temporal stores write around the cache. x86-64 only; elsewhere plain memcpy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace clonefs::store {

// Below this a plain copy is as fast, and the bytes are likelier to be read back.
constexpr size_t kStreamCopyMin = 2048;

inline void StreamCopy(char* dst, const char* src, size_t n) {
#if defined(__x86_64__)
  if (n < kStreamCopyMin) {
    std::memcpy(dst, src, n);
    return;
  }
  const size_t head = (16 - reinterpret_cast<uintptr_t>(dst) % 16) % 16;
  std::memcpy(dst, src, head);
  dst += head;
  src += head;
  n -= head;
  for (; n >= 64; n -= 64, dst += 64, src += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 32));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 48), d);
  }
  std::memcpy(dst, src, n);
#else
  std::memcpy(dst, src, n);
#endif
}

// Orders the non-temporal stores before everything after it (other threads, DMA); call once
// after a series of StreamCopy and before the bytes are published.
inline void StreamCopyFence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

}  // namespace clonefs::store
