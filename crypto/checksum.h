// CRC-32C (Castagnoli) for page-record integrity. Uses the SSE4.2 instruction when the CPU has
// it and a table otherwise. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace clonefs::crypto {

// Extends `crc` (0 to start) over `data`.
uint32_t Crc32c(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(std::string_view data) { return Crc32c(0, data.data(), data.size()); }

namespace internal {
// The byte-at-a-time table version, whatever the CPU: the reference the fast path is tested
// against.
uint32_t Crc32cPortable(uint32_t crc, const void* data, size_t n);
}  // namespace internal

}  // namespace clonefs::crypto
