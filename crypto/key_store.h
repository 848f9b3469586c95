// KeyStore: a region's key-encryption keys (KEKs), their owners, aliases, policies and grants,
// and the envelope operations that wrap and unwrap data keys (DEKs) under them.
//
// Two kinds of key, as AWS KMS has them (KeyMetadata::key_spec):
//   SYMMETRIC_DEFAULT  a KEK: 256-bit AES versions that wrap and unwrap DEKs (WrapDek/UnwrapDek);
//   RSA_3072, X25519   a public-key recipient key (crypto/recipient.h): one key pair whose
//                      public half anyone may be given (GetPublicKey) to seal a secret, such as
//                      the stream key of a snapshot export, that only this store can open
//                      (OpenForRecipient). It wraps no DEKs and has a single version.
//
// One file, DIR/keystore.json, holds the whole store. It never contains key material in the
// clear nor the root secret: each KEK version and each recipient private key is sealed with
// AES-256-GCM under a key derived from the root secret (public keys are stored in the clear),
// and the whole document carries an HMAC-SHA256 under another derived key, so any edit (a
// policy, a state, an owner) is detected as Corruption. The root secret is a key file
// (key_file.h) or a passphrase stretched with scrypt. docs/ENCRYPTION.md describes the format.
//
// Locked mode. A store opened without its root secret (none given; a key file that is
// missing, unreadable or readable by group or others; the wrong key file or passphrase) still
// opens, so that a daemon can serve unencrypted volumes, but every key operation then fails
// with the error name "KMSKeyNotAccessible"; lock_reason() says why (e.g. "chmod 600 FILE").
// No new store is created with a secret that cannot be read.
//
// Accounts. Every call names the calling account (an account id string such as
// "123456789012"; "owner" until accounts exist). A key belongs to one account. The owner may do
// everything with its keys; another account may use a key only as its policy or a grant
// allows (Decrypt = UnwrapDek and OpenForRecipient, ReEncrypt = WrapDek, CreateGrant), and may
// DescribeKey (and GetPublicKey) a key it may use. A key that is not shared with the caller answers
// exactly as if it did not exist. Each account has at most one default key (alias "default", made
// by DefaultKey()); a default key can never be shared with another account, disabled or deleted.
//
// Key references ("ref"): a key id ("key-" + 16 hex digits), an ARN
// ("arn:clonefs:REGION:ACCOUNT:key:KEY_ID"), "alias/NAME" or a bare alias NAME. Aliases are
// looked up among the caller's own keys.
//
// Errors carry stable names (Status::ErrorName), on these codes (which set the errno a
// filesystem caller reports):
//   NotFoundException                 NotFound      no such key or grant, or not shared
//   DisabledException                 InvalidState  the key is disabled
//   KMSInvalidStateException          InvalidState  pending deletion, or not pending (cancel)
//   KMSKeyNotAccessible               IOError/EACCES  the store is locked (see above)
//   AccessDeniedException             IOError/EACCES  shared, but not for this operation
//   AlreadyExistsException            AlreadyExists the alias is taken
//   InvalidAliasNameException         InvalidArgument
//   MalformedPolicyDocumentException  InvalidArgument
//   UnsupportedOperationException     NotSupported  sharing, disabling or deleting a default key;
//                                                   rotating a recipient key
//   InvalidKeyUsageException          InvalidArgument a DEK under a recipient key; the public key
//                                                   of a symmetric key
// and the default names of InvalidArgument (InvalidParameterValue), Corruption (a damaged
// file, or a wrapped DEK that does not unwrap under the given context), Busy and IOError.
//
// Persistence: each mutation rewrites the file atomically (temp file, fsync, rename, fsync of
// the directory) before it takes effect in memory; if the write fails nothing changes. An
// unlocked store holds an exclusive lock on DIR/keystore.lock for its lifetime, so a second
// process that opens it with a root secret gets Busy instead of overwriting its changes.
// Thread-safe: one mutex serialises all calls (they are rare: key admin and volume open).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/result.h"
#include "base/tags.h"
#include "crypto/dek.h"
#include "crypto/kdf.h"
#include "crypto/recipient.h"
#include "crypto/secret.h"

