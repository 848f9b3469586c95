#include "crypto/page_cipher.h"

#include <algorithm>
#include <cstdio>

#include "base/error_names.h"

namespace clonefs::crypto {

Result<std::unique_ptr<PageCipher>> PageCipher::Create(uint64_t dek_id, const SecretBytes& dek,
                                                       uint64_t seals_before, uint64_t max_seals) {
  if (dek_id == 0) return Status::InvalidArgument("DEK id 0 is reserved");
  if (max_seals == 0 || max_seals > kMaxSealsPerDek) {
    return Status::InvalidArgument("a DEK's seal budget must be 1..2^30");
  }
  CLONEFS_ASSIGN_OR_RETURN(auto key, Aes256GcmKey::Create(dek));
  return std::unique_ptr<PageCipher>(
      new PageCipher(dek_id, std::move(key), std::min(seals_before, max_seals), max_seals));
}

Status PageCipher::TakeSeal() {
  // Reserve before sealing so concurrent sealers can never together exceed the budget. A
  // failed seal still uses up its slot: it may have consumed a nonce. The count never passes
  // the budget, so seals() stays meaningful after exhaustion.
  uint64_t n = seals_.load(std::memory_order_relaxed);
  while (n < max_seals_) {
    if (seals_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return Status::OK();
  }
  char msg[128];
  std::snprintf(msg, sizeof(msg), "DEK %016llx has used its %llu seals; seal with a new DEK",
                static_cast<unsigned long long>(dek_id_),
                static_cast<unsigned long long>(max_seals_));
  return Status::InvalidState(msg).WithName(errors::kDekExhausted);
}

Status PageCipher::Seal(std::string_view aad, std::string_view plaintext, Nonce* nonce, char* out) {
  CLONEFS_RETURN_IF_ERROR(TakeSeal());
  CLONEFS_ASSIGN_OR_RETURN(*nonce, RandomNonce());
  return key_->Seal(*nonce, aad, plaintext, out);
}

Status PageCipher::Seal(std::string_view aad, std::string_view plaintext, Nonce* nonce,
                        std::string* out) {
  out->resize(plaintext.size() + kPageSealOverhead);
  return Seal(aad, plaintext, nonce, out->data());
}

Status PageCipher::Open(const Nonce& nonce, std::string_view aad, std::string_view sealed,
                        char* out) const {
  return key_->Open(nonce, aad, sealed, out);
}

Status PageCipher::Open(const Nonce& nonce, std::string_view aad, std::string_view sealed,
                        std::string* out) const {
  return key_->Open(nonce, aad, sealed, out);
}

}  // namespace clonefs::crypto
