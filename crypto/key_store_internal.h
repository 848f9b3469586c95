// Internal to the key store (key_store*.cc): the in-memory form of keystore.json, its
// (de)serialisation, and the naming and access rules. Not part of the public API.
//
// Nothing here is thread-safe on its own; KeyStore calls it under its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/env.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/key_store.h"
#include "crypto/recipient.h"
#include "crypto/secret.h"

namespace clonefs::crypto::internal {

// What a call needs from the caller's relation to a key.
enum class Access : unsigned char {
  kDescribe,     // see that it exists: the owner or any account it is shared with
  kOwner,        // administer it: the owner only
  kDecrypt,      // UnwrapDek
  kReEncrypt,    // WrapDek
  kCreateGrant,  // CreateGrant
};

// KeyOperation values OR'ed together.
using OperationSet = uint8_t;
inline constexpr OperationSet kAllOperations = 7;

// One version of a key as stored, sealed under the store's seal key: for a KEK its 32 key
// bytes, for a recipient key (whose only version is 1) its PKCS#8 PEM private key.
struct SealedKeyVersion {
  uint32_t version = 0;
  uint64_t creation_date_us = 0;
  Nonce iv{};
  std::string sealed;  // ciphertext || tag: kAeadKeySize + kTagSize bytes for a KEK
};
// Bounds the sealed private key of a recipient key (a 3072-bit RSA PKCS#8 PEM is ~2.5 KB).
inline constexpr size_t kMaxSealedPrivateKey = 16 * 1024;

struct GrantRecord {
  std::string grant_id;
  std::string grantee;
  OperationSet operations = 0;
  uint64_t creation_date_us = 0;
};

// A key as stored. Holds no secret, so it is freely copyable (mutations edit a copy).
struct KeyRecord {
  std::string key_id;
  std::string owner;
  std::vector<std::string> aliases;  // sorted
  std::string description;
  bool is_default = false;
  // Set for a public-key recipient key (key spec RSA_3072 or X25519); unset for a KEK.
  std::optional<RecipientKind> recipient;
  std::string public_pem;   // recipient keys: SubjectPublicKeyInfo PEM, stored in the clear
  std::string fingerprint;  // recipient keys: DescribePublicKey(public_pem); derived, not stored
  KeyState state = KeyState::kEnabled;
  uint64_t creation_date_us = 0;
  uint64_t deletion_date_us = 0;
  uint32_t primary_version = 0;
  std::vector<SealedKeyVersion> versions;      // ascending versions, 1..n (1 for a recipient)
  std::map<std::string, OperationSet> policy;  // account -> what it may do (never empty sets)
  std::vector<GrantRecord> grants;
  tags::TagList tags;  // the owner's tags (base/tags.h)
};

// How the root secret becomes key material (the "root" member of keystore.json).
struct RootKdf {
  bool passphrase = false;  // false: a key file, used as it is
  ScryptParams scrypt;      // passphrase only
  std::string salt;         // passphrase only: kRootSaltSize random bytes
};
inline constexpr size_t kKeystoreIdSize = 16;
inline constexpr size_t kRootSaltSize = 32;

// Keys derived from the root secret (see DeriveStoreKeys).
struct StoreKeys {
  std::unique_ptr<Aes256GcmKey> seal;  // seals KEK versions
  SecretBytes mac;                     // HMAC of the whole document
  std::string verifier;                // tells a wrong root secret from a damaged file
};

// Everything an unlocked KeyStore holds.
struct KeyStoreState {
  std::unique_ptr<FileLock> lock;  // keeps other processes from writing the file meanwhile
  std::string keystore_id;         // kKeystoreIdSize raw bytes
  RootKdf root;
  StoreKeys keys;
  uint64_t seq = 0;                // bumped by every rewrite
  std::vector<KeyRecord> records;  // sorted by key id
  // KEK versions unsealed on first use, by (key id, version).
  std::map<std::pair<std::string, uint32_t>, std::unique_ptr<Aes256GcmKey>> keks;
  // Recipient private keys (PEM, locked memory) unsealed on first use, by key id.
  std::map<std::string, SecretBytes> private_keys;
};

// --- format (key_store_format.cc) ---------------------------------------------------------

// The parts of keystore.json that can be read without the root secret.
struct DocumentHeader {
  std::string keystore_id;
  std::string region;
  RootKdf root;
  std::string verifier;
};

// The root secret's key material: the key file's bytes or the scrypt output. Any failure
// (missing or too-open key file, wrong kind of secret for this store) is a reason the store
// stays locked; the message says which.
Result<SecretBytes> RootKeyMaterial(const RootSecret& secret, const RootKdf& kdf);
// HKDF-SHA256 of the root key material with the keystore id as salt, one label per purpose.
Result<StoreKeys> DeriveStoreKeys(const SecretBytes& root_material, std::string_view keystore_id);

// Parses what can be checked without the root secret. Corruption when it does not parse.
Result<DocumentHeader> ParseHeader(std::string_view text);
struct VerifiedBody {
  uint64_t seq = 0;
  std::vector<KeyRecord> records;
};
// Verifies the MAC and parses the keys. REQUIRES: ParseHeader(text) succeeded and the
// verifier matched. Corruption on a MAC mismatch or anything malformed.
Result<VerifiedBody> ParseVerifiedBody(std::string_view text, const SecretBytes& mac_key);
// The whole document for `records` at sequence number `seq`, MAC'd.
Result<std::string> SerializeDocument(const KeyStoreState& state, const std::string& region,
                                      const std::vector<KeyRecord>& records, uint64_t seq);

// Associated data for sealing KEK version `version` of `key_id` owned by `owner`.
std::string KekSealAad(std::string_view keystore_id, std::string_view key_id,
                       std::string_view owner, uint32_t version);
// Associated data for sealing the private key of recipient key `key_id` of kind `kind`.
std::string RecipientSealAad(std::string_view keystore_id, std::string_view key_id,
                             std::string_view owner, RecipientKind kind);
// Associated data for wrapping DEK `dek_id` under KEK (`key_id`, `version`) with `context`.
std::string DekWrapAad(std::string_view key_id, uint32_t version, uint64_t dek_id,
                       std::string_view context);

// --- names, access and policies (key_store_access.cc) -------------------------------------

Status ValidateAccount(std::string_view account);
Status ValidateRegion(std::string_view region);
// InvalidAliasNameException unless 1-63 of [A-Za-z0-9_-], not "default" (unless
// `allow_default`), not starting with "key-".
Status ValidateAlias(std::string_view alias, bool allow_default = false);
bool IsKeyId(std::string_view s);
std::string NewKeyId();    // "key-" + 16 random hex digits
std::string NewGrantId();  // "grant-" + 16 random hex digits
std::string Arn(std::string_view region, const KeyRecord& key);

// Index of the key `ref` names, resolving aliases among `account`'s keys, or
// NotFoundException. Does not check access.
Result<size_t> FindKey(const std::vector<KeyRecord>& records, std::string_view region,
                       std::string_view account, std::string_view ref);
// What `account` may do with `key`: everything for the owner, else policy plus grants.
OperationSet AllowedOperations(const KeyRecord& key, std::string_view account);
// NotFoundException (worded as for a missing `ref`) when the key is not shared with
// `account` at all, AccessDeniedException when it is but not for `access`.
Status CheckAccess(const KeyRecord& key, std::string_view account, std::string_view ref,
                   Access access);
// OK when the key may wrap and unwrap now: DisabledException / KMSInvalidStateException.
Status CheckUsable(const KeyRecord& key);
// OK for a KEK; InvalidKeyUsageException for a recipient key, which wraps no DEKs.
Status CheckSymmetric(const KeyRecord& key);
// "SYMMETRIC_DEFAULT", or the recipient kind's name ("RSA_3072", "X25519").
std::string KeySpecName(const KeyRecord& key);

using Policy = std::map<std::string, OperationSet>;
// Parses a policy document; MalformedPolicyDocumentException for anything but the documented
// shape. Accounts with no operations are dropped.
Result<Policy> ParsePolicy(std::string_view text);
// The same for a policy already parsed as JSON (as stored in keystore.json).
Result<Policy> PolicyFromJson(const nlohmann::json& doc);
nlohmann::json PolicyToJson(const Policy& policy);
// Operations as their names in canonical order, and back (false on an unknown name).
std::vector<std::string> OperationNames(OperationSet ops);
bool OperationFromName(std::string_view name, OperationSet* op);

KeyMetadata MakeMetadata(const KeyRecord& key, std::string_view region, std::string_view account);

// Errors with their stable names.
Status KeyNotFound(std::string_view ref);
Status AccessDenied(std::string message);
Status Unsupported(std::string message);
Status InvalidKeyState(std::string message);
Status InvalidKeyUsage(std::string message);
Status Locked(std::string message);

}  // namespace clonefs::crypto::internal