namespace clonefs::crypto {
namespace internal {
struct KeyRecord;
struct KeyStoreState;
enum class Access : unsigned char;
}  // namespace internal

// How a key store's root secret is supplied.
class RootSecret {
 public:
  enum class Kind : unsigned char { kNone, kKeyFile, kPassphrase };
  // No secret: an existing store opens locked; none is created.
  static RootSecret None() { return RootSecret(Kind::kNone, {}, {}); }
  // A key file made by CreateKeyFile().
  static RootSecret KeyFile(std::string path) {
    return RootSecret(Kind::kKeyFile, std::move(path), {});
  }
  static RootSecret Passphrase(SecretBytes passphrase) {
    return RootSecret(Kind::kPassphrase, {}, std::move(passphrase));
  }

  Kind kind() const { return kind_; }
  const std::string& key_file() const { return key_file_; }
  const SecretBytes& passphrase() const { return passphrase_; }

 private:
  RootSecret(Kind kind, std::string key_file, SecretBytes passphrase)
      : kind_(kind), key_file_(std::move(key_file)), passphrase_(std::move(passphrase)) {}
  Kind kind_;
  std::string key_file_;
  SecretBytes passphrase_;
};

enum class KeyState : unsigned char { kEnabled, kDisabled, kPendingDeletion };
// "Enabled", "Disabled", "PendingDeletion" (the names used in the file and by the CLI).
std::string_view KeyStateName(KeyState state);

// What another account may do with a key (the owner may always do all of it).
enum class KeyOperation : unsigned char {
  kDecrypt = 1,      // UnwrapDek
  kReEncrypt = 2,    // WrapDek: put a DEK under this key, as a cross-account clone does
  kCreateGrant = 4,  // grant (a subset of) its own operations to a further account
};
// "Decrypt", "ReEncrypt", "CreateGrant".
std::string_view KeyOperationName(KeyOperation op);

struct KeyVersionInfo {
  uint32_t version = 0;
  uint64_t creation_date_us = 0;
};

// KeyMetadata::key_spec of a KEK; recipient keys have RecipientKindName(kind) ("RSA_3072",
// "X25519"). Every key's key_usage is kKeyUsageEncryptDecrypt.
inline constexpr std::string_view kSymmetricKeySpec = "SYMMETRIC_DEFAULT";
inline constexpr std::string_view kKeyUsageEncryptDecrypt = "ENCRYPT_DECRYPT";

// What DescribeKey shows. Never any key material.
struct KeyMetadata {
  std::string key_id;
  std::string arn;                   // arn:clonefs:REGION:OWNER:key:KEY_ID
  std::vector<std::string> aliases;  // without "alias/"; shown to the owner only
  std::string description;
  std::string owner;
  std::string region;
  bool is_default = false;
  std::string key_spec{kSymmetricKeySpec};         // "SYMMETRIC_DEFAULT", "RSA_3072" or "X25519"
  std::string key_usage{kKeyUsageEncryptDecrypt};  // "ENCRYPT_DECRYPT"
  KeyState state = KeyState::kEnabled;
  uint64_t creation_date_us = 0;  // microseconds since the Unix epoch
  uint64_t deletion_date_us = 0;  // when PendingDeletion: when DeleteExpiredKeys may delete it
  uint32_t primary_version = 0;   // the version WrapDek uses (always 1 for a recipient key)
  std::vector<KeyVersionInfo> versions;
};

struct KeyGrant {
  std::string grant_id;  // "grant-" + 16 hex digits
  std::string grantee;
  std::vector<KeyOperation> operations;
  uint64_t creation_date_us = 0;
};

struct KeyStoreOptions {
  Env* env = nullptr;   // nullptr = Env::Default()
  ScryptParams scrypt;  // cost for a store created with a passphrase (existing ones use theirs)
};

class KeyStore {
 public:
  static constexpr const char* kFileName = "keystore.json";

  // Opens DIR/keystore.json, creating it (and DIR) when it does not exist and a root secret
  // is given. `region` must match the store's region (InvalidArgument otherwise). Returns a
  // locked store (see above) when the root secret is absent or does not unlock the file;
  // Corruption when the file does not parse, or is unlocked but fails its MAC; NotSupported
  // for a newer format version; Busy when another process has it open unlocked; IOError when
  // it cannot be read.
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& dir, const std::string& region,
                                                const RootSecret& root,
                                                const KeyStoreOptions& options = {});
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  bool locked() const { return !lock_reason_.ok(); }
  // OK when unlocked; otherwise the KMSKeyNotAccessible status every key operation returns.
  const Status& lock_reason() const { return lock_reason_; }
  const std::string& region() const { return region_; }
  const std::string& path() const { return path_; }

  // --- key administration ---------------------------------------------------------------

