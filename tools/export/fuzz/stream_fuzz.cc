// libFuzzer target for the export stream parser. The first input byte picks what the rest is:
//   even: a whole stream as it would arrive from a file (header parsing, framing, chunk
//         authentication, and what follows when the key is in the clear);
//   odd:  the plaintext of a final chunk, sealed here under a valid header, so that the record
//         parser (pages, zstd pages, zero runs, trailer) sees arbitrary bytes past the cipher.
// Built by tools/fuzz.sh with clang; nothing may crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/coding.h"
#include "tools/export/stream_reader.h"
#include "tools/export/stream_writer.h"

namespace {

using namespace clonefs::exportfmt;

void ReadAll(std::string_view bytes) {
  StringSource source(bytes);
  auto reader = StreamReader::Open(&source);
  if (!reader.ok()) return;
  auto key = (*reader)->StreamKey(nullptr);
  if (!key.ok()) return;
  StreamVisitor v;
  v.pages = [](uint64_t, uint64_t, std::string_view) { return clonefs::Status::OK(); };
  v.zeros = [](uint64_t, uint64_t) { return clonefs::Status::OK(); };
  (*reader)->Read(*key, v).status().IgnoreError();
}

std::string SealedAsFinalChunk(std::string_view plain, bool zstd) {
  Header h;
  h.chunk_log2 = kMinChunkLog2;
  h.codec = zstd ? Codec::kZstd : Codec::kNone;
  h.volume_size = 64 * 4096;
  h.envelope = Envelope::kClear;
  h.key_blob = std::string(32, '\x11');
  h.stream_id.fill(0x22);
  const std::string header = EncodeHeader(h);
  auto cipher = ChunkCipher::Create(h, header, SecretBytes::CopyOf(h.key_blob));
  std::string sealed;
  if (!cipher.ok() || !cipher->Seal(0, /*last=*/true, plain, &sealed).ok()) return header;
  char len[4];
  clonefs::PutLE32(len, static_cast<uint32_t>(sealed.size()));
  return header + std::string(len, 4) + sealed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > (1u << 20)) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    ReadAll(rest);
  } else {
    ReadAll(SealedAsFinalChunk(rest, (data[0] & 2) != 0));
  }
  return 0;
}
