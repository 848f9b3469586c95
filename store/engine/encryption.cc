// Encrypted volumes in the store: the key store, key rings, access checks, inheritance by
// clones and restores, rekey, and what a key's change of state does (docs/ENCRYPTION.md).
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "base/coding.h"
#include "base/error_names.h"
#include "crypto/hex.h"
#include "store/engine/store_impl.h"
#include "store/meta/catalog_codec.h"

namespace clonefs::store {
namespace {

constexpr char kKeyStoreDir[] = "/keys";

Status NotEncrypted(const std::string& volume) {
  return errors::InvalidParameterCombination(
      "volume '" + volume +
      "' is not encrypted, so a clone or restore of it cannot be encrypted either; to "
      "encrypt its data, create an encrypted volume and copy the data into it");
}

// Why a volume or snapshot (`what`: "volume 'db'") cannot be opened: an IOError with EACCES
// (what open(2) then reports), named KMSKeyNotAccessible.
Status OpenRefused(const std::string& what, const std::string& key_id, const std::string& why) {
  return errors::KmsKeyNotAccessible(what + " is encrypted with KMS key " + key_id +
                                     ", which is not accessible: " + why);
}

}  // namespace

Status StoreImpl::OpenEncryption() {
  std::optional<std::string> uuid = crypto::HexDecode(info_.store_uuid);
  if (!uuid || uuid->size() != kStoreUuidSize) {
    return Status::Corruption("FORMAT has no valid store_uuid");
  }
  std::memcpy(encryption_.store_uuid.data(), uuid->data(), kStoreUuidSize);
  encryption_.account = info_.account_id;
  encryption_.db = db_.get();
  crypto::KeyStoreOptions ko;
  ko.env = env();
  const crypto::RootSecret none = crypto::RootSecret::None();
  const crypto::RootSecret& root = options_.root_secret ? *options_.root_secret : none;
  CLONEFS_ASSIGN_OR_RETURN(key_store_,
                           crypto::KeyStore::Open(dir_ + kKeyStoreDir, info_.region, root, ko));
  encryption_.keys = key_store_.get();
  key_service_ = std::make_unique<KeyService>(
      key_store_.get(), info_.account_id,
      [this](const std::string& key_id) { OnKeyStateChanged(key_id); });
  if (key_store_->locked()) {
    bool any_encrypted = false;
    for (const auto& [id, vol] : catalog_.all_volumes())
      any_encrypted = any_encrypted || vol->info.encrypted;
    // Only worth a warning where there is something it keeps from being read.
    spdlog::log(any_encrypted ? spdlog::level::warn : spdlog::level::info,
                "store {}: key store locked ({}); encrypted volumes cannot be opened", dir_,
                key_store_->lock_reason().message());
  }

  std::map<uint64_t, std::vector<crypto::WrappedDek>> rings;
  CLONEFS_RETURN_IF_ERROR(keys::ScanPrefix(
      *db_, keys::KeyRingPrefix(), [&](std::string_view key, std::string_view value) {
        if (key.size() != 17) return Status::Corruption("bad key ring entry");
        CLONEFS_ASSIGN_OR_RETURN(crypto::WrappedDek w, crypto::WrappedDek::Parse(value));
        if (w.dek_id != GetBE64(key.data() + 9)) {
          return Status::Corruption("key ring entry under the wrong data key id");
        }
        rings[GetBE64(key.data() + 1)].push_back(std::move(w));
        return Status::OK();
      }));
  for (const auto& [id, vol] : catalog_.all_volumes()) {
    if (!vol->info.encrypted) continue;
    vol->ring =
        std::make_shared<VolumeKeyRing>(&encryption_, AccountOf(vol->info.name), id, vol->info.name,
                                        vol->info.kms_key_id, std::move(rings[id]));
  }
  return Status::OK();
}

std::string StoreImpl::AccountOf(std::string_view store_name) const {
  std::string_view account = AccountOfStoreName(store_name);
  return account.empty() ? info_.account_id : std::string(account);
}

std::unique_ptr<KeyService> StoreImpl::KeysOf(const std::string& account) {
  return std::make_unique<KeyService>(
      key_store_.get(), account, [this](const std::string& key_id) { OnKeyStateChanged(key_id); });
}

Result<std::string> StoreImpl::UsableKmsKey(const std::string& ref, const std::string& account) {
  return KeysOf(account)->UsableKeyId(ref);
}

Status StoreImpl::CheckKeyAccess(const VolumeState& vol, const std::string& what) {
  std::shared_ptr<VolumeKeyRing> ring;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);  // CloneInto may install a ring meanwhile
    ring = vol.ring;
  }
  if (ring == nullptr) return Status::OK();
  const std::string kek = ring->kek_id();
  if (key_store_->locked()) {
    return OpenRefused(what, kek,
                       "the key store is locked: " + key_store_->lock_reason().message());
  }
  Result<crypto::KeyMetadata> key = key_store_->DescribeKey(ring->account(), kek);
  if (!key.ok()) return OpenRefused(what, kek, key.status().message());
  if (key->state != crypto::KeyState::kEnabled) {
    return OpenRefused(what, kek, "it is " + std::string(crypto::KeyStateName(key->state)));
  }
  // The volume's account may see the key yet no longer decrypt with it (its policy changed).
  Status use = key_store_->CheckOperation(ring->account(), kek, crypto::KeyOperation::kDecrypt);
  if (!use.ok()) return OpenRefused(what, kek, use.message());
  if (ring->blocked()) return OpenRefused(what, kek, ring->BlockedStatus().message());
  return Status::OK();
}

