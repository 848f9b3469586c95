#include "crypto/aead.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>
#include <thread>

#include "crypto/openssl_util.h"

namespace clonefs::crypto {

using internal::OpenSslFailure;

Status RandomBytes(void* out, size_t n) {
  if (n > INT_MAX) return Status::InvalidArgument("random request too large");
  if (n > 0 && RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) != 1) {
    return OpenSslFailure("RAND_bytes");
  }
  return Status::OK();
}

namespace {

// Bumped in a forked child, so that it never hands out nonces its parent's pool still holds.
std::atomic<uint64_t> g_fork_generation{0};
extern "C" void OnForkChild() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

// Nonces come from a per-thread pool filled 4 KiB at a time: one CSPRNG call (and the fork
// check OpenSSL makes with a getpid() system call) per 341 nonces instead of per page sealed.
struct NoncePool {
  unsigned char bytes[341 * sizeof(Nonce)];
  size_t used = sizeof(bytes);
  uint64_t generation = 0;
};

}  // namespace

Result<Nonce> RandomNonce() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, OnForkChild);
    return true;
  }();
  (void)registered;
  thread_local NoncePool pool;
  const uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
  if (pool.used + sizeof(Nonce) > sizeof(pool.bytes) || pool.generation != generation) {
    CLONEFS_RETURN_IF_ERROR(RandomBytes(pool.bytes, sizeof(pool.bytes)));
    pool.used = 0;
    pool.generation = generation;
  }
  Nonce nonce;
  std::memcpy(nonce.data(), pool.bytes + pool.used, sizeof(Nonce));
  // Handed out once: wiped, so that a later look at this memory cannot tell what was used.
  std::memset(pool.bytes + pool.used, 0, sizeof(Nonce));
  pool.used += sizeof(Nonce);
  return nonce;
}

// One encrypt and one decrypt context (GCM contexts hold per-message state, so the two
// directions must not share one), created and keyed on first use.
struct Aes256GcmKey::Slot {
  std::mutex mu;
  EVP_CIPHER_CTX* enc = nullptr;
  EVP_CIPHER_CTX* dec = nullptr;
  ~Slot() {
    EVP_CIPHER_CTX_free(enc);  // frees and wipes the key schedule
    EVP_CIPHER_CTX_free(dec);
  }
};

namespace {

// A small per-thread number that spreads threads over the slots of every key.
size_t ThreadIndex() {
  static std::atomic<size_t> next{0};
  thread_local const size_t index = next.fetch_add(1, std::memory_order_relaxed);
  return index;
}

// The tag to check at EVP_DecryptFinal_ex. Set as a parameter directly: EVP_CIPHER_CTX_ctrl
// translates to the same call through a generic path, once per page.
bool SetExpectedTag(EVP_CIPHER_CTX* ctx, unsigned char* tag) {
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagSize),
      OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_set_params(ctx, params) == 1;
}

