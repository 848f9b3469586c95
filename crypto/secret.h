// SecretBytes: a buffer for key material that zeroes itself when it goes away.
//
// Every key, passphrase and derived secret in clonefs lives in a SecretBytes. It is move-only
// (a copy is a second place to wipe and is easy to make by accident), it is wiped with
// OPENSSL_cleanse (which the compiler may not optimise away) on destruction, move-assignment
// and Clear(), and it can be locked into RAM (mlock) and left out of core dumps
// (MADV_DONTDUMP) so that it never reaches swap or a crash report.
//
// It is deliberately not printable: streaming it or formatting it with fmt/spdlog does not
// compile, and GoogleTest prints it as "<secret: N bytes>". There is no conversion to string;
// callers that really must hand bytes to OpenSSL use data()/size().
//
// Not thread-safe for mutation; concurrent reads of an unchanging SecretBytes are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string_view>

#include "base/result.h"

namespace clonefs::crypto {

class SecretBytes {
 public:
  enum class Memory : unsigned char {
    kPlain,   // ordinary heap memory
    kLocked,  // page-aligned, mlock'ed and excluded from core dumps (best effort: see locked())
  };

  SecretBytes() = default;
  // `n` zero bytes.
  explicit SecretBytes(size_t n, Memory memory = Memory::kPlain);
  // A copy of `bytes`. The caller remains responsible for wiping its own copy.
  static SecretBytes CopyOf(std::string_view bytes, Memory memory = Memory::kPlain);
  // `n` bytes from the OpenSSL CSPRNG (RAND_bytes). Fails only if the CSPRNG is unusable.
  static Result<SecretBytes> Random(size_t n, Memory memory = Memory::kPlain);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { Clear(); }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The bytes as a view, for passing to functions that take std::string_view. Do not store it.
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  // True when mlock succeeded (it can fail under a low RLIMIT_MEMLOCK; the bytes are then
  // still wiped, only not pinned).
  bool locked() const { return locked_; }

  // Constant-time comparison (CRYPTO_memcmp); sizes are not secret.
  bool Equals(const SecretBytes& other) const;
  // Wipes and releases the bytes; afterwards empty().
  void Clear();

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;  // bytes allocated (page-rounded when locked)
  bool locked_ = false;
  bool aligned_ = false;  // allocated with aligned_alloc (locked memory) rather than new[]
};

// Never print key material: these make `os << secret` and fmt/spdlog formatting fail to
// compile, and keep test failure messages free of key bytes.
std::ostream& operator<<(std::ostream& os, const SecretBytes& secret) = delete;
void PrintTo(const SecretBytes& secret, std::ostream* os);

}  // namespace clonefs::crypto
