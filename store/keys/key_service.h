// KeyService: the store's key store (crypto/key_store.h) as one account sees it, plus what the
// store must do when a key changes state.
//
// Every call acts as the store owner's account (the only account until accounts exist). Key
// material never leaves it: everything returned is metadata (ids, aliases, states, policies),
// a recipient key's public key, or the secret an envelope sealed for this store held.
// Disabling a key or scheduling its deletion blocks, at once, every volume whose data keys it
// wraps: their unwrapped data keys are dropped and open handles fail reads and writes with
// KMSKeyNotAccessible (EIO) until the key is enabled again, which loses nothing.
//
// Thread-safe (the key store serialises its calls; the listener runs on the caller's thread).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/key_store.h"
#include "crypto/recipient.h"
#include "crypto/secret.h"

namespace clonefs::store {

class KeyService {
 public:
  // Called after a key's state changed (disabled, enabled, deletion scheduled or cancelled).
  using StateListener = std::function<void(const std::string& key_id)>;

  // REQUIRES: `keys` outlives this object.
  KeyService(crypto::KeyStore* keys, std::string account, StateListener on_state_change)
      : keys_(keys), account_(std::move(account)), on_state_change_(std::move(on_state_change)) {}

  const std::string& account() const { return account_; }
  // OK when the root secret unlocked the key store; else the KMSKeyNotAccessible status every
  // key operation fails with (its message says what to fix).
  const Status& lock_reason() const { return keys_->lock_reason(); }
  crypto::KeyStore* key_store() { return keys_; }

  Result<crypto::KeyMetadata> CreateKey(std::string_view alias, std::string_view description) {
    return keys_->CreateKey(account_, alias, description);
  }
  // A public-key recipient key (RSA_3072 or X25519), for streams sealed for this store.
  Result<crypto::KeyMetadata> CreateRecipientKey(crypto::RecipientKind kind, std::string_view alias,
                                                 std::string_view description) {
    return keys_->CreateRecipientKey(account_, kind, alias, description);
  }
  // The public key (PEM) of a recipient key; InvalidKeyUsageException for a symmetric one.
  Result<std::string> GetPublicKey(std::string_view ref) {
    return keys_->GetPublicKey(account_, ref);
  }
  // Opens an envelope sealed for the recipient key whose public-key fingerprint is
  // `fingerprint` (crypto::KeyStore::OpenForRecipient). The secret stays in locked memory.
  Result<crypto::SecretBytes> OpenForRecipient(std::string_view fingerprint,
                                               std::string_view envelope,
                                               std::string_view context) {
    return keys_->OpenForRecipient(account_, fingerprint, envelope, context);
  }
  // The account's default key (alias "default"), created on first use.
  Result<crypto::KeyMetadata> DefaultKey() { return keys_->DefaultKey(account_); }
  Result<std::vector<crypto::KeyMetadata>> ListKeys() { return keys_->ListKeys(account_); }
  Result<crypto::KeyMetadata> DescribeKey(std::string_view ref) {
    return keys_->DescribeKey(account_, ref);
  }
  Result<std::string> GetPolicy(std::string_view ref) { return keys_->GetPolicy(account_, ref); }
  Status PutPolicy(std::string_view ref, std::string_view policy) {
    return keys_->PutPolicy(account_, ref, policy);
  }
  Result<crypto::KeyMetadata> RotateKey(std::string_view ref) {
    return keys_->RotateKey(account_, ref);
  }

  // Tags of a key (crypto::KeyStore::TagKey and the rest: the owner's only).
  Status TagKey(std::string_view ref, const tags::TagList& tags) {
    return keys_->TagKey(account_, ref, tags);
  }
  Status UntagKey(std::string_view ref, const std::vector<std::string>& keys) {
    return keys_->UntagKey(account_, ref, keys);
  }
  Result<tags::TagList> ListKeyTags(std::string_view ref) {
    return keys_->ListKeyTags(account_, ref);
  }

  // State changes; each answers with the key as it is afterwards.
  Result<crypto::KeyMetadata> DisableKey(std::string_view ref);
  Result<crypto::KeyMetadata> EnableKey(std::string_view ref);
  Result<crypto::KeyMetadata> ScheduleKeyDeletion(std::string_view ref, int days);
  Result<crypto::KeyMetadata> CancelKeyDeletion(std::string_view ref);

  // The key id of the key `ref` names (empty, "default" or "alias/default": the default key,
  // created if need be), if it may wrap data keys now. InvalidKeyUsageException for a
  // recipient key, DisabledException / KMSInvalidStateException for one not enabled.
  Result<std::string> UsableKeyId(std::string_view ref);

 private:
  Result<crypto::KeyMetadata> Changed(std::string_view ref);

  crypto::KeyStore* const keys_;
  const std::string account_;
  const StateListener on_state_change_;
};

}  // namespace clonefs::store