bool InputTooLarge(std::string_view aad, std::string_view data) {
  return aad.size() > kMaxAeadInput || data.size() > kMaxAeadInput;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Aes256GcmKey::Aes256GcmKey(SecretBytes key, size_t slot_count)
    : key_(std::move(key)), slot_count_(slot_count), slots_(new Slot[slot_count]) {}

Aes256GcmKey::~Aes256GcmKey() = default;

Result<std::unique_ptr<Aes256GcmKey>> Aes256GcmKey::Create(const SecretBytes& key) {
  if (key.size() != kAeadKeySize) {
    return Status::InvalidArgument("AES-256-GCM needs a 32-byte key");
  }
  if (internal::FetchedAlgorithms().aes_256_gcm == nullptr) {
    return Status::NotSupported("OpenSSL offers no AES-256-GCM");
  }
  // Twice the CPUs: enough that threads almost never share a slot, few enough that an idle
  // key holds little memory (contexts are only created when a slot is first used).
  size_t slots = std::clamp<size_t>(2 * std::thread::hardware_concurrency(), 4, 64);
  return std::unique_ptr<Aes256GcmKey>(
      new Aes256GcmKey(SecretBytes::CopyOf(key.view(), SecretBytes::Memory::kLocked), slots));
}

Result<Aes256GcmKey::Slot*> Aes256GcmKey::AcquireSlot() const {
  const size_t home = ThreadIndex() % slot_count_;
  Slot* slot = nullptr;
  for (size_t i = 0; i < slot_count_ && slot == nullptr; ++i) {
    Slot* s = &slots_[(home + i) % slot_count_];
    if (s->mu.try_lock()) slot = s;
  }
  if (slot == nullptr) {
    slot = &slots_[home];
    slot->mu.lock();
  }
  if (slot->enc == nullptr) {
    const EVP_CIPHER* cipher = internal::FetchedAlgorithms().aes_256_gcm;
    EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
    if (enc == nullptr || dec == nullptr ||
        EVP_EncryptInit_ex2(enc, cipher, key_.data(), nullptr, nullptr) != 1 ||
        EVP_DecryptInit_ex2(dec, cipher, key_.data(), nullptr, nullptr) != 1) {
      EVP_CIPHER_CTX_free(enc);
      EVP_CIPHER_CTX_free(dec);
      slot->mu.unlock();
      return OpenSslFailure("AES-256-GCM context setup");
    }
    slot->enc = enc;
    slot->dec = dec;
  }
  return slot;
}

Status Aes256GcmKey::Seal(const Nonce& nonce, std::string_view aad, std::string_view plaintext,
                          char* out) const {
  if (InputTooLarge(aad, plaintext)) return Status::InvalidArgument("AEAD input too large");
  CLONEFS_ASSIGN_OR_RETURN(Slot * slot, AcquireSlot());
  std::lock_guard<std::mutex> lock(slot->mu, std::adopt_lock);
  EVP_CIPHER_CTX* ctx = slot->enc;
  auto* dst = reinterpret_cast<unsigned char*>(out);
  int n = 0;
  int total = 0;
  // Only the nonce changes per message; the key schedule set up in AcquireSlot stays.
  if (EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) != 1) {
    return OpenSslFailure("GCM encrypt init");
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx, nullptr, &n, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslFailure("GCM AAD");
  }
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx, dst, &n, Bytes(plaintext), static_cast<int>(plaintext.size())) !=
        1) {
      return OpenSslFailure("GCM encrypt");
    }
    total = n;
  }
  if (EVP_EncryptFinal_ex(ctx, dst + total, &n) != 1) return OpenSslFailure("GCM final");
  total += n;
  if (static_cast<size_t>(total) != plaintext.size()) {
    return Status::IOError("OpenSSL: GCM produced an unexpected length");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize, dst + total) != 1) {
    return OpenSslFailure("GCM get tag");
  }
  return Status::OK();
}

Status Aes256GcmKey::Seal(const Nonce& nonce, std::string_view aad, std::string_view plaintext,
                          std::string* out) const {
  out->resize(plaintext.size() + kTagSize);
  return Seal(nonce, aad, plaintext, out->data());
}

Status Aes256GcmKey::Open(const Nonce& nonce, std::string_view aad, std::string_view sealed,
                          char* out) const {
  if (sealed.size() < kTagSize) return Status::Corruption("sealed data is shorter than a tag");
  if (InputTooLarge(aad, sealed)) return Status::InvalidArgument("AEAD input too large");
  const std::string_view ciphertext = sealed.substr(0, sealed.size() - kTagSize);
  unsigned char tag[kTagSize];  // SET_TAG takes a non-const pointer
  std::memcpy(tag, sealed.data() + ciphertext.size(), kTagSize);

  CLONEFS_ASSIGN_OR_RETURN(Slot * slot, AcquireSlot());
  std::lock_guard<std::mutex> lock(slot->mu, std::adopt_lock);
  EVP_CIPHER_CTX* ctx = slot->dec;
  auto* dst = reinterpret_cast<unsigned char*>(out);
  int n = 0;
  int total = 0;
  Status failure;
  if (EVP_DecryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) != 1) {
    failure = OpenSslFailure("GCM decrypt init");
  } else if (!aad.empty() &&
             EVP_DecryptUpdate(ctx, nullptr, &n, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    failure = OpenSslFailure("GCM AAD");
  } else if (!ciphertext.empty() && EVP_DecryptUpdate(ctx, dst, &total, Bytes(ciphertext),
                                                      static_cast<int>(ciphertext.size())) != 1) {
    failure = OpenSslFailure("GCM decrypt");
  } else if (!SetExpectedTag(ctx, tag)) {
    failure = OpenSslFailure("GCM set tag");
  } else if (EVP_DecryptFinal_ex(ctx, dst + total, &n) != 1) {
    // Final's only failure here is a tag mismatch; drop it from OpenSSL's error queue.
    internal::OpenSslFailure("GCM tag check").IgnoreError();
    failure = Status::Corruption("authentication tag mismatch");
  }
  if (!failure.ok()) {
    if (!ciphertext.empty()) OPENSSL_cleanse(out, ciphertext.size());
    return failure;
  }
  return Status::OK();
}

Status Aes256GcmKey::Open(const Nonce& nonce, std::string_view aad, std::string_view sealed,
                          std::string* out) const {
  out->resize(sealed.size() >= kTagSize ? sealed.size() - kTagSize : 0);
  Status s = Open(nonce, aad, sealed, out->data());
  if (!s.ok()) out->clear();
  return s;
}

}  // namespace clonefs::crypto
