#include "store/keys/volume_key_ring.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "base/coding.h"
#include "base/error_names.h"
#include "store/meta/keys.h"

namespace clonefs::store {
namespace {

constexpr char kRecordAadLabel[] = "clonefs/page/v1";
constexpr char kDekContextLabel[] = "clonefs/volume-dek/v1";

// Length-prefixed, as the key store encodes its own associated data: no two different field
// lists encode alike.
void AppendField(std::string* s, std::string_view field) {
  AppendBE32(s, static_cast<uint32_t>(field.size()));
  s->append(field.data(), field.size());
}

std::string_view UuidBytes(const StoreUuid& uuid) {
  return {reinterpret_cast<const char*>(uuid.data()), uuid.size()};
}

crypto::Nonce ToNonce(const std::array<uint8_t, kRecordNonceSize>& n) {
  crypto::Nonce out;
  static_assert(sizeof(out) == kRecordNonceSize);
  std::copy(n.begin(), n.end(), out.begin());
  return out;
}

}  // namespace

RecordAadBytes RecordAad(const StoreUuid& store_uuid, const RecordHeader& h) {
  static_assert(sizeof(kRecordAadLabel) - 1 == 15);
  RecordAadBytes aad;
  char* p = aad.data();
  auto put = [&p](uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) *p++ = static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  std::memcpy(p, kRecordAadLabel, 15);
  p += 15;
  std::memcpy(p, store_uuid.data(), kStoreUuidSize);
  p += kStoreUuidSize;
  put(h.seq, 8);
  put(h.volume_id, 8);
  put(h.page_no, 8);
  put(h.epoch, 8);
  put(h.type == RecordType::kDiscard ? 2 : 1, 1);
  put(static_cast<uint8_t>(h.codec), 1);
  put(h.plain_len, 4);
  put(h.payload_len, 4);
  put(h.count, 8);
  put(h.dek_id, 8);
  return aad;
}

std::string DekWrapContext(const StoreUuid& store_uuid, const std::string& account,
                           uint64_t volume_id) {
  std::string ctx;
  AppendField(&ctx, kDekContextLabel);
  AppendField(&ctx, UuidBytes(store_uuid));
  AppendField(&ctx, account);
  std::string id;
  AppendBE64(&id, volume_id);
  AppendField(&ctx, id);
  return ctx;
}

Status KeyNotAccessible(const std::string& volume, const std::string& key_id, const Status& why) {
  return errors::Named(errors::kKmsKeyNotAccessible,
                       Status::IOError("volume '" + volume + "': KMS key " + key_id +
                                           " is not accessible: " + why.message(),
                                       EIO));
}

VolumeKeyRing::VolumeKeyRing(const EncryptionEnv* env, std::string account, uint64_t volume_id,
                             std::string volume_name, std::string kek_id,
                             std::vector<crypto::WrappedDek> deks)
    : env_(env),
      account_(std::move(account)),
      volume_id_(volume_id),
      volume_name_(std::move(volume_name)),
      kek_id_(std::move(kek_id)),
      deks_(std::move(deks)) {}

std::string VolumeKeyRing::kek_id() const {
  std::shared_lock<std::shared_mutex> l(mu_);
  return kek_id_;
}

std::vector<crypto::WrappedDek> VolumeKeyRing::wrapped() const {
  std::shared_lock<std::shared_mutex> l(mu_);
  return deks_;
}

Status VolumeKeyRing::BlockedStatus() const {
  std::shared_lock<std::shared_mutex> l(mu_);
  return blocked_status_;
}

const crypto::WrappedDek* VolumeKeyRing::FindLocked(uint64_t dek_id) const {
  for (const auto& w : deks_) {
    if (w.dek_id == dek_id) return &w;
  }
  return nullptr;
}

Result<std::shared_ptr<crypto::PageCipher>> VolumeKeyRing::NewWriterLocked() {
  crypto::Dek dek;
  do {
    CLONEFS_ASSIGN_OR_RETURN(dek, crypto::GenerateDek());
  } while (FindLocked(dek.id) != nullptr);  // ids are random: a repeat is astronomically rare
  Result<crypto::WrappedDek> wrapped =
      env_->keys->WrapDek(account_, kek_id_, dek.id, dek.key,
                          DekWrapContext(env_->store_uuid, env_->account, volume_id_));
  if (!wrapped.ok()) return KeyNotAccessible(volume_name_, kek_id_, wrapped.status());
  CLONEFS_ASSIGN_OR_RETURN(std::unique_ptr<crypto::PageCipher> cipher,
                           crypto::PageCipher::Create(dek.id, dek.key));
  // Durable before the first record names it: a record must never outlive its DEK's wrapping.
  MetaBatch b;
  b.Put(keys::KeyRingKey(volume_id_, dek.id), wrapped->Serialize());
  CLONEFS_RETURN_IF_ERROR(env_->db->Write(b, /*sync=*/true));
  deks_.push_back(*wrapped);
  std::shared_ptr<crypto::PageCipher> shared(std::move(cipher));
  ciphers_[dek.id] = shared;
  writer_ = shared;
  spdlog::info("volume {}: new data key {} under KMS key {} for this process's writes",
               volume_name_, crypto::DekIdToHex(dek.id), kek_id_);
  return shared;
}

Result<std::shared_ptr<crypto::PageCipher>> VolumeKeyRing::Writer() {
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (blocked_.load(std::memory_order_acquire)) return blocked_status_;
    if (writer_ != nullptr && !writer_->NeedsNewDek()) return writer_;
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  if (blocked_.load(std::memory_order_acquire)) return blocked_status_;
  if (writer_ != nullptr && !writer_->NeedsNewDek()) return writer_;
  return NewWriterLocked();
}

Result<std::shared_ptr<crypto::PageCipher>> VolumeKeyRing::Opener(uint64_t dek_id) {
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (blocked_.load(std::memory_order_acquire)) return blocked_status_;
    auto it = ciphers_.find(dek_id);
    if (it != ciphers_.end()) return it->second;
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  if (blocked_.load(std::memory_order_acquire)) return blocked_status_;
  auto it = ciphers_.find(dek_id);
  if (it != ciphers_.end()) return it->second;
  const crypto::WrappedDek* w = FindLocked(dek_id);
  if (w == nullptr) {
    return Status::Corruption("sealed with data key " + crypto::DekIdToHex(dek_id) +
                              ", which the volume's key ring does not hold");
  }
  Result<crypto::SecretBytes> dek = env_->keys->UnwrapDek(
      account_, *w, DekWrapContext(env_->store_uuid, env_->account, volume_id_));
  if (!dek.ok()) {
    if (dek.status().IsCorruption()) {
      return Status::Corruption("data key " + crypto::DekIdToHex(dek_id) +
                                " does not unwrap: " + dek.status().message());
    }
    return KeyNotAccessible(volume_name_, w->key_id, dek.status());
  }
  // Opening only: this cipher never seals (its earlier seals are not counted here).
  CLONEFS_ASSIGN_OR_RETURN(std::unique_ptr<crypto::PageCipher> cipher,
                           crypto::PageCipher::Create(dek_id, *dek));
  std::shared_ptr<crypto::PageCipher> shared(std::move(cipher));
  ciphers_[dek_id] = shared;
  return shared;
}

Status VolumeKeyRing::Seal(crypto::PageCipher& writer, RecordHeader* h, std::string_view plain,
                           char* out) {
  h->cipher = kCipherAes256Gcm;
  h->dek_id = writer.dek_id();
  h->payload_len = static_cast<uint32_t>(plain.size() + crypto::kPageSealOverhead);
  crypto::Nonce nonce;
  const RecordAadBytes aad = RecordAad(env_->store_uuid, *h);
  CLONEFS_RETURN_IF_ERROR(
      writer.Seal(std::string_view(aad.data(), aad.size()), plain, &nonce, out));
  std::copy(nonce.begin(), nonce.end(), h->nonce.begin());
  return Status::OK();
}

Status VolumeKeyRing::Open(const RecordHeader& h, std::string_view sealed, char* out) {
  OpenerCache cache;
  return Open(h, sealed, out, &cache);
}

Status VolumeKeyRing::Open(const RecordHeader& h, std::string_view sealed, char* out,
                           OpenerCache* cache) {
  if (h.cipher != kCipherAes256Gcm) {
    return Status::Corruption("record is not sealed, but the volume is encrypted");
  }
  if (sealed.size() < crypto::kPageSealOverhead || sealed.size() != h.payload_len) {
    return Status::Corruption("sealed payload too short");
  }
  if (cache->cipher == nullptr || cache->dek_id != h.dek_id) {
    CLONEFS_ASSIGN_OR_RETURN(cache->cipher, Opener(h.dek_id));
    cache->dek_id = h.dek_id;
  }
  crypto::PageCipher* const cipher = cache->cipher.get();
  const RecordAadBytes aad = RecordAad(env_->store_uuid, h);
  Status s = cipher->Open(ToNonce(h.nonce), std::string_view(aad.data(), aad.size()), sealed, out);
  if (!s.ok()) return Status::Corruption("authentication tag mismatch");
  return Status::OK();
}

Result<std::vector<crypto::WrappedDek>> VolumeKeyRing::RewrapAll(
    uint64_t target_volume, const std::string& target_kek,
    const std::string& acting_account) const {
  std::shared_lock<std::shared_mutex> l(mu_);
  if (blocked_.load(std::memory_order_acquire)) return blocked_status_;
  const std::string from = DekWrapContext(env_->store_uuid, env_->account, volume_id_);
  const std::string to = DekWrapContext(env_->store_uuid, env_->account, target_volume);
  std::vector<crypto::WrappedDek> out;
  out.reserve(deks_.size());
  for (const crypto::WrappedDek& w : deks_) {
    Result<crypto::SecretBytes> dek = env_->keys->UnwrapDek(acting_account, w, from);
    if (!dek.ok()) return KeyNotAccessible(volume_name_, w.key_id, dek.status());
    Result<crypto::WrappedDek> again =
        env_->keys->WrapDek(acting_account, target_kek, w.dek_id, *dek, to);
    if (!again.ok()) return again.status();
    out.push_back(std::move(again).value());
  }
  return out;
}

void VolumeKeyRing::Replace(std::string kek_id, std::vector<crypto::WrappedDek> deks) {
  std::unique_lock<std::shared_mutex> l(mu_);
  kek_id_ = std::move(kek_id);
  deks_ = std::move(deks);
}

void VolumeKeyRing::Block(const Status& why) {
  std::unique_lock<std::shared_mutex> l(mu_);
  blocked_status_ = KeyNotAccessible(volume_name_, kek_id_, why);
  ciphers_.clear();  // the only place unwrapped DEKs lived: gone
  writer_.reset();   // never seal again with it: its seal count would be lost
  const bool was = blocked_.exchange(true, std::memory_order_acq_rel);
  if (!was) {
    spdlog::error("volume {}: reads and writes fail until KMS key {} is usable again: {}",
                  volume_name_, kek_id_, why.message());
  }
}

void VolumeKeyRing::Unblock() {
  std::unique_lock<std::shared_mutex> l(mu_);
  if (blocked_.exchange(false, std::memory_order_acq_rel)) {
    spdlog::info("volume {}: KMS key {} is usable again", volume_name_, kek_id_);
  }
  blocked_status_ = Status::OK();
}

}  // namespace clonefs::store
