// Key derivation and message authentication: HKDF-SHA256 (RFC 5869), HMAC-SHA256 (RFC 2104)
// and scrypt (RFC 7914), all through OpenSSL's EVP_KDF / EVP_MAC with algorithms fetched once.
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "crypto/secret.h"

namespace clonefs::crypto {

inline constexpr size_t kHmacSha256Size = 32;
using HmacSha256Tag = std::array<uint8_t, kHmacSha256Size>;

// HKDF-SHA256 extract-and-expand: `out_len` bytes (1..8160) from input keying material `ikm`,
// an optional `salt` (empty = RFC 5869's zero salt) and a context label `info`. Use a distinct
// `info` for every purpose so that derived keys are independent.
Result<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::string_view salt, std::string_view info,
                               size_t out_len);

// HMAC-SHA256 of `data` under `key`.
Result<HmacSha256Tag> HmacSha256(const SecretBytes& key, std::string_view data);

// Constant-time comparison for MACs and tags (lengths are not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// scrypt cost parameters. The default (N = 2^17, r = 8, p = 1) takes 128 MiB and about half a
// second on a small VM: a passphrase is tried once per store open, so make guessing costly.
// Tests use a small N.
struct ScryptParams {
  uint64_t n = uint64_t{1} << 17;  // CPU/memory cost; a power of two > 1
  uint32_t r = 8;                  // block size
  uint32_t p = 1;                  // parallelism
  // InvalidArgument unless N is a power of two in [2, 2^22], r in [1, 32], p in [1, 16] and
  // the memory needed (128 * r * (N + p) bytes, about) is at most 1 GiB. These bounds also stop a
  // tampered key store file from making an open take forever or exhaust memory.
  Status Validate() const;
};

// scrypt of `passphrase` with `salt`, `out_len` bytes, in locked memory.
Result<SecretBytes> Scrypt(const SecretBytes& passphrase, std::string_view salt,
                           const ScryptParams& params, size_t out_len);

}  // namespace clonefs::crypto
