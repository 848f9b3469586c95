// PageCipher: seals and opens page payloads under one data encryption key (DEK).
//
// Scheme: AES-256-GCM directly under the DEK, a fresh random 96-bit nonce per seal, a 16-byte
// tag. The caller stores the DEK id and the nonce in the record header and passes the header
// (with every field that must not change: page identity, lengths, codec, DEK id, nonce) as
// the AAD, so a record cannot be moved, relabelled or decoded differently without the tag
// failing. Sealed payload layout: ciphertext || tag (plaintext.size() + kTagSize bytes).
//
// Invocation limit. With random nonces, SP 800-38D caps one key at 2^32 encryptions; we stop
// far earlier, at kMaxSealsPerDek = 2^30, where the chance that any two of the DEK's nonces
// collide is below n^2 / 2^97 = 2^-37. NeedsNewDek() turns true after 7/8 of the budget so the
// caller can generate, wrap and persist a new DEK while this one still works; Seal() fails
// with InvalidState (name "DekExhausted") once the budget is spent. Opening is never limited.
//
// The count lives in memory. A DEK that was used for sealing in an earlier process must be
// given an upper bound of its earlier seals (`seals_before`), or — simplest and recommended —
// each process generates a fresh DEK for its new writes and only opens with older ones.
//
// Why no per-epoch subkeys (crypto-design.md B2): deriving HKDF(DEK, salt) subkeys would lift
// the per-DEK limit, but 2^30 pages is 4 TiB of 4 KiB pages per DEK, so switching DEKs is a
// rare metadata write; subkeys would cost 8 more header bytes per record and a subkey cache
// on the read path. The record keeps an algorithm byte so subkeys can be added as a new
// algorithm without touching existing records.
//
// Thread-safe: any number of threads may Seal and Open at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/aead.h"
#include "crypto/secret.h"

namespace clonefs::crypto {

inline constexpr uint64_t kMaxSealsPerDek = uint64_t{1} << 30;
// Bytes a sealed payload adds to its plaintext (the nonce is stored by the caller).
inline constexpr size_t kPageSealOverhead = kTagSize;

class PageCipher {
 public:
  // REQUIRES: dek_id != 0, dek.size() == kAeadKeySize. `seals_before` counts seals made with
  // this DEK before (see above); `max_seals` may be lowered (tests), never raised above
  // kMaxSealsPerDek.
  static Result<std::unique_ptr<PageCipher>> Create(uint64_t dek_id, const SecretBytes& dek,
                                                    uint64_t seals_before = 0,
                                                    uint64_t max_seals = kMaxSealsPerDek);

  uint64_t dek_id() const { return dek_id_; }

  // Picks a fresh random nonce (returned in *nonce, to be stored in the record) and writes
  // plaintext.size() + kPageSealOverhead bytes to `out`.
  Status Seal(std::string_view aad, std::string_view plaintext, Nonce* nonce, char* out);
  Status Seal(std::string_view aad, std::string_view plaintext, Nonce* nonce, std::string* out);

  // Verifies and decrypts; Corruption on any mismatch, and then `out` holds no plaintext.
  Status Open(const Nonce& nonce, std::string_view aad, std::string_view sealed, char* out) const;
  Status Open(const Nonce& nonce, std::string_view aad, std::string_view sealed,
              std::string* out) const;

  // Seals counted against this DEK so far (including seals_before).
  uint64_t seals() const { return seals_.load(std::memory_order_relaxed); }
  uint64_t max_seals() const { return max_seals_; }
  // True once 7/8 of the budget is used: time to switch new writes to a new DEK.
  bool NeedsNewDek() const { return seals() >= max_seals_ - max_seals_ / 8; }

 private:
  PageCipher(uint64_t dek_id, std::unique_ptr<Aes256GcmKey> key, uint64_t seals_before,
             uint64_t max_seals)
      : dek_id_(dek_id), key_(std::move(key)), max_seals_(max_seals), seals_(seals_before) {}
  // Counts one seal against the budget; DekExhausted when it is spent.
  Status TakeSeal();

  const uint64_t dek_id_;
  const std::unique_ptr<Aes256GcmKey> key_;
  const uint64_t max_seals_;
  std::atomic<uint64_t> seals_;
};

}  // namespace clonefs::crypto
