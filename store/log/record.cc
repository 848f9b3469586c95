#include "store/log/record.h"

#include <cstring>

#include "base/coding.h"
#include "crypto/checksum.h"

namespace clonefs::store {
namespace {

// Header bytes [0, 76) and the payload are checksummed; the CRC sits at 76.
constexpr size_t kNonceOffset = 64;
constexpr size_t kCrcOffset = 76;
constexpr uint32_t kMaxPayload = 1u << 20;
static_assert(kNonceOffset + kRecordNonceSize == kCrcOffset);
static_assert(kCrcOffset + 4 == kRecordHeaderSize);

uint32_t RecordCrc(const char* header, std::string_view payload) {
  uint32_t crc = crypto::Crc32c(0, header, kCrcOffset);
  return crypto::Crc32c(crc, payload.data(), payload.size());
}

// Everything but the CRC.
void WriteHeader(const RecordHeader& h, uint32_t payload_len, char* hdr) {
  PutLE32(hdr + 0, kRecordMagic);
  hdr[4] = static_cast<char>(h.type);
  hdr[5] = static_cast<char>(h.codec);
  hdr[6] = static_cast<char>(h.cipher);
  hdr[7] = 0;  // flags
  PutLE64(hdr + 8, h.seq);
  PutLE64(hdr + 16, h.volume_id);
  PutLE64(hdr + 24, h.page_no);
  PutLE64(hdr + 32, h.epoch);
  PutLE32(hdr + 40, payload_len);
  PutLE32(hdr + 44, h.plain_len);
  PutLE64(hdr + 48, h.count);
  PutLE64(hdr + 56, h.dek_id);
  std::memcpy(hdr + kNonceOffset, h.nonce.data(), kRecordNonceSize);
}

}  // namespace

void EncodeRecordHeader(const RecordHeader& h, std::string_view payload, char* header) {
  WriteHeader(h, static_cast<uint32_t>(payload.size()), header);
  PutLE32(header + kCrcOffset, RecordCrc(header, payload));
}

void EncodeRecord(const RecordHeader& h, std::string_view payload, std::string* out) {
  char hdr[kRecordHeaderSize];
  EncodeRecordHeader(h, payload, hdr);
  out->append(hdr, kRecordHeaderSize);
  out->append(payload.data(), payload.size());
}

void FinishRecordInPlace(const RecordHeader& h, char* record) {
  WriteHeader(h, h.payload_len, record);
  PutLE32(record + kCrcOffset,
          RecordCrc(record, std::string_view(record + kRecordHeaderSize, h.payload_len)));
}

Status DecodeRecordHeader(std::string_view data, RecordHeader* h) {
  if (data.size() < kRecordHeaderSize) return Status::Corruption("record header truncated");
  const char* p = data.data();
  if (GetLE32(p) != kRecordMagic) return Status::Corruption("bad record magic");
  auto type = static_cast<uint8_t>(p[4]);
  if (type < 1 || type > 4) return Status::Corruption("bad record type");
  h->type = static_cast<RecordType>(type);
  h->codec = static_cast<Codec>(p[5]);
  h->cipher = static_cast<uint8_t>(p[6]);
  // No flag is defined yet; the byte is outside both the AEAD's associated data and any use.
  if (p[7] != 0) return Status::Corruption("unknown record flags");
  h->seq = GetLE64(p + 8);
  h->volume_id = GetLE64(p + 16);
  h->page_no = GetLE64(p + 24);
  h->epoch = GetLE64(p + 32);
  h->payload_len = GetLE32(p + 40);
  h->plain_len = GetLE32(p + 44);
  h->count = GetLE64(p + 48);
  h->dek_id = GetLE64(p + 56);
  std::memcpy(h->nonce.data(), p + kNonceOffset, kRecordNonceSize);
  if (h->payload_len > kMaxPayload || h->plain_len > kMaxPayload) {
    return Status::Corruption("bad record length");
  }
  if (h->cipher > kCipherAes256Gcm) return Status::Corruption("unknown record cipher");
  return Status::OK();
}

namespace {
Status DecodeChecked(std::string_view data, bool check_sealed, RecordHeader* h,
                     std::string_view* payload) {
  CLONEFS_RETURN_IF_ERROR(DecodeRecordHeader(data, h));
  if (data.size() != h->record_size()) return Status::Corruption("record length mismatch");
  *payload = data.substr(kRecordHeaderSize);
  if ((check_sealed || h->cipher == kCipherNone) &&
      GetLE32(data.data() + kCrcOffset) != RecordCrc(data.data(), *payload)) {
    return Status::Corruption("record checksum mismatch");
  }
  return Status::OK();
}
}  // namespace

Status DecodeRecord(std::string_view data, RecordHeader* h, std::string_view* payload) {
  return DecodeChecked(data, /*check_sealed=*/true, h, payload);
}

Status DecodeRecordToOpen(std::string_view data, RecordHeader* h, std::string_view* payload) {
  return DecodeChecked(data, /*check_sealed=*/false, h, payload);
}

}  // namespace clonefs::store
