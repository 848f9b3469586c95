// KeyStore: opening (and creating) the store, persistence, and the envelope operations.
// Key administration is in key_store_admin.cc, the file format in key_store_format.cc and the
// access rules in key_store_access.cc.
#include "crypto/key_store.h"

#include <cstring>

#include "base/error_names.h"
#include "crypto/key_store_internal.h"

namespace clonefs::crypto {

using internal::KeyRecord;
using internal::KeyStoreState;

namespace {

constexpr const char* kLockFileName = "keystore.lock";

// The KEK for (key, version), unsealed on first use and kept for the life of the store.
Result<const Aes256GcmKey*> UnsealedKek(KeyStoreState& state, const KeyRecord& key,
                                        uint32_t version) {
  auto cache_key = std::make_pair(key.key_id, version);
  auto it = state.keks.find(cache_key);
  if (it != state.keks.end()) return it->second.get();
  if (version == 0 || version > key.versions.size()) {
    return Status::Corruption("key " + key.key_id + " has no version " + std::to_string(version));
  }
  const internal::SealedKeyVersion& sealed = key.versions[version - 1];
  SecretBytes material(kAeadKeySize, SecretBytes::Memory::kLocked);
  Status s = state.keys.seal->Open(
      sealed.iv, internal::KekSealAad(state.keystore_id, key.key_id, key.owner, version),
      sealed.sealed, reinterpret_cast<char*>(material.data()));
  if (!s.ok()) {
    return Status::Corruption("version " + std::to_string(version) + " of key " + key.key_id +
                              " does not unseal: " + s.message());
  }
  CLONEFS_ASSIGN_OR_RETURN(std::unique_ptr<Aes256GcmKey> kek, Aes256GcmKey::Create(material));
  const Aes256GcmKey* result = kek.get();
  state.keks.emplace(std::move(cache_key), std::move(kek));
  return result;
}

// The private key of recipient key `key`, unsealed on first use and kept for the life of the
// store (or of the key), after checking that it is the private half of the key's public key.
Result<const SecretBytes*> UnsealedPrivateKey(KeyStoreState& state, const KeyRecord& key) {
  auto it = state.private_keys.find(key.key_id);
  if (it != state.private_keys.end()) return &it->second;
  if (!key.recipient || key.versions.size() != 1) {
    return Status::Corruption("key " + key.key_id + " has no private key");
  }
  const internal::SealedKeyVersion& sealed = key.versions[0];
  if (sealed.sealed.size() <= kTagSize) {
    return Status::Corruption("the private key of " + key.key_id + " is truncated");
  }
  SecretBytes pem(sealed.sealed.size() - kTagSize, SecretBytes::Memory::kLocked);
  Status s = state.keys.seal->Open(
      sealed.iv,
      internal::RecipientSealAad(state.keystore_id, key.key_id, key.owner, *key.recipient),
      sealed.sealed, reinterpret_cast<char*>(pem.data()));
  if (!s.ok()) {
    return Status::Corruption("the private key of " + key.key_id +
                              " does not unseal: " + s.message());
  }
  auto info = DescribePrivateKey(pem);
  if (!info.ok() || info->kind != *key.recipient || info->fingerprint != key.fingerprint) {
    return Status::Corruption("the private key of " + key.key_id +
                              " does not belong to its public key");
  }
  auto inserted = state.private_keys.emplace(key.key_id, std::move(pem));
  return &inserted.first->second;
}

}  // namespace

std::string_view KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::kEnabled:
      return "Enabled";
    case KeyState::kDisabled:
      return "Disabled";
    case KeyState::kPendingDeletion:
      return "PendingDeletion";
  }
  return "Unknown";
}

std::string_view KeyOperationName(KeyOperation op) {
  switch (op) {
    case KeyOperation::kDecrypt:
      return "Decrypt";
    case KeyOperation::kReEncrypt:
      return "ReEncrypt";
    case KeyOperation::kCreateGrant:
      return "CreateGrant";
  }
  return "Unknown";
}

KeyStore::KeyStore(Env* env, std::string dir, std::string region)
    : env_(env), dir_(std::move(dir)), path_(dir_ + "/" + kFileName), region_(std::move(region)) {}

