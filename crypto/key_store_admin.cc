// KeyStore: key administration (create, alias, policy, grants, state changes, rotation).
#include <algorithm>

#include "base/error_names.h"
#include "crypto/key_store.h"
#include "crypto/key_store_internal.h"

namespace clonefs::crypto {

using internal::Access;
using internal::KeyRecord;

namespace {

constexpr uint64_t kMicrosPerDay = uint64_t{86400} * 1000 * 1000;
constexpr size_t kMaxDescription = 8192;
constexpr std::string_view kDefaultAlias = "default";

std::string_view StripAliasPrefix(std::string_view alias) {
  return alias.substr(0, 6) == "alias/" ? alias.substr(6) : alias;
}

Status ValidateDescription(std::string_view description) {
  if (description.size() > kMaxDescription) {
    return Status::InvalidArgument("a key description is limited to 8192 bytes");
  }
  // Stored as a JSON string, which must be valid UTF-8.
  try {
    (void)nlohmann::json(std::string(description)).dump();
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("a key description must be valid UTF-8");
  }
  return Status::OK();
}

bool AliasTaken(const std::vector<KeyRecord>& records, std::string_view account,
                std::string_view alias) {
  for (const KeyRecord& k : records) {
    if (k.owner == account &&
        std::find(k.aliases.begin(), k.aliases.end(), alias) != k.aliases.end()) {
      return true;
    }
  }
  return false;
}

Status AliasExists(std::string_view alias) {
  return Status::AlreadyExists("alias '" + std::string(alias) + "' is already in use")
      .WithName(errors::kKeyAlreadyExists);
}

// Fresh key material for version `version` of `key`, sealed under the store's seal key. The
// clear bytes exist only in locked memory and only for the length of this call.
Result<internal::SealedKeyVersion> SealNewVersion(const internal::KeyStoreState& state,
                                                  const KeyRecord& key, uint32_t version,
                                                  uint64_t now_us) {
  CLONEFS_ASSIGN_OR_RETURN(SecretBytes material,
                           SecretBytes::Random(kAeadKeySize, SecretBytes::Memory::kLocked));
  internal::SealedKeyVersion v;
  v.version = version;
  v.creation_date_us = now_us;
  CLONEFS_ASSIGN_OR_RETURN(v.iv, RandomNonce());
  CLONEFS_RETURN_IF_ERROR(state.keys.seal->Seal(
      v.iv, internal::KekSealAad(state.keystore_id, key.key_id, key.owner, version),
      material.view(), &v.sealed));
  return v;
}

// The private key of `pair` as the only version of recipient key `key`, sealed under the
// store's seal key with its own associated data (so that it can never be taken for a KEK).
Result<internal::SealedKeyVersion> SealPrivateKey(const internal::KeyStoreState& state,
                                                  const KeyRecord& key,
                                                  const RecipientKeyPair& pair, uint64_t now_us) {
  internal::SealedKeyVersion v;
  v.version = 1;
  v.creation_date_us = now_us;
  CLONEFS_ASSIGN_OR_RETURN(v.iv, RandomNonce());
  CLONEFS_RETURN_IF_ERROR(state.keys.seal->Seal(
      v.iv, internal::RecipientSealAad(state.keystore_id, key.key_id, key.owner, pair.kind),
      pair.private_pem.view(), &v.sealed));
  if (v.sealed.size() > internal::kMaxSealedPrivateKey) {
    return Status::InvalidArgument("the private key of a recipient key is too large to store");
  }
  return v;
}

// `records` (sorted by key id) with `key` added in its place.
std::vector<KeyRecord> WithKey(const std::vector<KeyRecord>& records, const KeyRecord& key) {
  std::vector<KeyRecord> out = records;
  auto pos =
      std::lower_bound(out.begin(), out.end(), key.key_id,
                       [](const KeyRecord& r, const std::string& id) { return r.key_id < id; });
  out.insert(pos, key);
  return out;
}

Status RefuseForDefaultKey(const KeyRecord& key, std::string_view what) {
  if (!key.is_default) return Status::OK();
  return internal::Unsupported("the default key " + key.key_id + " cannot be " + std::string(what));
}

}  // namespace

Result<KeyRecord> KeyStore::NewKey(const std::string& account, bool is_default,
                                   std::string_view alias, std::string_view description,
                                   const RecipientKeyPair* pair) {
  KeyRecord key;
  do {
    key.key_id = internal::NewKeyId();
  } while (internal::FindKey(state_->records, region_, account, key.key_id).ok());
  key.owner = account;
  if (!alias.empty()) key.aliases.emplace_back(alias);
  key.description = std::string(description);
  key.is_default = is_default;
  key.creation_date_us = env_->NowMicros();
  key.primary_version = 1;
  if (pair == nullptr) {
    CLONEFS_ASSIGN_OR_RETURN(auto version, SealNewVersion(*state_, key, 1, key.creation_date_us));
    key.versions.push_back(std::move(version));
    return key;
  }
  CLONEFS_ASSIGN_OR_RETURN(RecipientInfo info, DescribePublicKey(pair->public_pem));
  if (info.kind != pair->kind) {
    return Status::InvalidArgument("the generated key pair is not of the kind asked for");
  }
  key.recipient = pair->kind;
  key.public_pem = pair->public_pem;
  key.fingerprint = std::move(info.fingerprint);
  CLONEFS_ASSIGN_OR_RETURN(auto version, SealPrivateKey(*state_, key, *pair, key.creation_date_us));
  key.versions.push_back(std::move(version));
  return key;
}

Result<KeyMetadata> KeyStore::AddKey(const std::string& account, std::string_view alias,
                                     std::string_view description, const RecipientKeyPair* pair) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  if (!alias.empty() && AliasTaken(state_->records, account, alias)) return AliasExists(alias);
  CLONEFS_ASSIGN_OR_RETURN(KeyRecord key, NewKey(account, false, alias, description, pair));
  CLONEFS_RETURN_IF_ERROR(Persist(WithKey(state_->records, key)));
  return internal::MakeMetadata(key, region_, account);
}

