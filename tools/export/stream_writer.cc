#include "tools/export/stream_writer.h"

#include <zstd.h>

#include "base/coding.h"
#include "crypto/aead.h"
#include "crypto/recipient.h"

namespace clonefs::exportfmt {
namespace {

// Record framing: type (1 byte) and body length (LE32).
constexpr size_t kRecordHead = 5;

}  // namespace

Status PrepareKey(Header* h, const std::string& recipient_pem, SecretBytes* stream_key) {
  CLONEFS_RETURN_IF_ERROR(crypto::RandomBytes(h->stream_id.data(), h->stream_id.size()));
  CLONEFS_RETURN_IF_ERROR(crypto::RandomBytes(h->nonce_prefix.data(), h->nonce_prefix.size()));
  CLONEFS_ASSIGN_OR_RETURN(*stream_key,
                           SecretBytes::Random(kStreamKeySize, SecretBytes::Memory::kLocked));
  if (recipient_pem.empty()) {
    h->envelope = Envelope::kClear;
    h->recipient.clear();
    h->key_blob = std::string(stream_key->view());
    return Status::OK();
  }
  CLONEFS_ASSIGN_OR_RETURN(crypto::RecipientInfo info, crypto::DescribePublicKey(recipient_pem));
  h->envelope = Envelope::kRecipient;
  h->recipient = info.fingerprint;
  CLONEFS_ASSIGN_OR_RETURN(
      h->key_blob, crypto::SealForRecipient(recipient_pem, *stream_key, RecipientContext(*h)));
  return Status::OK();
}

Result<std::unique_ptr<StreamWriter>> StreamWriter::Start(ByteSink* out, const Header& h,
                                                          const SecretBytes& stream_key) {
  const std::string bytes = EncodeHeader(h);
  // What we write must be what a reader accepts.
  CLONEFS_RETURN_IF_ERROR(DecodeHeader(std::string_view(bytes).substr(kMagicSize + 4)).status());
  CLONEFS_ASSIGN_OR_RETURN(ChunkCipher cipher, ChunkCipher::Create(h, bytes, stream_key));
  CLONEFS_ASSIGN_OR_RETURN(auto sha, crypto::Sha256::Create());
  CLONEFS_RETURN_IF_ERROR(out->Write(bytes));
  return std::unique_ptr<StreamWriter>(new StreamWriter(out, h, std::move(cipher), std::move(sha)));
}

Status StreamWriter::CheckOrder(uint64_t first, uint64_t count) {
  if (finished_) return Status::InvalidState("the export stream is finished");
  if (first < next_page_ || count == 0 || count > h_.page_count() ||
      first > h_.page_count() - count) {
    return Status::InvalidArgument("pages " + std::to_string(first) + "+" + std::to_string(count) +
                                   " out of order or past the volume");
  }
  next_page_ = first + count;
  return Status::OK();
}

Status StreamWriter::AddPages(uint64_t first, uint64_t count, std::string_view data) {
  const size_t ps = h_.page_size();
  if (data.size() != count * ps) return Status::InvalidArgument("page data of the wrong size");
  CLONEFS_RETURN_IF_ERROR(CheckOrder(first, count));
  // Records of at most a chunk's worth of pages, so a chunk holds whole records.
  const uint64_t per_record = std::max<uint64_t>(1, (h_.chunk_size() - 64) / (ps + 4));
  if (h_.codec == Codec::kZstd) packed_.resize(ZSTD_compressBound(ps));
  for (uint64_t done = 0; done < count;) {
    const uint64_t n = std::min(per_record, count - done);
    char head[12];
    PutLE64(head, first + done);
    PutLE32(head + 8, static_cast<uint32_t>(n));
    if (h_.codec != Codec::kZstd) {
      CLONEFS_RETURN_IF_ERROR(
          AddRecordParts(RecordType::kPages,
                         {std::string_view(head, sizeof(head)), data.substr(done * ps, n * ps)}));
    } else {
      body_.assign(head, sizeof(head));
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view page = data.substr((done + i) * ps, ps);
        // Each page stands alone (LE32 length first); one that does not shrink is stored as is.
        size_t z = ZSTD_compress(packed_.data(), packed_.size(), page.data(), ps, 1);
        if (ZSTD_isError(z) || z >= ps) z = 0;
        char len[4];
        PutLE32(len, static_cast<uint32_t>(z == 0 ? ps : z));
        body_.append(len, 4);
        body_.append(z == 0 ? page : std::string_view(packed_.data(), z));
      }
      CLONEFS_RETURN_IF_ERROR(AddRecord(RecordType::kPages, body_));
    }
    trailer_.pages += n;
    done += n;
  }
  return Status::OK();
}

