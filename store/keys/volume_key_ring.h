// Page encryption for encrypted volumes (docs/ENCRYPTION.md, "Page records").
//
// Every encrypted volume has a VolumeKeyRing: the KMS key (KEK) that wraps its data keys and
// the list of its data keys (DEKs), each stored only wrapped, in the catalog under
// keys::KeyRingKey(volume, dek id) (store/meta/keys.h). A ring holds a wrapped copy of every
// DEK that sealed a record the volume can read: its own and, for a clone or restore, every DEK of
// its source at the time it was made (re-wrapped for the clone, since the wrap context names the
// volume).
//
// Unwrapped DEKs live only in memory, in PageCipher objects cached by the ring; Block() drops
// them (a disabled KEK) and every later seal or open fails until Unblock().
//
// Nonces. PageCipher counts seals in memory only, so a DEK seals only through the one
// PageCipher made when the DEK was generated, in this process: each ring generates a fresh
// writer DEK the first time this process writes the volume (and again once the writer's budget
// is nearly spent, or after the ring was blocked). A DEK unwrapped from the catalog is used
// only to open records. The new DEK is persisted (wrapped, synced) before its first seal, so a
// record can never name a DEK the catalog does not hold.
//
// Thread-safe. Lock order: callers may hold stripe locks or catalog_mu_; the ring's mutex is
// taken inside them, and inside it only the KeyStore's mutex and MetaDb.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/dek.h"
#include "crypto/key_store.h"
#include "crypto/page_cipher.h"
#include "store/log/record.h"
#include "store/meta/meta_db.h"

namespace clonefs::store {

constexpr size_t kStoreUuidSize = 16;
using StoreUuid = std::array<uint8_t, kStoreUuidSize>;

// What every key ring of a store shares. Outlives the rings (owned by the store).
struct EncryptionEnv {
  StoreUuid store_uuid{};
  // The store owner's account: bound into every DEK's wrap context (DekWrapContext). Key store
  // calls act as the account that owns the volume (VolumeKeyRing::account()).
  std::string account;
  crypto::KeyStore* keys = nullptr;
  MetaDb* db = nullptr;
};

// The associated data of a sealed record: its identity. Fields, fixed width, big-endian:
// label "clonefs/page/v1", store uuid (16), seq (8), volume id (8), page (8), epoch (8),
// kind (1: 1 = page image for record types 1 and 3, so that GC relocation can copy a sealed
// record without any key; 2 = discard), codec (1), plain length (4), payload length (4),
// page count (8), DEK id (8). Built on the stack: it is made for every page sealed or opened.
constexpr size_t kRecordAadSize = 15 + kStoreUuidSize + 4 * 8 + 1 + 1 + 4 + 4 + 8 + 8;
using RecordAadBytes = std::array<char, kRecordAadSize>;
RecordAadBytes RecordAad(const StoreUuid& store_uuid, const RecordHeader& h);

// The key store context a volume's DEKs are wrapped with: label, store uuid, account and the
// volume id, so that a wrapped DEK copied into another volume's ring or another store does not
// unwrap there.
std::string DekWrapContext(const StoreUuid& store_uuid, const std::string& account,
                           uint64_t volume_id);

// IOError (EIO, so that a reader sees EIO) named KMSKeyNotAccessible, naming the volume, the
// key and why.
Status KeyNotAccessible(const std::string& volume, const std::string& key_id, const Status& why);

class VolumeKeyRing {
 public:
  // `account` owns the volume: it wraps and unwraps the volume's DEKs with the key store, so
  // the KEK's policy decides, at every unwrap, whether it still may (a volume of one account
  // under another account's key needs Decrypt and ReEncrypt on it).
  VolumeKeyRing(const EncryptionEnv* env, std::string account, uint64_t volume_id,
                std::string volume_name, std::string kek_id, std::vector<crypto::WrappedDek> deks);

  const std::string& account() const { return account_; }
  std::string kek_id() const;
  std::vector<crypto::WrappedDek> wrapped() const;

  // This process's writer DEK, made (and persisted) on first use: what Seal() seals with. A
  // caller sealing many records fetches it once.
  Result<std::shared_ptr<crypto::PageCipher>> Writer();
  // Seals `plain` as the payload of record `h` into `out` (plain.size() + kPageSealOverhead
  // bytes) with `writer` (from Writer()); fills h's cipher, DEK id, nonce and payload length.
  // The AAD is computed from h's other fields, so set them (seq included) first.
  Status Seal(crypto::PageCipher& writer, RecordHeader* h, std::string_view plain, char* out);
  // Verifies and decrypts the payload of record `h` into `out` (h.payload_len -
  // kPageSealOverhead bytes). Corruption for a record that is not sealed, names a DEK the ring
  // does not hold or fails its tag; KMSKeyNotAccessible while the ring is blocked.
  Status Open(const RecordHeader& h, std::string_view sealed, char* out);
  // The data key last used by Open(), kept by a caller that opens many records in a row (one
  // read): the next record under the same key skips the ring's lock and lookup. A key that is
  // disabled meanwhile takes effect at the caller's next read.
  struct OpenerCache {
    uint64_t dek_id = 0;
    std::shared_ptr<crypto::PageCipher> cipher;
  };
  Status Open(const RecordHeader& h, std::string_view sealed, char* out, OpenerCache* cache);

  // For a clone or restore `target_volume` (a different volume id): every DEK of this ring,
  // unwrapped and wrapped again under KEK `target_kek` with the target's context, both as
  // `acting_account` (the target's owner): it needs Decrypt on this ring's KEK and ReEncrypt
  // on `target_kek`, which its own keys always give and another account's only by policy.
  Result<std::vector<crypto::WrappedDek>> RewrapAll(uint64_t target_volume,
                                                    const std::string& target_kek,
                                                    const std::string& acting_account) const;
  // Installs a new wrapped list (after a rekey or CloneInto has persisted it). Cached
  // ciphers stay: the DEKs are the same.
  void Replace(std::string kek_id, std::vector<crypto::WrappedDek> deks);

  // The KEK may not be used (disabled, pending deletion): drops every unwrapped DEK; seals
  // and opens fail with `why` until Unblock().
  void Block(const Status& why);
  void Unblock();
  bool blocked() const { return blocked_.load(std::memory_order_acquire); }
  // The status seals and opens fail with while blocked (OK when not blocked).
  Status BlockedStatus() const;

 private:
  Result<std::shared_ptr<crypto::PageCipher>> Opener(uint64_t dek_id);
  // A new DEK, wrapped under the KEK and persisted. REQUIRES: mu_ held exclusively.
  Result<std::shared_ptr<crypto::PageCipher>> NewWriterLocked();
  const crypto::WrappedDek* FindLocked(uint64_t dek_id) const;

  const EncryptionEnv* const env_;
  const std::string account_;
  const uint64_t volume_id_;
  const std::string volume_name_;
  mutable std::shared_mutex mu_;
  std::string kek_id_;                    // GUARDED_BY(mu_)
  std::vector<crypto::WrappedDek> deks_;  // GUARDED_BY(mu_)
  // Unwrapped DEKs by id, as ciphers; the writer is one of them.
  std::map<uint64_t, std::shared_ptr<crypto::PageCipher>> ciphers_;  // GUARDED_BY(mu_)
  std::shared_ptr<crypto::PageCipher> writer_;                       // GUARDED_BY(mu_)
  Status blocked_status_;                                            // GUARDED_BY(mu_)
  std::atomic<bool> blocked_{false};
};

}  // namespace clonefs::store
