// Fixed-width integer encoding. Little-endian in records (read back with memcpy on x86);
// big-endian in metadata keys so that RocksDB's bytewise order is numeric order.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace clonefs {

inline void PutLE32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void PutLE64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint32_t GetLE32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t GetLE64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline void AppendBE64(std::string* s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void AppendBE32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline uint64_t GetBE64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline uint32_t GetBE32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace clonefs
