#include "tools/export/chunk_cipher.h"

#include <cstring>

#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "crypto/sha256.h"

namespace clonefs::exportfmt {

Result<ChunkCipher> ChunkCipher::Create(const Header& h, std::string_view header_bytes,
                                        const SecretBytes& stream_key) {
  if (stream_key.size() != kStreamKeySize) {
    return Status::InvalidArgument("an export stream key is 32 bytes");
  }
  ChunkCipher c;
  const std::string_view salt(reinterpret_cast<const char*>(h.stream_id.data()),
                              h.stream_id.size());
  CLONEFS_ASSIGN_OR_RETURN(
      SecretBytes k,
      crypto::HkdfSha256(stream_key, salt, "clonefs/export/v1/chunks", crypto::kAeadKeySize));
  CLONEFS_ASSIGN_OR_RETURN(auto key, crypto::Aes256GcmKey::Create(k));
  c.key_ = std::move(key);
  c.prefix_ = h.nonce_prefix;
  CLONEFS_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256Of(header_bytes));
  c.aad_.assign(reinterpret_cast<const char*>(d.data()), d.size());
  return c;
}

crypto::Nonce ChunkCipher::NonceFor(uint32_t index, bool last) const {
  crypto::Nonce n{};
  std::memcpy(n.data(), prefix_.data(), prefix_.size());
  for (int i = 0; i < 4; ++i) n[7 + i] = static_cast<uint8_t>(index >> (24 - 8 * i));
  n[11] = last ? 1 : 0;
  return n;
}

Status ChunkCipher::Seal(uint32_t index, bool last, std::string_view plain,
                         std::string* sealed) const {
  return key_->Seal(NonceFor(index, last), aad_, plain, sealed);
}

Status ChunkCipher::Open(uint32_t index, bool last, std::string_view sealed,
                         std::string* plain) const {
  return key_->Open(NonceFor(index, last), aad_, sealed, plain);
}

std::string RecipientContext(const Header& h) {
  return "clonefs/export/v1/stream-key/" +
         crypto::HexEncode(std::string_view(reinterpret_cast<const char*>(h.stream_id.data()),
                                            h.stream_id.size()));
}

}  // namespace clonefs::exportfmt
