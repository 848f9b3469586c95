// Data encryption keys (DEKs) and their wrapped form.
//
// A DEK is 32 random bytes that encrypt pages (PageCipher); its id is a random non-zero 64-bit
// number that page records carry. A DEK is stored only wrapped: AES-256-GCM under one version
// of a key-encryption key (KEK) in the key store (KeyStore::WrapDek / UnwrapDek), with the
// caller's context bound in as associated data.
//
// Pure data and functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/aead.h"
#include "crypto/secret.h"

namespace clonefs::crypto {

inline constexpr size_t kDekSize = kAeadKeySize;

struct Dek {
  uint64_t id = 0;  // random, never 0
  SecretBytes key;  // kDekSize bytes in locked memory
};

// A new random DEK.
Result<Dek> GenerateDek();

// A DEK wrapped under one version of a KEK. Holds no secret: safe to store and to log.
struct WrappedDek {
  uint64_t dek_id = 0;
  std::string key_id;        // the KEK, "key-" + 16 hex digits
  uint32_t key_version = 0;  // the KEK version that wrapped it (1 = first)
  Nonce iv{};
  std::array<uint8_t, kDekSize> ct{};
  std::array<uint8_t, kTagSize> tag{};

  // A compact one-line JSON object with hex fields, e.g.
  // {"ct":"…","dek_id":"00c0ffee00c0ffee","iv":"…","key_id":"key-…","key_version":1,"tag":"…","v":1}
  std::string Serialize() const;
  // Corruption for anything Serialize() would not have produced.
  static Result<WrappedDek> Parse(std::string_view text);
};

// "00c0ffee00c0ffee": DEK ids as 16 hex digits, the form used in files and messages.
std::string DekIdToHex(uint64_t dek_id);

}  // namespace clonefs::crypto
