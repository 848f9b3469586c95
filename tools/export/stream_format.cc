#include "tools/export/stream_format.h"

#include <cstring>

#include "base/coding.h"

namespace clonefs::exportfmt {
namespace {

constexpr size_t kMaxStringSize = 4096;

void Put8(std::string* s, uint8_t v) { s->push_back(static_cast<char>(v)); }
void Put16(std::string* s, uint16_t v) {
  Put8(s, v & 0xff);
  Put8(s, v >> 8);
}
void Put32(std::string* s, uint32_t v) {
  char b[4];
  PutLE32(b, v);
  s->append(b, 4);
}
void Put64(std::string* s, uint64_t v) {
  char b[8];
  PutLE64(b, v);
  s->append(b, 8);
}
template <size_t N>
void PutBytes(std::string* s, const std::array<uint8_t, N>& a) {
  s->append(reinterpret_cast<const char*>(a.data()), N);
}
void PutString(std::string* s, std::string_view v) {
  Put16(s, static_cast<uint16_t>(v.size()));
  s->append(v);
}
void PutIdentity(std::string* s, const SnapshotIdentity& id) {
  PutBytes(s, id.store_uuid);
  Put64(s, id.snapshot_id);
  Put64(s, id.epoch);
}

// Reads fields off the front of a header body; the first short read sticks.
class Cursor {
 public:
  explicit Cursor(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  std::string_view Take(size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return {};
    }
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  uint8_t U8() {
    auto v = Take(1);
    return ok_ ? static_cast<uint8_t>(v[0]) : 0;
  }
  uint16_t U16() {
    auto v = Take(2);
    return ok_ ? static_cast<uint16_t>(static_cast<uint8_t>(v[0]) | static_cast<uint8_t>(v[1]) << 8)
               : 0;
  }
  uint32_t U32() {
    auto v = Take(4);
    return ok_ ? GetLE32(v.data()) : 0;
  }
  uint64_t U64() {
    auto v = Take(8);
    return ok_ ? GetLE64(v.data()) : 0;
  }
  template <size_t N>
  void Bytes(std::array<uint8_t, N>* a) {
    auto v = Take(N);
    if (ok_) std::memcpy(a->data(), v.data(), N);
  }
  std::string String() {
    const uint16_t n = U16();
    if (n > kMaxStringSize) ok_ = false;
    return std::string(Take(n));
  }
  SnapshotIdentity Identity() {
    SnapshotIdentity id;
    Bytes(&id.store_uuid);
    id.snapshot_id = U64();
    id.epoch = U64();
    return id;
  }

 private:
  std::string_view in_;
  bool ok_ = true;
};

Status Bad(const std::string& what) { return Status::Corruption("export stream header: " + what); }

}  // namespace

std::string EncodeHeader(const Header& h) {
  std::string body;
  Put16(&body, h.version);
  Put16(&body, h.flags);
  Put8(&body, 1);  // AES-256-GCM
  Put8(&body, h.chunk_log2);
  Put8(&body, h.page_log2);
  Put8(&body, static_cast<uint8_t>(h.codec));
  PutBytes(&body, h.stream_id);
  PutBytes(&body, h.nonce_prefix);
  Put64(&body, h.volume_size);
  PutString(&body, h.source_arn);
  PutIdentity(&body, h.source);
  Put64(&body, h.source_create_time_us);
  Put8(&body, h.source_encrypted ? 1 : 0);
  PutIdentity(&body, h.base);
  Put8(&body, static_cast<uint8_t>(h.envelope));
  PutString(&body, h.recipient);
  PutString(&body, h.key_blob);
  Put32(&body, 0);  // extensions: none so far
  std::string out(kMagic, kMagicSize);
  Put32(&out, static_cast<uint32_t>(body.size()));
  return out + body;
}

Result<Header> DecodeHeader(std::string_view body) {
  Cursor c(body);
  Header h;
  h.version = c.U16();
  if (c.ok() && (h.version < kOldestReadVersion || h.version > kVersion)) {
    return Status::NotSupported(
        "export stream version " + std::to_string(h.version) + " (this clonefs reads versions " +
        std::to_string(kOldestReadVersion) + " to " + std::to_string(kVersion) + ")");
  }
  h.flags = c.U16();
  const uint8_t alg = c.U8();
  h.chunk_log2 = c.U8();
  h.page_log2 = c.U8();
  const uint8_t codec = c.U8();
  c.Bytes(&h.stream_id);
  c.Bytes(&h.nonce_prefix);
  h.volume_size = c.U64();
  h.source_arn = c.String();
  h.source = c.Identity();
  h.source_create_time_us = c.U64();
  const uint8_t encrypted = c.U8();
  h.base = c.Identity();
  const uint8_t envelope = c.U8();
  h.recipient = c.String();
  h.key_blob = c.String();
  const uint32_t ext_len = c.U32();
  std::string_view ext = c.Take(ext_len);
  if (!c.ok()) return Bad("truncated");
  if (!c.done()) return Bad("bytes after the last field");
  if ((h.flags & ~kIncremental) != 0) return Bad("unknown flags");
  if (alg != 1) return Bad("unknown cipher " + std::to_string(alg));
  if (h.chunk_log2 < kMinChunkLog2 || h.chunk_log2 > kMaxChunkLog2) return Bad("chunk size");
  if (h.page_log2 < 12 || h.page_log2 > 16) return Bad("page size");
  if (codec > 1) return Bad("unknown codec " + std::to_string(codec));
  h.codec = static_cast<Codec>(codec);
  if (encrypted > 1) return Bad("encrypted flag");
  h.source_encrypted = encrypted == 1;
  if (h.volume_size == 0 || h.volume_size > (uint64_t{1} << 50)) return Bad("volume size");
  if (envelope > 1) return Bad("unknown key envelope " + std::to_string(envelope));
  h.envelope = static_cast<Envelope>(envelope);
  if (h.envelope == Envelope::kClear && (h.key_blob.size() != 32 || !h.recipient.empty())) {
    return Bad("clear stream key");
  }
  if (h.envelope == Envelope::kRecipient && (h.recipient.empty() || h.key_blob.empty())) {
    return Bad("recipient envelope");
  }
  if (h.incremental() == (h.base.snapshot_id == 0)) return Bad("base snapshot");
  // Extensions: u16 type, u32 length, value. Odd types may be skipped; even ones are required
  // and no version knows any yet.
  Cursor e(ext);
  while (e.ok() && !e.done()) {
    const uint16_t type = e.U16();
    e.Take(e.U32());
    if (e.ok() && type % 2 == 0) {
      return Status::NotSupported("export stream needs extension " + std::to_string(type) +
                                  ", which this clonefs does not know");
    }
  }
  if (!e.ok()) return Bad("extensions");
  return h;
}

}  // namespace clonefs::exportfmt
