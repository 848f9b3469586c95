// libFuzzer target for the key store document (keystore.json, crypto/key_store_internal.h):
// arbitrary bytes through the header parser, and, re-MAC'd under a fixed key so that the
// integrity check passes, through the parser of the keys themselves. Built by tools/fuzz.sh
// with clang; nothing may crash.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "crypto/key_store_internal.h"

using namespace clonefs::crypto;
using namespace clonefs::crypto::internal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ParseHeader(text);
  static const SecretBytes kMacKey = SecretBytes::CopyOf(std::string(32, '\x5a'));
  (void)ParseVerifiedBody(text, kMacKey);
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return 0;
  doc.erase("mac");
  auto tag = HmacSha256(kMacKey, doc.dump());
  if (!tag.ok()) return 0;
  doc["mac"] = HexEncode(std::string_view(reinterpret_cast<const char*>(tag->data()), tag->size()));
  (void)ParseVerifiedBody(doc.dump(), kMacKey);
  return 0;
}
