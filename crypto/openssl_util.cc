#include "crypto/openssl_util.h"

#include <openssl/err.h>

namespace clonefs::crypto::internal {

const Algorithms& FetchedAlgorithms() {
  // A function-local static: initialised once, thread-safely, on first use; never freed
  // (the objects are process-lifetime by design and freeing them at exit races with other
  // static destructors that may still encrypt).
  static const Algorithms* algorithms = [] {
    auto* a = new Algorithms;
    a->aes_256_gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    a->hkdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    a->scrypt = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
    a->hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    a->sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    ERR_clear_error();  // a missing algorithm is reported where it is used
    return a;
  }();
  return *algorithms;
}

Status OpenSslFailure(const std::string& what) {
  unsigned long err = ERR_get_error();
  std::string reason = "unknown reason";
  if (err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    reason = buf;
  }
  ERR_clear_error();
  return Status::IOError("OpenSSL: " + what + " failed: " + reason);
}

}  // namespace clonefs::crypto::internal
