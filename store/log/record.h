// Page records: the unit of the segment log (layout in docs/FORMAT.md, "Page records").
//
// Every change to a page map is first a record in the log: a page image, a discard of a page
// range, or a page image relocated by garbage collection. A record names its map key
// (volume, page, epoch) and a sequence number, and carries a CRC-32C over header and payload,
// so that recovery can replay the log and a reader can prove it got the bytes it asked for.
// A record of an encrypted volume is also sealed (cipher 1): its payload is AES-256-GCM
// ciphertext and tag under the data key (DEK) the header names, with the header's identity
// as associated data (store/keys/volume_key_ring.h), so the CRC only guards against accidents.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace clonefs::store {

constexpr uint32_t kRecordMagic = 0x32524643;  // "CFR2" little-endian
constexpr size_t kRecordHeaderSize = 80;
constexpr size_t kRecordNonceSize = 12;

enum class RecordType : uint8_t {
  kPage = 1,       // payload = page image (maybe compressed)
  kDiscard = 2,    // pages [page_no, page_no + count) read as zeros from this epoch on
  kRelocated = 3,  // a page record copied by GC; applies only while its seq is still current
  // A durable sync point of volume `volume_id`: its image at `epoch` can be restored to, and
  // its writes go to epoch `count` from here on. Payload: BE64 wall-clock time in
  // microseconds, BE64 volume size. Never sealed: it carries no volume data.
  kRestorePoint = 4,
};

enum class Codec : uint8_t { kRaw = 0, kZstd = 1 };

// Values of RecordHeader::cipher.
constexpr uint8_t kCipherNone = 0;       // plaintext payload, integrity by CRC-32C only
constexpr uint8_t kCipherAes256Gcm = 1;  // ciphertext || 16-byte tag under DEK `dek_id`

struct RecordHeader {
  RecordType type = RecordType::kPage;
  Codec codec = Codec::kRaw;
  uint8_t cipher = kCipherNone;
  uint64_t seq = 0;
  uint64_t volume_id = 0;
  uint64_t page_no = 0;
  uint64_t epoch = 0;
  uint32_t payload_len = 0;
  uint32_t plain_len = 0;  // page size of the image (kPage/kRelocated)
  uint64_t count = 0;      // pages discarded (kDiscard)
  uint64_t dek_id = 0;     // the DEK that sealed the payload (cipher 1), else 0
  std::array<uint8_t, kRecordNonceSize> nonce{};  // the AES-GCM nonce (cipher 1), else zeros

  size_t record_size() const { return kRecordHeaderSize + payload_len; }
};

// Appends header + payload to `out`, computing the checksum. Sets the stored payload length
// from payload.size().
void EncodeRecord(const RecordHeader& h, std::string_view payload, std::string* out);
// Writes only the kRecordHeaderSize header bytes of that record to `header`, checksum included;
// the payload is to follow it wherever it already is.
void EncodeRecordHeader(const RecordHeader& h, std::string_view payload, char* header);

// For a payload written in place (sealed straight into the output buffer): writes the header
// `h` into the record at `record` (kRecordHeaderSize bytes followed by h.payload_len payload
// bytes that are already there) and computes its checksum.
void FinishRecordInPlace(const RecordHeader& h, char* record);

// Parses and verifies a whole record held in `data` (header followed by payload).
// Corruption when the magic, length or checksum does not match.
Status DecodeRecord(std::string_view data, RecordHeader* h, std::string_view* payload);

// As DecodeRecord, but a sealed record's checksum (cipher != kCipherNone) is left unchecked: the
// caller must open it with its AEAD key before using any of it. The tag authenticates the
// payload and, through the associated data, every header field a reader relies on, so the CRC
// would only repeat that check at a cost of a full pass over the page. Records that are not
// sealed are checked exactly as DecodeRecord does. Replay and GC, which hold no keys, keep
// using DecodeRecord.
Status DecodeRecordToOpen(std::string_view data, RecordHeader* h, std::string_view* payload);

// Parses only the header (no checksum check: the payload is not at hand yet). Corruption on a
// bad magic or impossible lengths.
Status DecodeRecordHeader(std::string_view data, RecordHeader* h);

}  // namespace clonefs::store