Result<KeyMetadata> KeyStore::CreateKey(const std::string& account, std::string_view alias,
                                        std::string_view description) {
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAccount(account));
  alias = StripAliasPrefix(alias);
  if (!alias.empty()) CLONEFS_RETURN_IF_ERROR(internal::ValidateAlias(alias));
  CLONEFS_RETURN_IF_ERROR(ValidateDescription(description));
  return AddKey(account, alias, description, nullptr);
}

Result<KeyMetadata> KeyStore::CreateRecipientKey(const std::string& account, RecipientKind kind,
                                                 std::string_view alias,
                                                 std::string_view description) {
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAccount(account));
  alias = StripAliasPrefix(alias);
  if (!alias.empty()) CLONEFS_RETURN_IF_ERROR(internal::ValidateAlias(alias));
  CLONEFS_RETURN_IF_ERROR(ValidateDescription(description));
  {
    // Fail fast, before the (slow, for RSA) key generation, when the store is locked.
    std::lock_guard<std::mutex> lock(mu_);
    CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  }
  // Generated without holding the store: an RSA key takes up to a second or so.
  CLONEFS_ASSIGN_OR_RETURN(RecipientKeyPair pair, GenerateRecipientKey(kind));
  return AddKey(account, alias, description, &pair);
}

Result<KeyMetadata> KeyStore::DefaultKey(const std::string& account) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAccount(account));
  CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  for (const KeyRecord& k : state_->records) {
    if (k.owner == account && k.is_default) return internal::MakeMetadata(k, region_, account);
  }
  CLONEFS_ASSIGN_OR_RETURN(KeyRecord key,
                           NewKey(account, true, kDefaultAlias, "Default key for " + account));
  CLONEFS_RETURN_IF_ERROR(Persist(WithKey(state_->records, key)));
  return internal::MakeMetadata(key, region_, account);
}

Result<std::vector<KeyMetadata>> KeyStore::ListKeys(const std::string& account) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAccount(account));
  CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  std::vector<KeyMetadata> keys;
  for (const KeyRecord& k : state_->records) {  // records are sorted by key id
    if (k.owner == account) keys.push_back(internal::MakeMetadata(k, region_, account));
  }
  return keys;
}

Result<KeyMetadata> KeyStore::DescribeKey(const std::string& account, std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  return Describe(account, ref);
}

Status KeyStore::CreateAlias(const std::string& account, std::string_view alias,
                             std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  alias = StripAliasPrefix(alias);
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAlias(alias));
  return UpdateKey(account, ref, Access::kOwner, [&](KeyRecord& key) {
    if (AliasTaken(state_->records, account, alias)) return AliasExists(alias);
    key.aliases.emplace_back(alias);
    std::sort(key.aliases.begin(), key.aliases.end());
    return Status::OK();
  });
}