Status StreamWriter::AddZeros(uint64_t first, uint64_t count) {
  CLONEFS_RETURN_IF_ERROR(CheckOrder(first, count));
  char body[16];
  PutLE64(body, first);
  PutLE64(body + 8, count);
  CLONEFS_RETURN_IF_ERROR(AddRecord(RecordType::kZeros, std::string_view(body, 16)));
  trailer_.zero_pages += count;
  return Status::OK();
}

Status StreamWriter::AddRecordParts(RecordType type, std::initializer_list<std::string_view> parts,
                                    bool counted) {
  size_t body_size = 0;
  for (std::string_view p : parts) body_size += p.size();
  if (!chunk_.empty() && chunk_.size() + kRecordHead + body_size > h_.chunk_size()) {
    CLONEFS_RETURN_IF_ERROR(SealChunk(/*last=*/false));
  }
  if (chunk_.capacity() < h_.chunk_size() + kRecordHead) chunk_.reserve(h_.chunk_size() + 64);
  char head[kRecordHead];
  head[0] = static_cast<char>(type);
  PutLE32(head + 1, static_cast<uint32_t>(body_size));
  const size_t at = chunk_.size();
  chunk_.append(head, kRecordHead);
  for (std::string_view p : parts) chunk_.append(p);
  if (counted) {
    if (h_.digests_records()) {
      CLONEFS_RETURN_IF_ERROR(sha_->Update(std::string_view(chunk_).substr(at)));
    }
    trailer_.records++;
  }
  return Status::OK();
}

Status StreamWriter::SealChunk(bool last) {
  CLONEFS_RETURN_IF_ERROR(cipher_.Seal(next_chunk_, last, chunk_, &sealed_));
  if (!last && !h_.digests_records()) {
    CLONEFS_RETURN_IF_ERROR(sha_->Update(ChunkCipher::TagOf(sealed_)));
  }
  char len[4];
  PutLE32(len, static_cast<uint32_t>(sealed_.size()));
  CLONEFS_RETURN_IF_ERROR(out_->Write(std::string_view(len, 4)));
  CLONEFS_RETURN_IF_ERROR(out_->Write(sealed_));
  chunk_.clear();
  if (next_chunk_ == UINT32_MAX) return Status::InvalidArgument("export stream too long");
  next_chunk_++;
  return Status::OK();
}

Result<Trailer> StreamWriter::Finish() {
  if (finished_) return Status::InvalidState("the export stream is finished");
  finished_ = true;
  CLONEFS_ASSIGN_OR_RETURN(trailer_.digest, sha_->Finish());
  char body[24 + 32];
  PutLE64(body, trailer_.pages);
  PutLE64(body + 8, trailer_.zero_pages);
  PutLE64(body + 16, trailer_.records);
  std::memcpy(body + 24, trailer_.digest.data(), 32);
  CLONEFS_RETURN_IF_ERROR(
      AddRecord(RecordType::kTrailer, std::string_view(body, sizeof(body)), /*counted=*/false));
  CLONEFS_RETURN_IF_ERROR(SealChunk(/*last=*/true));
  return trailer_;
}

}  // namespace clonefs::exportfmt
