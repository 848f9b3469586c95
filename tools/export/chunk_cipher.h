// The sealing of an export stream's chunks: AES-256-GCM under a key derived from the stream
// key and stream id, nonce = nonce prefix | BE32(chunk index) | last flag, associated data =
// SHA-256 of the header bytes. Shared by the writer and the reader so both build nonces alike.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "crypto/aead.h"
#include "crypto/secret.h"
#include "tools/export/stream_format.h"

namespace clonefs::exportfmt {

using crypto::SecretBytes;

inline constexpr size_t kStreamKeySize = 32;
// Bytes a sealed chunk may have beyond its chunk size: one page record that did not fit.
inline constexpr size_t kChunkSlack = 65536 + 64 + crypto::kTagSize;

class ChunkCipher {
 public:
  // `header_bytes`: the stream's first bytes, magic through header.
  static Result<ChunkCipher> Create(const Header& h, std::string_view header_bytes,
                                    const SecretBytes& stream_key);
  Status Seal(uint32_t index, bool last, std::string_view plain, std::string* sealed) const;
  // Corruption when chunk `index` (with that last flag) was not sealed so under this stream.
  Status Open(uint32_t index, bool last, std::string_view sealed, std::string* plain) const;
  // The tag that ends a sealed chunk, which authenticates all of it: what a version 2
  // trailer's digest covers. REQUIRES: sealed.size() >= crypto::kTagSize.
  static std::string_view TagOf(std::string_view sealed) {
    return sealed.substr(sealed.size() - crypto::kTagSize);
  }

 private:
  crypto::Nonce NonceFor(uint32_t index, bool last) const;
  std::shared_ptr<crypto::Aes256GcmKey> key_;
  std::array<uint8_t, 7> prefix_{};
  std::string aad_;
};

// The context a recipient envelope of this stream's key is sealed under.
std::string RecipientContext(const Header& h);

}  // namespace clonefs::exportfmt