KeyStore::~KeyStore() = default;

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& dir, const std::string& region,
                                                 const RootSecret& root,
                                                 const KeyStoreOptions& options) {
  CLONEFS_RETURN_IF_ERROR(internal::ValidateRegion(region));
  Env* env = options.env != nullptr ? options.env : Env::Default();
  std::unique_ptr<KeyStore> store(new KeyStore(env, dir, region));
  if (env->FileExists(store->path_)) {
    CLONEFS_RETURN_IF_ERROR(store->Load(root));
  } else if (root.kind() == RootSecret::Kind::kNone) {
    store->lock_reason_ = internal::Locked("there is no key store at " + store->path_ +
                                           " and no root secret to create one");
  } else {
    CLONEFS_RETURN_IF_ERROR(store->CreateNew(root, options));
  }
  return store;
}

Status KeyStore::CreateNew(const RootSecret& root, const KeyStoreOptions& options) {
  auto state = std::make_unique<KeyStoreState>();
  if (root.kind() == RootSecret::Kind::kPassphrase) {
    CLONEFS_RETURN_IF_ERROR(options.scrypt.Validate());
    state->root.passphrase = true;
    state->root.scrypt = options.scrypt;
    state->root.salt.resize(internal::kRootSaltSize);
    CLONEFS_RETURN_IF_ERROR(RandomBytes(state->root.salt.data(), state->root.salt.size()));
  }
  auto material = internal::RootKeyMaterial(root, state->root);
  if (!material.ok()) {
    // No store is created with a secret that cannot be read back (a missing key file, say).
    lock_reason_ =
        internal::Locked("cannot create key store " + path_ + ": " + material.status().message());
    return Status::OK();
  }
  CLONEFS_RETURN_IF_ERROR(env_->CreateDir(dir_));
  CLONEFS_ASSIGN_OR_RETURN(state->lock, env_->LockFile(dir_ + "/" + kLockFileName));
  if (env_->FileExists(path_)) {
    return Status::Busy("key store " + path_ +
                        " was created by another process meanwhile; "
                        "open it again");
  }
  state->keystore_id.resize(internal::kKeystoreIdSize);
  CLONEFS_RETURN_IF_ERROR(RandomBytes(state->keystore_id.data(), state->keystore_id.size()));
  CLONEFS_ASSIGN_OR_RETURN(state->keys,
                           internal::DeriveStoreKeys(material.value(), state->keystore_id));
  state_ = std::move(state);
  Status s = Persist({});
  if (!s.ok()) state_.reset();
  return s;
}

Status KeyStore::Load(const RootSecret& root) {
  // Lock before reading, so that no other process can rewrite the file between our read and
  // our first write. A store opened without a secret never writes and takes no lock.
  std::unique_ptr<FileLock> lock;
  if (root.kind() != RootSecret::Kind::kNone) {
    CLONEFS_ASSIGN_OR_RETURN(lock, env_->LockFile(dir_ + "/" + kLockFileName));
  }
  CLONEFS_ASSIGN_OR_RETURN(std::string contents, ReadFileToString(env_, path_));
  CLONEFS_ASSIGN_OR_RETURN(internal::DocumentHeader header, internal::ParseHeader(contents));
  if (header.region != region_) {
    return Status::InvalidArgument("key store " + path_ + " belongs to region '" + header.region +
                                   "', not '" + region_ + "'");
  }
  auto material = internal::RootKeyMaterial(root, header.root);
  if (!material.ok()) {
    lock_reason_ =
        internal::Locked("key store " + path_ + " is locked: " + material.status().message());
    return Status::OK();
  }
  CLONEFS_ASSIGN_OR_RETURN(internal::StoreKeys keys,
                           internal::DeriveStoreKeys(material.value(), header.keystore_id));
  if (!ConstantTimeEquals(keys.verifier, header.verifier)) {
    lock_reason_ = internal::Locked("key store " + path_ +
                                    " is locked: the key file or passphrase does not unlock it");
    return Status::OK();
  }
  CLONEFS_ASSIGN_OR_RETURN(internal::VerifiedBody body,
                           internal::ParseVerifiedBody(contents, keys.mac));
  auto state = std::make_unique<KeyStoreState>();
  state->lock = std::move(lock);
  state->keystore_id = std::move(header.keystore_id);
  state->root = std::move(header.root);
  state->keys = std::move(keys);
  state->seq = body.seq;
  state->records = std::move(body.records);
  state_ = std::move(state);
  return Status::OK();
}

