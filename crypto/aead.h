// AES-256-GCM authenticated encryption with a 12-byte nonce and a 16-byte tag.
//
// An Aes256GcmKey is one key plus a small set of reusable OpenSSL contexts on which that key
// is already scheduled, so sealing a page costs one IV re-initialisation and no allocation.
// Contexts belong to the key object (not to thread_local caches), so they are freed and wiped
// together with the key; a thread picks "its" context by a per-thread index and falls back to
// any free one, so threads rarely wait on each other.
//
// Layout of a sealed message: ciphertext (same length as the plaintext) followed by the tag.
// The nonce is not part of it: the caller stores it (in a page record header, say).
//
// Thread-safe: Seal and Open may be called from any number of threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/secret.h"

namespace clonefs::crypto {

inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
// Larger inputs are refused (InvalidArgument); OpenSSL takes int lengths.
inline constexpr size_t kMaxAeadInput = size_t{1} << 30;

using Nonce = std::array<uint8_t, kNonceSize>;

// Fills `out` with `n` bytes from the OpenSSL CSPRNG. Fails only when the CSPRNG does.
Status RandomBytes(void* out, size_t n);
// A fresh random 96-bit nonce.
Result<Nonce> RandomNonce();

class Aes256GcmKey {
 public:
  // REQUIRES: key.size() == kAeadKeySize (else InvalidArgument). The key is copied into
  // locked memory. NotSupported when OpenSSL offers no AES-256-GCM.
  static Result<std::unique_ptr<Aes256GcmKey>> Create(const SecretBytes& key);
  ~Aes256GcmKey();
  Aes256GcmKey(const Aes256GcmKey&) = delete;
  Aes256GcmKey& operator=(const Aes256GcmKey&) = delete;

  // Encrypts `plaintext` and authenticates it together with `aad`, writing
  // plaintext.size() + kTagSize bytes to `out`. Never reuse a nonce with the same key.
  Status Seal(const Nonce& nonce, std::string_view aad, std::string_view plaintext,
              char* out) const;
  // The same, resizing *out to fit.
  Status Seal(const Nonce& nonce, std::string_view aad, std::string_view plaintext,
              std::string* out) const;

  // Verifies and decrypts `sealed` (ciphertext || tag), writing sealed.size() - kTagSize bytes
  // to `out`. Returns Corruption when the tag does not match (wrong key, nonce, AAD, or any
  // changed bit); `out` is then zeroed, so unauthenticated plaintext is never handed out.
  Status Open(const Nonce& nonce, std::string_view aad, std::string_view sealed, char* out) const;
  // The same, resizing *out to fit (emptied on failure).
  Status Open(const Nonce& nonce, std::string_view aad, std::string_view sealed,
              std::string* out) const;

 private:
  struct Slot;
  Aes256GcmKey(SecretBytes key, size_t slot_count);
  // Locks and returns a slot for the calling thread, its contexts keyed with key_.
  Result<Slot*> AcquireSlot() const;

  SecretBytes key_;
  size_t slot_count_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace clonefs::crypto
