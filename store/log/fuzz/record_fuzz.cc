// libFuzzer target for the page record decoder (store/log/record.h): arbitrary bytes as a
// record as replay and GC read it from a segment, and, when the header parses, the same header
// and payload re-framed with a valid checksum, so that what follows the CRC check runs too.
// Built by tools/fuzz.sh with clang; nothing may crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/log/record.h"

using clonefs::store::RecordHeader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  RecordHeader h;
  std::string_view payload;
  (void)clonefs::store::DecodeRecord(bytes, &h, &payload);
  (void)clonefs::store::DecodeRecordToOpen(bytes, &h, &payload);
  if (!clonefs::store::DecodeRecordHeader(bytes, &h).ok()) return 0;
  // Re-framed: the rest of the input as the payload, under the parsed header.
  const std::string_view rest =
      bytes.substr(std::min(bytes.size(), clonefs::store::kRecordHeaderSize));
  std::string framed;
  clonefs::store::EncodeRecord(h, rest, &framed);
  RecordHeader back;
  std::string_view back_payload;
  if (clonefs::store::DecodeRecord(framed, &back, &back_payload).ok() && back_payload != rest) {
    std::abort();  // a record that decodes must give back the payload it was framed with
  }
  return 0;
}