Status KeyStore::DeleteAlias(const std::string& account, std::string_view alias) {
  std::lock_guard<std::mutex> lock(mu_);
  alias = StripAliasPrefix(alias);
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAlias(alias));  // refuses "default" too
  // Resolving the alias among the account's own keys finds the one key that carries it.
  return UpdateKey(account, alias, Access::kOwner, [&](KeyRecord& key) {
    key.aliases.erase(std::find(key.aliases.begin(), key.aliases.end(), alias));
    return Status::OK();
  });
}

Result<std::string> KeyStore::GetPolicy(const std::string& account, std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_ASSIGN_OR_RETURN(size_t i, FindAccessible(account, ref, Access::kOwner));
  return internal::PolicyToJson(state_->records[i].policy).dump();
}

Status KeyStore::PutPolicy(const std::string& account, std::string_view ref,
                           std::string_view policy) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_ASSIGN_OR_RETURN(internal::Policy parsed, internal::ParsePolicy(policy));
  return UpdateKey(account, ref, Access::kOwner, [&](KeyRecord& key) {
    for (const auto& entry : parsed) {
      if (entry.first != key.owner) {
        CLONEFS_RETURN_IF_ERROR(RefuseForDefaultKey(key, "shared with another account"));
      }
    }
    key.policy = std::move(parsed);
    return Status::OK();
  });
}

Result<std::string> KeyStore::CreateGrant(const std::string& account, std::string_view ref,
                                          const std::string& grantee,
                                          const std::vector<KeyOperation>& operations) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(internal::ValidateAccount(grantee));
  internal::OperationSet ops = 0;
  for (KeyOperation op : operations) ops |= static_cast<internal::OperationSet>(op);
  if (ops == 0) return Status::InvalidArgument("a grant needs at least one operation");
  std::string grant_id = internal::NewGrantId();
  Status s = UpdateKey(account, ref, Access::kCreateGrant, [&](KeyRecord& key) {
    if ((internal::AllowedOperations(key, account) & ops) != ops) {
      return internal::AccessDenied("account " + account +
                                    " may grant only operations it may perform itself");
    }
    if (grantee != key.owner) {
      CLONEFS_RETURN_IF_ERROR(RefuseForDefaultKey(key, "shared with another account"));
    }
    if (key.state == KeyState::kPendingDeletion) {
      return internal::InvalidKeyState("key " + key.key_id + " is pending deletion");
    }
    key.grants.push_back({grant_id, grantee, ops, env_->NowMicros()});
    return Status::OK();
  });
  CLONEFS_RETURN_IF_ERROR(s);
  return grant_id;
}

Result<std::vector<KeyGrant>> KeyStore::ListGrants(const std::string& account,
                                                   std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_ASSIGN_OR_RETURN(size_t i, FindAccessible(account, ref, Access::kDescribe));
  const KeyRecord& key = state_->records[i];
  std::vector<KeyGrant> grants;
  for (const internal::GrantRecord& g : key.grants) {
    // The owner sees every grant; anyone else only the grants made to it.
    if (key.owner != account && g.grantee != account) continue;
    KeyGrant out{g.grant_id, g.grantee, {}, g.creation_date_us};
    for (KeyOperation op :
         {KeyOperation::kDecrypt, KeyOperation::kReEncrypt, KeyOperation::kCreateGrant}) {
      if ((g.operations & static_cast<internal::OperationSet>(op)) != 0) {
        out.operations.push_back(op);
      }
    }
    grants.push_back(std::move(out));
  }
  return grants;
}

Status KeyStore::RevokeGrant(const std::string& account, std::string_view ref,
                             std::string_view grant_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return UpdateKey(account, ref, Access::kDescribe, [&](KeyRecord& key) {
    auto it = std::find_if(key.grants.begin(), key.grants.end(),
                           [&](const internal::GrantRecord& g) { return g.grant_id == grant_id; });
    // A grantee may give up its own grant; only the owner may revoke anyone else's.
    if (it == key.grants.end() || (key.owner != account && it->grantee != account)) {
      return Status::NotFound("grant '" + std::string(grant_id) + "' does not exist")
          .WithName(errors::kKeyNotFound);
    }
    key.grants.erase(it);
    return Status::OK();
  });
}

