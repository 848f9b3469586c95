// libFuzzer target for the catalog codec (store/meta/catalog_codec.h): arbitrary bytes as a
// volume, snapshot, checkpoint and store-info record; whatever decodes must encode and decode
// again to the same record. Built by tools/fuzz.sh with clang; nothing may crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/meta/catalog_codec.h"

namespace {

using namespace clonefs::store;

// Whatever `decode` accepts, `encode` writes back as a record that decodes to the same one.
template <typename Decode, typename Encode>
void RoundTrip(std::string_view bytes, Decode decode, Encode encode) {
  auto first = decode(bytes);
  if (!first.ok()) return;
  auto again = decode(encode(*first));
  if (!again.ok() || encode(*again) != encode(*first)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  RoundTrip(bytes, DecodeVolume, EncodeVolume);
  RoundTrip(bytes, DecodeSnapshot, EncodeSnapshot);
  RoundTrip(bytes, DecodeCheckpoint, EncodeCheckpoint);
  RoundTrip(bytes, DecodeStoreInfo, EncodeStoreInfo);
  return 0;
}
