#include "crypto/recipient.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>

#include "crypto/aead.h"
#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "crypto/openssl_util.h"
#include "crypto/sha256.h"

namespace clonefs::crypto {
namespace {

using internal::OpenSslFailure;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

constexpr size_t kX25519Size = 32;
constexpr size_t kRsaBits = 3072;
constexpr char kX25519Info[] = "clonefs/recipient/x25519/v1";

Result<Pkey> ReadPublic(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslFailure("BIO_new_mem_buf");
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) return Status::InvalidArgument("not a PEM public key");
  return key;
}

Result<Pkey> ReadPrivate(const SecretBytes& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslFailure("BIO_new_mem_buf");
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) return Status::InvalidArgument("not a PEM private key");
  return key;
}

Result<RecipientKind> KindOf(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "X25519")) return RecipientKind::kX25519;
  if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) == static_cast<int>(kRsaBits)) {
    return RecipientKind::kRsa3072;
  }
  return Status::InvalidArgument("the key is neither X25519 nor 3072-bit RSA");
}

Result<RecipientInfo> Describe(EVP_PKEY* key) {
  CLONEFS_ASSIGN_OR_RETURN(RecipientKind kind, KindOf(key));
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return OpenSslFailure("i2d_PUBKEY");
  auto digest = Sha256Of(std::string_view(reinterpret_cast<const char*>(der), n));
  OPENSSL_free(der);
  if (!digest.ok()) return digest.status();
  return RecipientInfo{
      kind, HexEncode(std::string_view(reinterpret_cast<const char*>(digest->data()), 32))};
}

Result<std::string> RawX25519Public(EVP_PKEY* key) {
  std::string raw(kX25519Size, '\0');
  size_t n = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &n) != 1 ||
      n != kX25519Size) {
    return OpenSslFailure("X25519 public key");
  }
  return raw;
}

Result<SecretBytes> X25519Shared(EVP_PKEY* own, EVP_PKEY* peer) {
  PkeyCtx ctx(EVP_PKEY_CTX_new(own, nullptr));
  size_t n = 0;
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &n) != 1 || n != kX25519Size) {
    return OpenSslFailure("X25519 key agreement");
  }
  SecretBytes shared = SecretBytes::CopyOf(std::string(kX25519Size, '\0'));
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &n) != 1) {
    return OpenSslFailure("X25519 key agreement");
  }
  return shared;
}

// The one-time AES key of an X25519 envelope: bound to both public keys.
Result<std::unique_ptr<Aes256GcmKey>> X25519WrapKey(const SecretBytes& shared,
                                                    std::string_view ephemeral_pub,
                                                    std::string_view recipient_pub) {
  const std::string salt = std::string(ephemeral_pub) + std::string(recipient_pub);
  CLONEFS_ASSIGN_OR_RETURN(SecretBytes k, HkdfSha256(shared, salt, kX25519Info, kAeadKeySize));
  return Aes256GcmKey::Create(k);
}

// RSA-OAEP with SHA-256 (and MGF1-SHA-256), `context` as the label.
Status SetOaep(EVP_PKEY_CTX* ctx, std::string_view context) {
  if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1) {
    return OpenSslFailure("RSA-OAEP parameters");
  }
  if (!context.empty()) {
    void* label = OPENSSL_memdup(context.data(), context.size());
    if (label == nullptr ||
        EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, static_cast<int>(context.size())) != 1) {
      OPENSSL_free(label);
      return OpenSslFailure("RSA-OAEP label");
    }
  }
  return Status::OK();
}

}  // namespace

std::string_view RecipientKindName(RecipientKind kind) {
  return kind == RecipientKind::kX25519 ? "X25519" : "RSA_3072";
}

Result<RecipientKind> ParseRecipientKind(std::string_view spec) {
  if (spec == "X25519" || spec == "ECC_X25519") return RecipientKind::kX25519;
  if (spec == "RSA_3072") return RecipientKind::kRsa3072;
  return Status::InvalidArgument("key spec must be 'RSA_3072' or 'X25519', not '" +
                                 std::string(spec) + "'");
}

Result<RecipientKeyPair> GenerateRecipientKey(RecipientKind kind) {
  Pkey key(kind == RecipientKind::kX25519
               ? EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")
               : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(kRsaBits)));
  if (key == nullptr) return OpenSslFailure("key generation");
  Bio pub(BIO_new(BIO_s_mem()));
  Bio priv(BIO_new(BIO_s_secmem()));
  if (pub == nullptr || priv == nullptr || PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1 ||
      PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslFailure("PEM encoding");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(pub.get(), &data);
  RecipientKeyPair pair{kind, SecretBytes(), std::string(data, n)};
  n = BIO_get_mem_data(priv.get(), &data);
  pair.private_pem = SecretBytes::CopyOf(std::string_view(data, n), SecretBytes::Memory::kLocked);
  return pair;
}

