// Public-key recipients: a small secret (a stream key) sealed so that only the holder of a
// private key can open it, as an AWS KMS asymmetric key or an age recipient does. Two kinds:
//   X25519   an ephemeral X25519 key agreement, HKDF-SHA256 and AES-256-GCM (age-style);
//   RSA_3072 RSA-OAEP with SHA-256.
// Keys travel as PEM: SubjectPublicKeyInfo for public keys, PKCS#8 for private ones. Every
// seal binds a caller's `context` (authenticated, not secret): an envelope opened with another
// context fails. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/secret.h"

namespace clonefs::crypto {

enum class RecipientKind : uint8_t { kX25519 = 1, kRsa3072 = 2 };
std::string_view RecipientKindName(RecipientKind kind);  // "X25519" | "RSA_3072"
// KMS-style key specs: "X25519" (also "ECC_X25519") and "RSA_3072".
Result<RecipientKind> ParseRecipientKind(std::string_view spec);

struct RecipientKeyPair {
  RecipientKind kind;
  SecretBytes private_pem;  // PKCS#8
  std::string public_pem;   // SubjectPublicKeyInfo
};
Result<RecipientKeyPair> GenerateRecipientKey(RecipientKind kind);

// What a public key is: its kind and a fingerprint (hex SHA-256 of its DER form), by which a
// stream names the recipient it was sealed for. InvalidArgument for anything that is not an
// X25519 or 3072-bit RSA public key in PEM.
struct RecipientInfo {
  RecipientKind kind;
  std::string fingerprint;
};
Result<RecipientInfo> DescribePublicKey(std::string_view public_pem);
// The same for the public half of a private key.
Result<RecipientInfo> DescribePrivateKey(const SecretBytes& private_pem);

// Seals `secret` (1-256 bytes) for the holder of `public_pem`.
Result<std::string> SealForRecipient(std::string_view public_pem, const SecretBytes& secret,
                                     std::string_view context);
// Opens what SealForRecipient sealed. Corruption for a wrong private key, a wrong context or
// any changed byte.
Result<SecretBytes> OpenAsRecipient(const SecretBytes& private_pem, std::string_view envelope,
                                    std::string_view context);

}  // namespace clonefs::crypto