Status KeyStore::DisableKey(const std::string& account, std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  return UpdateKey(account, ref, Access::kOwner, [&](KeyRecord& key) {
    CLONEFS_RETURN_IF_ERROR(RefuseForDefaultKey(key, "disabled"));
    if (key.state == KeyState::kPendingDeletion) {
      return internal::InvalidKeyState("key " + key.key_id + " is pending deletion");
    }
    key.state = KeyState::kDisabled;
    return Status::OK();
  });
}

Status KeyStore::EnableKey(const std::string& account, std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  return UpdateKey(account, ref, Access::kOwner, [&](KeyRecord& key) {
    if (key.state == KeyState::kPendingDeletion) {
      return internal::InvalidKeyState("key " + key.key_id +
                                       " is pending deletion; cancel the deletion first");
    }
    key.state = KeyState::kEnabled;
    return Status::OK();
  });
}

Result<KeyMetadata> KeyStore::ScheduleKeyDeletion(const std::string& account, std::string_view ref,
                                                  int days) {
  std::lock_guard<std::mutex> lock(mu_);
  if (days < 7 || days > 30) {
    return Status::InvalidArgument("the deletion waiting period must be 7 to 30 days, not " +
                                   std::to_string(days));
  }
  CLONEFS_RETURN_IF_ERROR(UpdateKey(account, ref, Access::kOwner, [&](KeyRecord& key) {
    CLONEFS_RETURN_IF_ERROR(RefuseForDefaultKey(key, "deleted"));
    if (key.state == KeyState::kPendingDeletion) {
      return internal::InvalidKeyState("key " + key.key_id + " is already pending deletion");
    }
    key.state = KeyState::kPendingDeletion;
    key.deletion_date_us = env_->NowMicros() + static_cast<uint64_t>(days) * kMicrosPerDay;
    return Status::OK();
  }));
  return Describe(account, ref);
}

Status KeyStore::CancelKeyDeletion(const std::string& account, std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  return UpdateKey(account, ref, Access::kOwner, [&](KeyRecord& key) {
    if (key.state != KeyState::kPendingDeletion) {
      return internal::InvalidKeyState("key " + key.key_id + " is not pending deletion");
    }
    key.state = KeyState::kDisabled;  // as AWS KMS does: enabling it is a separate decision
    key.deletion_date_us = 0;
    return Status::OK();
  });
}

Result<KeyMetadata> KeyStore::RotateKey(const std::string& account, std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(UpdateKey(account, ref, Access::kOwner, [&](KeyRecord& key) {
    if (key.recipient) {
      return internal::Unsupported("key " + key.key_id + " is an " + internal::KeySpecName(key) +
                                   " key; asymmetric keys cannot be rotated");
    }
    CLONEFS_RETURN_IF_ERROR(internal::CheckUsable(key));
    const uint32_t version = static_cast<uint32_t>(key.versions.size()) + 1;
    CLONEFS_ASSIGN_OR_RETURN(auto sealed, SealNewVersion(*state_, key, version, env_->NowMicros()));
    key.versions.push_back(std::move(sealed));
    key.primary_version = version;
    return Status::OK();
  }));
  return Describe(account, ref);
}

Result<size_t> KeyStore::DeleteExpiredKeys() {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_RETURN_IF_ERROR(CheckUnlocked());
  const uint64_t now = env_->NowMicros();
  std::vector<KeyRecord> kept;
  std::vector<std::string> deleted;
  for (const KeyRecord& k : state_->records) {
    if (k.state == KeyState::kPendingDeletion && k.deletion_date_us <= now) {
      deleted.push_back(k.key_id);
    } else {
      kept.push_back(k);
    }
  }
  if (deleted.empty()) return size_t{0};
  CLONEFS_RETURN_IF_ERROR(Persist(std::move(kept)));
  // Drop the unsealed copies too: the key must be gone from memory as well as from disk.
  for (auto it = state_->keks.begin(); it != state_->keks.end();) {
    bool gone = std::find(deleted.begin(), deleted.end(), it->first.first) != deleted.end();
    it = gone ? state_->keks.erase(it) : std::next(it);
  }
  for (const std::string& key_id : deleted) state_->private_keys.erase(key_id);
  return deleted.size();
}

}  // namespace clonefs::crypto