Result<StoreImpl::InheritedKeys> StoreImpl::InheritKeyRing(const VolumeState& source,
                                                           uint64_t target_id,
                                                           const std::string& kms_key,
                                                           const std::string& account) {
  InheritedKeys keys;
  if (source.ring == nullptr) {
    if (!kms_key.empty()) return NotEncrypted(source.info.name);
    return keys;
  }
  keys.encrypted = true;
  keys.kms_key_id = kms_key.empty() ? source.ring->kek_id() : kms_key;
  CLONEFS_ASSIGN_OR_RETURN(keys.deks, source.ring->RewrapAll(target_id, keys.kms_key_id, account));
  return keys;
}

void StoreImpl::PutKeyRing(uint64_t volume_id, const InheritedKeys& keys, MetaBatch* batch) {
  batch->DeleteRange(keys::KeyRingPrefix(volume_id), keys::KeyRingPrefix(volume_id + 1));
  for (const crypto::WrappedDek& w : keys.deks) {
    batch->Put(keys::KeyRingKey(volume_id, w.dek_id), w.Serialize());
  }
}

std::shared_ptr<VolumeKeyRing> StoreImpl::MakeKeyRing(const VolumeInfo& v, InheritedKeys keys) {
  if (!keys.encrypted) return nullptr;
  return std::make_shared<VolumeKeyRing>(&encryption_, AccountOf(v.name), v.id, v.name,
                                         std::move(keys.kms_key_id), std::move(keys.deks));
}

Result<VolumeInfo> StoreImpl::RekeyVolume(const std::string& name, const std::string& kms_key) {
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(name));
  CLONEFS_ASSIGN_OR_RETURN(std::string kek, UsableKmsKey(kms_key, AccountOf(name)));
  // Exclusive: no write in flight can add a data key to the ring while it is re-wrapped.
  std::unique_lock<std::shared_mutex> io(vol->io_mu);
  if (vol->deleted) {
    return errors::VolumeNotFound(name);
  }
  if (vol->ring == nullptr) {
    return errors::InvalidVolumeState("volume '" + name +
                                      "' is not encrypted; only an encrypted volume can be "
                                      "re-keyed");
  }
  const std::string old_kek = vol->ring->kek_id();
  InheritedKeys keys;
  keys.encrypted = true;
  keys.kms_key_id = kek;
  CLONEFS_ASSIGN_OR_RETURN(keys.deks,
                           vol->ring->RewrapAll(vol->info.id, kek, vol->ring->account()));
  VolumeInfo updated;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    updated = vol->info;
  }
  updated.kms_key_id = kek;
  MetaBatch b;
  PutKeyRing(updated.id, keys, &b);
  b.Put(keys::VolumeKey(updated.id), EncodeVolume(updated));
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  const size_t count = keys.deks.size();
  vol->ring->Replace(kek, std::move(keys.deks));
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    vol->info.kms_key_id = kek;
  }
  spdlog::info("volume {} re-keyed from KMS key {} to {} ({} data keys re-wrapped)", name, old_kek,
               kek, count);
  return updated;
}

bool StoreImpl::ReplayedRecordAuthentic(const VolumeState& vol, const RecordHeader& h,
                                        std::string_view payload) {
  if (vol.ring == nullptr) return true;
  Status s;
  if (h.cipher != kCipherAes256Gcm) {
    s = Status::Corruption("unsealed record in an encrypted volume");
  } else if (h.type == RecordType::kDiscard) {
    // A discard has no content to read later: its (empty) payload's tag is checked now, when
    // the key is at hand; without the key it is applied as it is (and logged).
    char none[1];
    s = vol.ring->Open(h, payload, none);
    if (!s.ok() && !s.IsCorruption()) {
      spdlog::warn("volume {}: discard of pages {}..{} replayed unverified: {}", vol.info.name,
                   h.page_no, h.page_no + h.count - 1, s.message());
      return true;
    }
  }
  if (s.ok()) return true;
  spdlog::error("Corruption: volume {} page {}: log record seq {} skipped at recovery: {}",
                vol.info.name, h.page_no, h.seq, s.message());
  return false;
}

void StoreImpl::OnKeyStateChanged(const std::string& key_id) {
  std::vector<std::shared_ptr<VolumeKeyRing>> rings;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    for (const auto& [id, vol] : catalog_.all_volumes()) {
      if (vol->ring != nullptr && vol->ring->kek_id() == key_id) rings.push_back(vol->ring);
    }
  }
  // Each ring as its own account sees the key: the owner's volumes and another account's
  // (under a key shared with it) alike.
  for (auto& ring : rings) {
    Status why;
    Result<crypto::KeyMetadata> key = key_store_->DescribeKey(ring->account(), key_id);
    if (!key.ok()) {
      why = key.status();
    } else if (key->state != crypto::KeyState::kEnabled) {
      why = Status::InvalidState("the key is " + std::string(crypto::KeyStateName(key->state)));
    }
    if (why.ok()) {
      ring->Unblock();
    } else {
      ring->Block(why);
    }
  }
}

}  // namespace clonefs::store