Status KeyStore::CheckUnlocked() const {
  if (state_ == nullptr) return lock_reason_;
  return Status::OK();
}

Status KeyStore::Persist(std::vector<KeyRecord> keys) {
  CLONEFS_ASSIGN_OR_RETURN(std::string text,
                           internal::SerializeDocument(*state_, region_, keys, state_->seq + 1));
  CLONEFS_RETURN_IF_ERROR(WriteFileAtomically(env_, path_, text));
  state_->seq++;
  state_->records = std::move(keys);
  return Status::OK();
}

Result<size_t> KeyStore::FindAccessible(const std::string& account, std::string_view ref,
                                        internal::Access access) const {
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAccount(account));
  CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  CLONEFS_ASSIGN_OR_RETURN(size_t i, internal::FindKey(state_->records, region_, account, ref));
  CLONEFS_RETURN_IF_ERROR(internal::CheckAccess(state_->records[i], account, ref, access));
  return i;
}

Status KeyStore::UpdateKey(const std::string& account, std::string_view ref,
                           internal::Access access,
                           const std::function<Status(KeyRecord&)>& change) {
  CLONEFS_ASSIGN_OR_RETURN(size_t i, FindAccessible(account, ref, access));
  std::vector<KeyRecord> records = state_->records;
  CLONEFS_RETURN_IF_ERROR(change(records[i]));
  return Persist(std::move(records));
}

Result<KeyMetadata> KeyStore::Describe(const std::string& account, std::string_view ref) {
  CLONEFS_ASSIGN_OR_RETURN(size_t i, FindAccessible(account, ref, internal::Access::kDescribe));
  return internal::MakeMetadata(state_->records[i], region_, account);
}

Result<WrappedDek> KeyStore::WrapDek(const std::string& account, std::string_view key_ref,
                                     uint64_t dek_id, const SecretBytes& dek,
                                     std::string_view context) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAccount(account));
  CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  if (dek_id == 0 || dek.size() != kDekSize) {
    return Status::InvalidArgument("a DEK needs a non-zero id and exactly 32 bytes");
  }
  CLONEFS_ASSIGN_OR_RETURN(size_t i, internal::FindKey(state_->records, region_, account, key_ref));
  const KeyRecord& key = state_->records[i];
  CLONEFS_RETURN_IF_ERROR(
      internal::CheckAccess(key, account, key_ref, internal::Access::kReEncrypt));
  CLONEFS_RETURN_IF_ERROR(internal::CheckSymmetric(key));
  CLONEFS_RETURN_IF_ERROR(internal::CheckUsable(key));
  CLONEFS_ASSIGN_OR_RETURN(const Aes256GcmKey* kek, UnsealedKek(*state_, key, key.primary_version));

  WrappedDek wrapped;
  wrapped.dek_id = dek_id;
  wrapped.key_id = key.key_id;
  wrapped.key_version = key.primary_version;
  CLONEFS_ASSIGN_OR_RETURN(wrapped.iv, RandomNonce());
  char sealed[kDekSize + kTagSize];
  CLONEFS_RETURN_IF_ERROR(
      kek->Seal(wrapped.iv, internal::DekWrapAad(key.key_id, key.primary_version, dek_id, context),
                dek.view(), sealed));
  std::memcpy(wrapped.ct.data(), sealed, kDekSize);
  std::memcpy(wrapped.tag.data(), sealed + kDekSize, kTagSize);
  return wrapped;
}

