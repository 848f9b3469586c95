// Internal to crypto/: the OpenSSL algorithms clonefs uses, fetched once per process, and
// OpenSSL error reporting. Nothing outside crypto/ includes OpenSSL headers.
#pragma once

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <string>

#include "base/status.h"

namespace clonefs::crypto::internal {

// Explicitly fetched algorithm objects (OpenSSL 3 implicit fetches take locks on every use).
// Fetched on first call and kept for the life of the process. A member is null when the
// default provider does not offer it; callers turn that into NotSupported.
struct Algorithms {
  EVP_CIPHER* aes_256_gcm = nullptr;
  EVP_KDF* hkdf = nullptr;
  EVP_KDF* scrypt = nullptr;
  EVP_MAC* hmac = nullptr;
  EVP_MD* sha256 = nullptr;
};
const Algorithms& FetchedAlgorithms();

// A Status for a failed OpenSSL call: `what` plus the reason at the head of OpenSSL's error
// queue, which is then cleared so the next caller does not see stale errors. IOError because
// these are environmental failures (allocation, provider), never bad input we could name.
Status OpenSslFailure(const std::string& what);

}  // namespace clonefs::crypto::internal