Result<RecipientInfo> DescribePublicKey(std::string_view public_pem) {
  CLONEFS_ASSIGN_OR_RETURN(Pkey key, ReadPublic(public_pem));
  return Describe(key.get());
}

Result<RecipientInfo> DescribePrivateKey(const SecretBytes& private_pem) {
  CLONEFS_ASSIGN_OR_RETURN(Pkey key, ReadPrivate(private_pem));
  return Describe(key.get());
}

Result<std::string> SealForRecipient(std::string_view public_pem, const SecretBytes& secret,
                                     std::string_view context) {
  if (secret.size() == 0 || secret.size() > 256) {
    return Status::InvalidArgument("a recipient envelope holds 1-256 bytes");
  }
  CLONEFS_ASSIGN_OR_RETURN(Pkey peer, ReadPublic(public_pem));
  CLONEFS_ASSIGN_OR_RETURN(RecipientKind kind, KindOf(peer.get()));
  std::string out(1, static_cast<char>(kind));
  if (kind == RecipientKind::kX25519) {
    Pkey eph(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    if (eph == nullptr) return OpenSslFailure("X25519 key generation");
    CLONEFS_ASSIGN_OR_RETURN(std::string eph_pub, RawX25519Public(eph.get()));
    CLONEFS_ASSIGN_OR_RETURN(std::string peer_pub, RawX25519Public(peer.get()));
    CLONEFS_ASSIGN_OR_RETURN(SecretBytes shared, X25519Shared(eph.get(), peer.get()));
    CLONEFS_ASSIGN_OR_RETURN(auto aead, X25519WrapKey(shared, eph_pub, peer_pub));
    std::string sealed;
    CLONEFS_RETURN_IF_ERROR(aead->Seal(Nonce{}, context, secret.view(), &sealed));  // key used once
    return out + eph_pub + sealed;
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new(peer.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_encrypt_init(ctx.get()) != 1) return OpenSslFailure("RSA init");
  CLONEFS_RETURN_IF_ERROR(SetOaep(ctx.get(), context));
  size_t n = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &n, secret.data(), secret.size()) != 1) {
    return OpenSslFailure("RSA-OAEP encrypt");
  }
  std::string body(n, '\0');
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(body.data()), &n, secret.data(),
                       secret.size()) != 1) {
    return OpenSslFailure("RSA-OAEP encrypt");
  }
  body.resize(n);
  return out + body;
}

Result<SecretBytes> OpenAsRecipient(const SecretBytes& private_pem, std::string_view envelope,
                                    std::string_view context) {
  CLONEFS_ASSIGN_OR_RETURN(Pkey own, ReadPrivate(private_pem));
  CLONEFS_ASSIGN_OR_RETURN(RecipientKind kind, KindOf(own.get()));
  const Status wrong = Status::Corruption("the key envelope does not open with this " +
                                          std::string(RecipientKindName(kind)) +
                                          " key (another recipient, or a damaged envelope)");
  if (envelope.empty() || static_cast<uint8_t>(envelope[0]) != static_cast<uint8_t>(kind)) {
    return wrong;
  }
  envelope.remove_prefix(1);
  if (kind == RecipientKind::kX25519) {
    if (envelope.size() <= kX25519Size + kTagSize) return wrong;
    const std::string_view eph_pub = envelope.substr(0, kX25519Size);
    Pkey eph(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr,
                                         reinterpret_cast<const unsigned char*>(eph_pub.data()),
                                         eph_pub.size()));
    if (eph == nullptr) return wrong;
    CLONEFS_ASSIGN_OR_RETURN(std::string own_pub, RawX25519Public(own.get()));
    auto shared = X25519Shared(own.get(), eph.get());
    if (!shared.ok()) return wrong;  // e.g. a low-order point
    CLONEFS_ASSIGN_OR_RETURN(auto aead, X25519WrapKey(*shared, eph_pub, own_pub));
    const std::string_view sealed = envelope.substr(kX25519Size);
    SecretBytes secret = SecretBytes::CopyOf(std::string(sealed.size() - kTagSize, '\0'),
                                             SecretBytes::Memory::kLocked);
    if (!aead->Open(Nonce{}, context, sealed, reinterpret_cast<char*>(secret.data())).ok()) {
      return wrong;
    }
    return secret;
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_decrypt_init(ctx.get()) != 1) return OpenSslFailure("RSA init");
  CLONEFS_RETURN_IF_ERROR(SetOaep(ctx.get(), context));
  std::string plain(EVP_PKEY_get_size(own.get()), '\0');
  size_t n = plain.size();
  const auto* in = reinterpret_cast<const unsigned char*>(envelope.data());
  if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &n, in,
                       envelope.size()) != 1) {
    ERR_clear_error();
    return wrong;
  }
  SecretBytes secret =
      SecretBytes::CopyOf(std::string_view(plain.data(), n), SecretBytes::Memory::kLocked);
  OPENSSL_cleanse(plain.data(), plain.size());
  return secret;
}

}  // namespace clonefs::crypto
