#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

#include "crypto/openssl_util.h"

namespace clonefs::crypto {
namespace {

using internal::FetchedAlgorithms;
using internal::OpenSslFailure;

struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using KdfCtx = std::unique_ptr<EVP_KDF_CTX, KdfCtxFree>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

char kSha256[] = "SHA256";  // OSSL_PARAM wants a non-const pointer
unsigned char kEmpty[1] = {0};

// An octet-string parameter; OpenSSL copies it. Never a null pointer, even for empty input.
OSSL_PARAM Octets(const char* name, const void* data, size_t n) {
  void* p = n == 0 ? kEmpty : const_cast<void*>(data);
  return OSSL_PARAM_construct_octet_string(name, p, n);
}

Result<SecretBytes> Derive(EVP_KDF* kdf, const char* name, const OSSL_PARAM* params,
                           size_t out_len) {
  if (kdf == nullptr) return Status::NotSupported(std::string("OpenSSL offers no ") + name);
  KdfCtx ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) return OpenSslFailure(std::string(name) + " context");
  SecretBytes out(out_len, SecretBytes::Memory::kLocked);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return OpenSslFailure(std::string(name) + " derive");
  }
  return out;
}

}  // namespace

Result<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::string_view salt, std::string_view info,
                               size_t out_len) {
  if (out_len == 0 || out_len > 255 * 32) {
    return Status::InvalidArgument("HKDF-SHA256 output must be 1..8160 bytes");
  }
  OSSL_PARAM params[5];
  size_t i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, kSha256, 0);
  params[i++] = Octets(OSSL_KDF_PARAM_KEY, ikm.data(), ikm.size());
  if (!salt.empty()) params[i++] = Octets(OSSL_KDF_PARAM_SALT, salt.data(), salt.size());
  params[i++] = Octets(OSSL_KDF_PARAM_INFO, info.data(), info.size());
  params[i] = OSSL_PARAM_construct_end();
  return Derive(FetchedAlgorithms().hkdf, "HKDF", params, out_len);
}

Result<HmacSha256Tag> HmacSha256(const SecretBytes& key, std::string_view data) {
  EVP_MAC* hmac = FetchedAlgorithms().hmac;
  if (hmac == nullptr) return Status::NotSupported("OpenSSL offers no HMAC");
  MacCtx ctx(EVP_MAC_CTX_new(hmac));
  if (!ctx) return OpenSslFailure("HMAC context");
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, kSha256, 0),
                         OSSL_PARAM_construct_end()};
  const unsigned char* k = key.empty() ? kEmpty : key.data();
  if (EVP_MAC_init(ctx.get(), k, key.size(), params) != 1) return OpenSslFailure("HMAC init");
  if (!data.empty() &&
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
          1) {
    return OpenSslFailure("HMAC update");
  }
  HmacSha256Tag tag;
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), tag.data(), &len, tag.size()) != 1 || len != tag.size()) {
    return OpenSslFailure("HMAC final");
  }
  return tag;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status ScryptParams::Validate() const {
  constexpr uint64_t kMaxMemory = uint64_t{1} << 30;
  if (n < 2 || n > (uint64_t{1} << 22) || (n & (n - 1)) != 0) {
    return Status::InvalidArgument("scrypt N must be a power of two between 2 and 2^22");
  }
  if (r < 1 || r > 32 || p < 1 || p > 16) {
    return Status::InvalidArgument("scrypt r must be 1..32 and p 1..16");
  }
  // OpenSSL's own accounting: V takes 128*r*(N+2) bytes, B takes 128*r*p.
  if (uint64_t{128} * r * (n + 2) + uint64_t{128} * r * p > kMaxMemory) {
    return Status::InvalidArgument("scrypt parameters need more than 1 GiB of memory");
  }
  return Status::OK();
}

Result<SecretBytes> Scrypt(const SecretBytes& passphrase, std::string_view salt,
                           const ScryptParams& params, size_t out_len) {
  CLONEFS_RETURN_IF_ERROR(params.Validate());
  if (out_len == 0) return Status::InvalidArgument("scrypt output must not be empty");
  uint64_t n = params.n;
  uint32_t r = params.r;
  uint32_t p = params.p;
  uint64_t maxmem = (uint64_t{1} << 30) + (uint64_t{1} << 20);
  OSSL_PARAM ossl[] = {Octets(OSSL_KDF_PARAM_PASSWORD, passphrase.data(), passphrase.size()),
                       Octets(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
                       OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
                       OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
                       OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
                       OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
                       OSSL_PARAM_construct_end()};
  return Derive(FetchedAlgorithms().scrypt, "SCRYPT", ossl, out_len);
}

}  // namespace clonefs::crypto