Result<SecretBytes> KeyStore::UnwrapDek(const std::string& account, const WrappedDek& wrapped,
                                        std::string_view context) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAccount(account));
  CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  const std::string& ref = wrapped.key_id;
  if (!internal::IsKeyId(ref)) return internal::KeyNotFound(ref);
  CLONEFS_ASSIGN_OR_RETURN(size_t i, internal::FindKey(state_->records, region_, account, ref));
  const KeyRecord& key = state_->records[i];
  CLONEFS_RETURN_IF_ERROR(internal::CheckAccess(key, account, ref, internal::Access::kDecrypt));
  CLONEFS_RETURN_IF_ERROR(internal::CheckSymmetric(key));
  CLONEFS_RETURN_IF_ERROR(internal::CheckUsable(key));
  CLONEFS_ASSIGN_OR_RETURN(const Aes256GcmKey* kek, UnsealedKek(*state_, key, wrapped.key_version));

  std::string sealed(reinterpret_cast<const char*>(wrapped.ct.data()), wrapped.ct.size());
  sealed.append(reinterpret_cast<const char*>(wrapped.tag.data()), wrapped.tag.size());
  SecretBytes dek(kDekSize, SecretBytes::Memory::kLocked);
  Status s = kek->Open(
      wrapped.iv, internal::DekWrapAad(key.key_id, wrapped.key_version, wrapped.dek_id, context),
      sealed, reinterpret_cast<char*>(dek.data()));
  if (!s.ok()) {
    if (!s.IsCorruption()) return s;
    return Status::Corruption("wrapped DEK " + DekIdToHex(wrapped.dek_id) +
                              " does not unwrap under " + key.key_id + " version " +
                              std::to_string(wrapped.key_version) +
                              ": the context differs or the wrapped key is damaged");
  }
  return dek;
}

Status KeyStore::CheckOperation(const std::string& account, std::string_view ref, KeyOperation op) {
  std::lock_guard<std::mutex> lock(mu_);
  internal::Access access = internal::Access::kDecrypt;
  if (op == KeyOperation::kReEncrypt) access = internal::Access::kReEncrypt;
  if (op == KeyOperation::kCreateGrant) access = internal::Access::kCreateGrant;
  CLONEFS_ASSIGN_OR_RETURN(size_t i, FindAccessible(account, ref, access));
  const KeyRecord& key = state_->records[i];
  CLONEFS_RETURN_IF_ERROR(internal::CheckSymmetric(key));
  return internal::CheckUsable(key);
}

Result<std::string> KeyStore::KeyArn(std::string_view key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  for (const KeyRecord& key : state_->records) {
    if (key.key_id == key_id) return internal::Arn(region_, key);
  }
  return internal::KeyNotFound(key_id);
}

Result<std::string> KeyStore::GetPublicKey(const std::string& account, std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_ASSIGN_OR_RETURN(size_t i, FindAccessible(account, ref, internal::Access::kDescribe));
  const KeyRecord& key = state_->records[i];
  if (!key.recipient) {
    return internal::InvalidKeyUsage("key " + key.key_id +
                                     " is a symmetric key; it has no public key");
  }
  CLONEFS_RETURN_IF_ERROR(internal::CheckUsable(key));
  return key.public_pem;
}

Result<SecretBytes> KeyStore::OpenForRecipient(const std::string& account,
                                               std::string_view fingerprint,
                                               std::string_view envelope,
                                               std::string_view context) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAccount(account));
  CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  constexpr auto kDecrypt = static_cast<internal::OperationSet>(KeyOperation::kDecrypt);
  const KeyRecord* key = nullptr;
  for (const KeyRecord& k : state_->records) {
    // A key the account may not open envelopes with is not a candidate at all, so that it
    // answers exactly as a key that is not there.
    if (k.recipient && k.fingerprint == fingerprint &&
        (internal::AllowedOperations(k, account) & kDecrypt) != 0) {
      key = &k;
      break;
    }
  }
  if (key == nullptr) {
    return Status::NotFound("no key of this store is the recipient " + std::string(fingerprint))
        .WithName(errors::kKeyNotFound);
  }
  CLONEFS_RETURN_IF_ERROR(internal::CheckUsable(*key));
  CLONEFS_ASSIGN_OR_RETURN(const SecretBytes* private_pem, UnsealedPrivateKey(*state_, *key));
  return OpenAsRecipient(*private_pem, envelope, context);
}

}  // namespace clonefs::crypto