  // A new customer key owned by `account`: one fresh 256-bit version, Enabled, empty policy.
  // `alias` may be empty; "default" is reserved for DefaultKey().
  Result<KeyMetadata> CreateKey(const std::string& account, std::string_view alias,
                                std::string_view description);
  // A new public-key recipient key owned by `account`: a fresh `kind` key pair, Enabled, empty
  // policy, one version that is never rotated. Aliases as for CreateKey. Generating a 3072-bit
  // RSA key takes a moment; the store is not held meanwhile.
  Result<KeyMetadata> CreateRecipientKey(const std::string& account, RecipientKind kind,
                                         std::string_view alias, std::string_view description);
  // The account's default key, created on first use.
  Result<KeyMetadata> DefaultKey(const std::string& account);
  // The keys `account` owns, ordered by key id.
  Result<std::vector<KeyMetadata>> ListKeys(const std::string& account);
  Result<KeyMetadata> DescribeKey(const std::string& account, std::string_view ref);

  // Adds alias NAME (1-63 letters, digits, '-' or '_'; unique per account) to a key the
  // account owns; AlreadyExistsException when the account uses NAME already.
  Status CreateAlias(const std::string& account, std::string_view alias, std::string_view ref);
  Status DeleteAlias(const std::string& account, std::string_view alias);

  // The policy as JSON: {"accounts": {"ACCOUNT": ["Decrypt", "ReEncrypt", "CreateGrant"]}}.
  Result<std::string> GetPolicy(const std::string& account, std::string_view ref);
  // Replaces the policy. MalformedPolicyDocumentException (InvalidArgument) for anything but
  // the shape above; UnsupportedOperationException when it names another account on a default
  // key. Nothing changes on error.
  Status PutPolicy(const std::string& account, std::string_view ref, std::string_view policy);

  // Lets `grantee` perform `operations` with the key; returns the grant id. The owner may
  // grant anything; another account needs CreateGrant and may grant only what it may do.
  Result<std::string> CreateGrant(const std::string& account, std::string_view ref,
                                  const std::string& grantee,
                                  const std::vector<KeyOperation>& operations);
  Result<std::vector<KeyGrant>> ListGrants(const std::string& account, std::string_view ref);
  Status RevokeGrant(const std::string& account, std::string_view ref, std::string_view grant_id);

  Status DisableKey(const std::string& account, std::string_view ref);
  Status EnableKey(const std::string& account, std::string_view ref);
  // Marks the key PendingDeletion for `days` (7-30, else InvalidArgument); it refuses to wrap
  // and unwrap from now on. CancelKeyDeletion returns it to Disabled (as AWS KMS does).
  Result<KeyMetadata> ScheduleKeyDeletion(const std::string& account, std::string_view ref,
                                          int days);
  Status CancelKeyDeletion(const std::string& account, std::string_view ref);
  // Adds a new key version and makes it primary; older versions still unwrap what they wrapped.
  // UnsupportedOperationException for a recipient key.
  Result<KeyMetadata> RotateKey(const std::string& account, std::string_view ref);
  // Destroys keys whose deletion date has passed (every DEK under them becomes unreadable).
  // Returns how many were deleted. Meant for a periodic background task.
  Result<size_t> DeleteExpiredKeys();

  // --- tags (key_store_tags.cc) -----------------------------------------------------------

  // Tags are the owner's alone (a key shared with `account` answers AccessDeniedException, one
  // not shared NotFoundException) and follow base/tags.h. TagKey adds `tags` (a key already
  // there takes the new value): InvalidParameterValue for a malformed tag,
  // TagQuotaPerResourceExceeded past 50. UntagKey removes the tags with these keys (absent
  // ones are no error). Nothing changes on error.
  Status TagKey(const std::string& account, std::string_view ref, const tags::TagList& tags);
  Status UntagKey(const std::string& account, std::string_view ref,
                  const std::vector<std::string>& keys);
  Result<tags::TagList> ListKeyTags(const std::string& account, std::string_view ref);

  // --- envelope operations ---------------------------------------------------------------

