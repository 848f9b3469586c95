// The clonefs export stream, version 2 (version 1 is still read): a self-describing, authenticated
// image of one snapshot (full) or of the pages that changed between two snapshots of one lineage
// (incremental). docs/FORMAT.md ("Export stream") has the byte layout; this header has its pieces:
//
//   "CLFSEXP1" | u32 header length | header            plaintext, authenticated by every chunk
//   chunk 0 .. n-1: u32 length | AES-256-GCM sealed records
//
// Chunk i is sealed under HKDF(stream key, stream id) with nonce = nonce prefix | BE32(i) |
// last flag and the header's SHA-256 as associated data, so a changed header, a dropped,
// reordered or repeated chunk, a chunk from another stream and a stream cut at a chunk
// boundary all fail. The stream key is fresh per stream and travels in the header: wrapped for
// a recipient's public key, or in the clear (integrity only) when the image is not secret.
// Inside the chunks are records: runs of pages, runs of zero pages, and a trailer (last
// record of the last chunk) with counts and a digest of everything before it: the SHA-256 of
// the tags of every chunk before the final one (version 1: of every record's bytes).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace clonefs::exportfmt {

inline constexpr char kMagic[] = "CLFSEXP1";  // 8 bytes, no terminator in the stream
inline constexpr size_t kMagicSize = 8;
inline constexpr uint16_t kVersion = 2;            // what StreamWriter writes
inline constexpr uint16_t kOldestReadVersion = 1;  // the oldest StreamReader still reads
inline constexpr size_t kMaxHeaderSize = 64 * 1024;
inline constexpr uint8_t kDefaultChunkLog2 = 20;  // 1 MiB of records per chunk
inline constexpr uint8_t kMinChunkLog2 = 16;
inline constexpr uint8_t kMaxChunkLog2 = 24;

enum Flags : uint16_t { kIncremental = 1 };
enum class Codec : uint8_t { kNone = 0, kZstd = 1 };
// How the stream key is carried: in the clear, or wrapped for a public key (crypto/recipient.h).
enum class Envelope : uint8_t { kClear = 0, kRecipient = 1 };
enum class RecordType : uint8_t { kPages = 1, kZeros = 2, kTrailer = 3 };

using Id16 = std::array<uint8_t, 16>;
using Digest = std::array<uint8_t, 32>;

// A snapshot's identity across stores: the store it was taken in and its id there.
struct SnapshotIdentity {
  Id16 store_uuid{};
  uint64_t snapshot_id = 0;
  uint64_t epoch = 0;
  bool operator==(const SnapshotIdentity&) const = default;
};

struct Header {
  uint16_t version = kVersion;
  uint16_t flags = 0;
  uint8_t chunk_log2 = kDefaultChunkLog2;
  uint8_t page_log2 = 12;
  Codec codec = Codec::kNone;
  Id16 stream_id{};
  std::array<uint8_t, 7> nonce_prefix{};
  uint64_t volume_size = 0;
  std::string source_arn;   // arn:clonefs:REGION:ACCOUNT:snapshot:NAME
  SnapshotIdentity source;  // the snapshot this stream carries
  uint64_t source_create_time_us = 0;
  bool source_encrypted = false;
  SnapshotIdentity base;  // incremental: the snapshot the pages apply to; else zero
  Envelope envelope = Envelope::kClear;
  std::string recipient;  // kRecipient: the public key's fingerprint (hex SHA-256)
  std::string key_blob;   // the stream key (kClear) or its recipient envelope

  bool incremental() const { return (flags & kIncremental) != 0; }
  // Version 1 digests the records themselves; later versions the chunks' tags (Trailer).
  bool digests_records() const { return version == 1; }
  uint32_t page_size() const { return uint32_t{1} << page_log2; }
  uint64_t page_count() const { return (volume_size + page_size() - 1) >> page_log2; }
  size_t chunk_size() const { return size_t{1} << chunk_log2; }
};

// Magic, length and header, as written at the start of a stream.
std::string EncodeHeader(const Header& h);
// Parses what follows the magic and length field. Every field is range-checked: anything out
// of range, an unknown version or a required extension it does not know is InvalidArgument
// (a stream of another kind) or Corruption (a damaged one), never a crash.
Result<Header> DecodeHeader(std::string_view body);

// The trailer: what the importer recounts before the snapshot becomes available.
struct Trailer {
  uint64_t pages = 0;       // pages carried in kPages records
  uint64_t zero_pages = 0;  // pages named by kZeros records
  uint64_t records = 0;     // records before the trailer
  // SHA-256 of the tags of every chunk before the final one, in order. Each tag authenticates
  // its whole chunk, so this binds every record before the final chunk, and the final chunk's
  // own tag binds the rest, with one hash call per chunk instead of a second pass over every
  // byte. Version 1 streams: SHA-256 of the bytes of every record before the trailer.
  Digest digest{};
};

}  // namespace clonefs::exportfmt
