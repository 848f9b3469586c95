#include "crypto/checksum.h"

#include <array>
#include <cstring>

namespace clonefs::crypto {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected Castagnoli polynomial

std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}

uint32_t Crc32cTable(uint32_t crc, const unsigned char* p, size_t n) {
  static const std::array<uint32_t, 256> table = MakeTable();
  while (n--) crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// The CRC instruction has a latency of three cycles but issues once per cycle, so one stream
// of it runs at a third of the speed the CPU can give. Long buffers are therefore cut into three
// equal lanes that are checksummed side by side and then joined: a lane's CRC is moved past the
// following lanes' bytes by a precomputed "append N zero bytes" operator (CRC is linear over
// GF(2)), the technique of Intel's crc_pcl and Mark Adler's crc32c.c.

// A linear map on 32-bit CRC registers, as the images of the 32 unit vectors.
using Gf2Matrix = std::array<uint32_t, 32>;

uint32_t Apply(const Gf2Matrix& m, uint32_t v) {
  uint32_t sum = 0;
  for (int i = 0; v != 0; ++i, v >>= 1) {
    if (v & 1) sum ^= m[i];
  }
  return sum;
}

Gf2Matrix Compose(const Gf2Matrix& outer, const Gf2Matrix& inner) {
  Gf2Matrix r;
  for (int i = 0; i < 32; ++i) r[i] = Apply(outer, inner[i]);
  return r;
}

// The operator that appends `bytes` zero bytes to a CRC register, as four byte-indexed tables
// so that applying it costs four lookups.
struct ZerosOperator {
  std::array<std::array<uint32_t, 256>, 4> table;

  explicit ZerosOperator(size_t bytes) {
    Gf2Matrix bit{};  // one zero bit: shift right, folding the polynomial back in
    bit[0] = kPoly;
    for (int i = 1; i < 32; ++i) bit[i] = 1u << (i - 1);
    Gf2Matrix step = bit;
    for (int i = 0; i < 3; ++i) step = Compose(step, step);  // one zero byte
    Gf2Matrix op{};
    for (int i = 0; i < 32; ++i) op[i] = 1u << i;  // identity
    for (size_t n = bytes; n != 0; n >>= 1) {
      if (n & 1) op = Compose(step, op);
      step = Compose(step, step);
    }
    for (uint32_t b = 0; b < 256; ++b) {
      for (int k = 0; k < 4; ++k) table[k][b] = Apply(op, b << (8 * k));
    }
  }

  uint32_t operator()(uint32_t crc) const {
    return table[0][crc & 0xFF] ^ table[1][(crc >> 8) & 0xFF] ^ table[2][(crc >> 16) & 0xFF] ^
           table[3][crc >> 24];
  }
};

// Lane lengths: kWideLane covers a 4 KiB page (3 x 1360 = 4080) in one round; kNarrowLane takes
// what is left of buffers of a few hundred bytes or more. Both are multiples of 8.
constexpr size_t kWideLane = 1360;
constexpr size_t kNarrowLane = 128;

__attribute__((target("sse4.2"))) uint64_t Crc64Words(uint64_t c, const unsigned char* p,
                                                      size_t words) {
  for (size_t i = 0; i < words; ++i) {
    uint64_t v;
    std::memcpy(&v, p + 8 * i, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  return c;
}

// Three lanes of `lane` bytes each at `p`, joined onto `crc`.
__attribute__((target("sse4.2"))) uint32_t ThreeLanes(uint32_t crc, const unsigned char* p,
                                                      size_t lane, const ZerosOperator& skip) {
  uint64_t c0 = crc;
  uint64_t c1 = 0;
  uint64_t c2 = 0;
  const unsigned char* q1 = p + lane;
  const unsigned char* q2 = p + 2 * lane;
  for (size_t off = 0; off < lane; off += 8) {
    uint64_t v0, v1, v2;
    std::memcpy(&v0, p + off, 8);
    std::memcpy(&v1, q1 + off, 8);
    std::memcpy(&v2, q2 + off, 8);
    c0 = __builtin_ia32_crc32di(c0, v0);
    c1 = __builtin_ia32_crc32di(c1, v1);
    c2 = __builtin_ia32_crc32di(c2, v2);
  }
  uint32_t joined = skip(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
  return skip(joined) ^ static_cast<uint32_t>(c2);
}

__attribute__((target("sse4.2"))) uint32_t Crc32cHw(uint32_t crc, const unsigned char* p,
                                                    size_t n) {
  static const ZerosOperator wide_skip(kWideLane);
  static const ZerosOperator narrow_skip(kNarrowLane);
  while (n >= 3 * kWideLane) {
    crc = ThreeLanes(crc, p, kWideLane, wide_skip);
    p += 3 * kWideLane;
    n -= 3 * kWideLane;
  }
  while (n >= 3 * kNarrowLane) {
    crc = ThreeLanes(crc, p, kNarrowLane, narrow_skip);
    p += 3 * kNarrowLane;
    n -= 3 * kNarrowLane;
  }
  uint32_t c32 = static_cast<uint32_t>(Crc64Words(crc, p, n / 8));
  p += n / 8 * 8;
  for (n %= 8; n != 0; --n) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
#endif

}  // namespace

uint32_t Crc32c(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
#if defined(__x86_64__)
  static const bool have_sse42 = __builtin_cpu_supports("sse4.2");
  crc = have_sse42 ? Crc32cHw(crc, p, n) : Crc32cTable(crc, p, n);
#else
  crc = Crc32cTable(crc, p, n);
#endif
  return ~crc;
}

namespace internal {
uint32_t Crc32cPortable(uint32_t crc, const void* data, size_t n) {
  return ~Crc32cTable(~crc, static_cast<const unsigned char*>(data), n);
}
}  // namespace internal

}  // namespace clonefs::crypto