  // Wraps `dek` (kDekSize bytes) under the primary version of the key `key_ref`. `context`
  // (e.g. store uuid, lineage, owner) is bound in as associated data and must be given again
  // to unwrap. Needs ReEncrypt on another account's key. Fails on a disabled or
  // pending-deletion key, and with InvalidKeyUsageException on a recipient key (as UnwrapDek
  // does).
  Result<WrappedDek> WrapDek(const std::string& account, std::string_view key_ref, uint64_t dek_id,
                             const SecretBytes& dek, std::string_view context);
  // Recovers the DEK, in locked memory. Needs Decrypt on another account's key. Fails on a
  // disabled or pending-deletion key, and with Corruption when the context, DEK id or any byte
  // of the wrapped key differs from what was wrapped.
  Result<SecretBytes> UnwrapDek(const std::string& account, const WrappedDek& wrapped,
                                std::string_view context);

  // Whether `account` may perform `op` with the key `ref` now: OK, or the error WrapDek or
  // UnwrapDek would give (NotFoundException for a key not shared with it, AccessDeniedException
  // when shared for other operations, DisabledException / KMSInvalidStateException for a key
  // not enabled, InvalidKeyUsageException for a recipient key). For checks before work that
  // will need the key, so that it fails early with the key's own reason.
  Status CheckOperation(const std::string& account, std::string_view ref, KeyOperation op);
  // The ARN of the key with id `key_id`, whoever owns it: for naming the key a resource is
  // encrypted with to anyone who may see the resource. NotFoundException for no such key.
  Result<std::string> KeyArn(std::string_view key_id);

  // --- recipient keys ----------------------------------------------------------------------

  // The public key (SubjectPublicKeyInfo PEM) of the recipient key `ref`, for sealing with
  // SealForRecipient. Needs only DescribeKey access. InvalidKeyUsageException for a symmetric
  // key; fails on a disabled or pending-deletion key (as AWS KMS GetPublicKey does), so that
  // nothing new is sealed for a key that could not open it.
  Result<std::string> GetPublicKey(const std::string& account, std::string_view ref);
  // Opens an envelope SealForRecipient sealed for the public key whose fingerprint (hex SHA-256
  // of its DER form, crypto::DescribePublicKey) is `fingerprint`, with the same `context`.
  // Looks among the recipient keys `account` owns or may Decrypt with; NotFoundException ("no
  // key of this store is the recipient FINGERPRINT") when none has it. Fails on a disabled or
  // pending-deletion key, and with Corruption for an envelope that does not open.
  Result<SecretBytes> OpenForRecipient(const std::string& account, std::string_view fingerprint,
                                       std::string_view envelope, std::string_view context);

 private:
  KeyStore(Env* env, std::string dir, std::string region);
  // The following run inside Open, before the store is shared.
  // Creates a new store file (Open found none); leaves the store locked when the root secret
  // cannot be read.
  Status CreateNew(const RootSecret& root, const KeyStoreOptions& options);
  // Loads and verifies the existing file; leaves the store locked when `root` does not unlock it.
  Status Load(const RootSecret& root);

  // The following REQUIRE mu_ held.
  // KMSKeyNotAccessible when locked.
  Status CheckUnlocked() const;
  // Rewrites the file with `keys` and the next sequence number, then installs `keys`.
  Status Persist(std::vector<internal::KeyRecord> keys);
  // The index in state_->records of the key `ref` as `account` may use it for `access`: the
  // account and the lock checked, the key found among those visible to it, the access allowed.
  Result<size_t> FindAccessible(const std::string& account, std::string_view ref,
                                internal::Access access) const;
  // Finds the key `ref` visible to `account`, checks `access`, applies `change` to a copy and
  // persists it. `change` may fail, and then nothing is written.
  Status UpdateKey(const std::string& account, std::string_view ref, internal::Access access,
                   const std::function<Status(internal::KeyRecord&)>& change);
  // A new key record with one sealed version (not yet persisted): a fresh KEK version, or
  // the private half of `pair` for a recipient key.
  Result<internal::KeyRecord> NewKey(const std::string& account, bool is_default,
                                     std::string_view alias, std::string_view description,
                                     const RecipientKeyPair* pair = nullptr);
  // CreateKey and CreateRecipientKey (`pair` null for a KEK). Takes mu_.
  Result<KeyMetadata> AddKey(const std::string& account, std::string_view alias,
                             std::string_view description, const RecipientKeyPair* pair);
  Result<KeyMetadata> Describe(const std::string& account, std::string_view ref);

  Env* const env_;
  const std::string dir_;
  const std::string path_;
  const std::string region_;
  Status lock_reason_;  // set once by Open
  mutable std::mutex mu_;
  // Everything loaded from the file plus the derived keys; guarded by mu_; null when locked.
  std::unique_ptr<internal::KeyStoreState> state_;
};

}  // namespace clonefs::crypto
