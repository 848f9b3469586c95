#include "tools/export/stream_reader.h"

#include <zstd.h>

#include <cstring>

#include "base/coding.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/recipient.h"

namespace clonefs::exportfmt {
namespace {

Status Bad(const std::string& what) { return Status::Corruption("export stream: " + what); }

}  // namespace

Result<std::unique_ptr<StreamReader>> StreamReader::Open(ByteSource* in) {
  char head[kMagicSize + 4];
  size_t got = 0;
  CLONEFS_RETURN_IF_ERROR(ReadFully(in, head, sizeof(head), &got));
  if (got < kMagicSize || std::memcmp(head, kMagic, kMagicSize) != 0) {
    return Status::InvalidArgument("not a clonefs export stream (no CLFSEXP1 magic)");
  }
  if (got < sizeof(head)) return Bad("truncated in the header");
  const uint32_t len = GetLE32(head + kMagicSize);
  if (len > kMaxHeaderSize) return Bad("header length " + std::to_string(len));
  std::string bytes(head, sizeof(head));
  bytes.resize(sizeof(head) + len);
  CLONEFS_RETURN_IF_ERROR(ReadFully(in, bytes.data() + sizeof(head), len, &got));
  if (got < len) return Bad("truncated in the header");
  CLONEFS_ASSIGN_OR_RETURN(Header h, DecodeHeader(std::string_view(bytes).substr(sizeof(head))));
  return std::unique_ptr<StreamReader>(new StreamReader(in, std::move(h), std::move(bytes)));
}

Result<SecretBytes> StreamReader::StreamKey(const SecretBytes* recipient_private_pem) const {
  if (h_.envelope == Envelope::kClear) return SecretBytes::CopyOf(h_.key_blob);
  if (recipient_private_pem == nullptr) {
    return Status::InvalidArgument("the stream key is sealed for recipient " + h_.recipient +
                                   "; its private key is needed to import it");
  }
  CLONEFS_ASSIGN_OR_RETURN(crypto::RecipientInfo mine,
                           crypto::DescribePrivateKey(*recipient_private_pem));
  if (mine.fingerprint != h_.recipient) {
    return Status::InvalidArgument("the stream is sealed for recipient " + h_.recipient +
                                   ", not for key " + mine.fingerprint);
  }
  return crypto::OpenAsRecipient(*recipient_private_pem, h_.key_blob, RecipientContext(h_));
}

Result<SecretBytes> StreamReader::StreamKeyFrom(const EnvelopeOpener& open) const {
  if (h_.envelope == Envelope::kClear) return SecretBytes::CopyOf(h_.key_blob);
  return open(h_.recipient, h_.key_blob, RecipientContext(h_));
}

Status StreamReader::CheckOrder(uint64_t first, uint64_t count) {
  if (first < next_page_ || count == 0 || count > h_.page_count() ||
      first > h_.page_count() - count) {
    return Bad("pages " + std::to_string(first) + "+" + std::to_string(count) +
               " out of order or past the volume");
  }
  next_page_ = first + count;
  return Status::OK();
}

Status StreamReader::VisitPages(std::string_view body, const StreamVisitor& visitor) {
  if (body.size() < 12) return Bad("short page record");
  const uint64_t first = GetLE64(body.data());
  const uint32_t count = GetLE32(body.data() + 8);
  CLONEFS_RETURN_IF_ERROR(CheckOrder(first, count));
  body.remove_prefix(12);
  const size_t ps = h_.page_size();
  std::string_view data;
  if (h_.codec == Codec::kNone) {
    if (body.size() != uint64_t{count} * ps) return Bad("page record of the wrong size");
    data = body;
  } else {
    page_buf_.resize(uint64_t{count} * ps);
    for (uint32_t i = 0; i < count; ++i) {
      if (body.size() < 4) return Bad("short compressed page");
      const uint32_t len = GetLE32(body.data());
      body.remove_prefix(4);
      if (len > body.size() || len > ps || len == 0) return Bad("compressed page length");
      char* out = page_buf_.data() + i * ps;
      if (len == ps) {
        std::memcpy(out, body.data(), ps);
      } else if (ZSTD_decompress(out, ps, body.data(), len) != ps) {
        return Bad("a compressed page does not expand to one page");
      }
      body.remove_prefix(len);
    }
    if (!body.empty()) return Bad("bytes after the last compressed page");
    data = page_buf_;
  }
  seen_.pages += count;
  return visitor.pages ? visitor.pages(first, count, data) : Status::OK();
}

Status StreamReader::Visit(RecordType type, std::string_view body, const StreamVisitor& visitor,
                           std::optional<Trailer>* trailer) {
  switch (type) {
    case RecordType::kPages:
      return VisitPages(body, visitor);
    case RecordType::kZeros: {
      if (body.size() != 16) return Bad("zero-run record of the wrong size");
      const uint64_t first = GetLE64(body.data());
      const uint64_t count = GetLE64(body.data() + 8);
      CLONEFS_RETURN_IF_ERROR(CheckOrder(first, count));
      seen_.zero_pages += count;
      return visitor.zeros ? visitor.zeros(first, count) : Status::OK();
    }
    case RecordType::kTrailer: {
      if (body.size() != 24 + 32) return Bad("trailer of the wrong size");
      Trailer t;
      t.pages = GetLE64(body.data());
      t.zero_pages = GetLE64(body.data() + 8);
      t.records = GetLE64(body.data() + 16);
      std::memcpy(t.digest.data(), body.data() + 24, 32);
      *trailer = t;
      return Status::OK();
    }
  }
  return Bad("unknown record type " + std::to_string(static_cast<int>(type)));
}

Result<Trailer> StreamReader::Read(const SecretBytes& stream_key, const StreamVisitor& visitor) {
  CLONEFS_ASSIGN_OR_RETURN(ChunkCipher cipher, ChunkCipher::Create(h_, header_bytes_, stream_key));
  CLONEFS_ASSIGN_OR_RETURN(sha_, crypto::Sha256::Create());
  const size_t max_sealed = h_.chunk_size() + kChunkSlack;
  std::string sealed, plain;
  std::optional<Trailer> trailer;
  for (uint32_t index = 0; !trailer.has_value(); ++index) {
    char len_buf[4];
    size_t got = 0;
    CLONEFS_RETURN_IF_ERROR(ReadFully(in_, len_buf, 4, &got));
    if (got == 0)
      return Bad("truncated: it ends after chunk " + std::to_string(index) +
                 " without its final chunk");
    if (got < 4) return Bad("truncated inside chunk " + std::to_string(index));
    const uint32_t len = GetLE32(len_buf);
    if (len < crypto::kTagSize || len > max_sealed) {
      return Bad("chunk " + std::to_string(index) + " has an impossible length");
    }
    sealed.resize(len);
    CLONEFS_RETURN_IF_ERROR(ReadFully(in_, sealed.data(), len, &got));
    if (got < len) return Bad("truncated inside chunk " + std::to_string(index));
    // A chunk opens either as the last one or as a middle one, never both.
    bool last = false;
    if (!cipher.Open(index, false, sealed, &plain).ok()) {
      if (!cipher.Open(index, true, sealed, &plain).ok()) {
        return Bad("chunk " + std::to_string(index) +
                   " fails authentication (damaged, reordered, or from another stream or key)");
      }
      last = true;
    }
    if (!last && !h_.digests_records()) {
      CLONEFS_RETURN_IF_ERROR(sha_->Update(ChunkCipher::TagOf(sealed)));
    }
    std::string_view rest = plain;
    while (!rest.empty()) {
      if (trailer.has_value()) return Bad("records after the trailer");
      if (rest.size() < 5) return Bad("short record in chunk " + std::to_string(index));
      const auto type = static_cast<RecordType>(rest[0]);
      const uint32_t body_len = GetLE32(rest.data() + 1);
      if (body_len > rest.size() - 5) return Bad("record longer than its chunk");
      const std::string_view body = rest.substr(5, body_len);
      if (type != RecordType::kTrailer) {
        if (h_.digests_records()) {
          CLONEFS_RETURN_IF_ERROR(sha_->Update(rest.substr(0, 5 + body_len)));
        }
        seen_.records++;
      }
      CLONEFS_RETURN_IF_ERROR(Visit(type, body, visitor, &trailer));
      rest.remove_prefix(5 + body_len);
    }
    if (last != trailer.has_value()) {
      return Bad(last ? "the final chunk has no trailer" : "a trailer before the final chunk");
    }
  }
  CLONEFS_ASSIGN_OR_RETURN(seen_.digest, sha_->Finish());
  if (trailer->pages != seen_.pages || trailer->zero_pages != seen_.zero_pages ||
      trailer->records != seen_.records) {
    return Bad("the trailer's counts do not match what the stream held");
  }
  if (trailer->digest != seen_.digest) return Bad("the digest does not match the stream");
  char extra;
  size_t got = 0;
  CLONEFS_RETURN_IF_ERROR(ReadFully(in_, &extra, 1, &got));
  if (got != 0) return Bad("data after the final chunk");
  return seen_;
}

}  // namespace clonefs::exportfmt
