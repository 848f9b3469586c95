// StreamWriter: writes one export stream. Pages are added in increasing page order (runs of
// data pages and runs of zero pages); records are gathered into chunks of about the header's
// chunk size, each sealed and written as soon as it is full, so memory stays at one chunk.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>

#include "crypto/secret.h"
#include "crypto/sha256.h"
#include "tools/export/byte_io.h"
#include "tools/export/chunk_cipher.h"
#include "tools/export/stream_format.h"

namespace clonefs::exportfmt {

// A fresh stream key and a header carrying it: in the clear when `recipient_pem` is empty,
// else sealed for that public key (X25519 or RSA-3072). Sets a random stream id and nonce
// prefix. The rest of `h` is the caller's.
Status PrepareKey(Header* h, const std::string& recipient_pem, SecretBytes* stream_key);

class StreamWriter {
 public:
  // Writes the header to `out` (which must outlive the writer).
  static Result<std::unique_ptr<StreamWriter>> Start(ByteSink* out, const Header& h,
                                                     const SecretBytes& stream_key);

  // `count` pages from `first`, `data` holding count * page size bytes.
  Status AddPages(uint64_t first, uint64_t count, std::string_view data);
  // `count` pages from `first` that read as zeros (holes, or pages discarded since the base).
  Status AddZeros(uint64_t first, uint64_t count);
  // Writes the trailer and the last chunk; the writer takes nothing more.
  Result<Trailer> Finish();

 private:
  StreamWriter(ByteSink* out, Header h, ChunkCipher cipher, std::unique_ptr<crypto::Sha256> sha)
      : out_(out), h_(std::move(h)), cipher_(std::move(cipher)), sha_(std::move(sha)) {}
  Status CheckOrder(uint64_t first, uint64_t count);
  // Adds one record (type, body) to the chunk, sealing the chunk first if it would overflow.
  Status AddRecord(RecordType type, std::string_view body, bool counted = true) {
    return AddRecordParts(type, {body}, counted);
  }
  // A record whose body is `parts` one after the other, appended straight into the chunk:
  // page data is copied once on its way to the cipher.
  Status AddRecordParts(RecordType type, std::initializer_list<std::string_view> parts,
                        bool counted = true);
  Status SealChunk(bool last);

  ByteSink* const out_;
  const Header h_;
  const ChunkCipher cipher_;
  std::unique_ptr<crypto::Sha256> sha_;
  std::string chunk_;  // records not yet sealed
  std::string sealed_;
  std::string body_, packed_;  // compressed records being built (reused: no allocation per call)
  uint32_t next_chunk_ = 0;
  uint64_t next_page_ = 0;  // pages must come in increasing order
  Trailer trailer_;
  bool finished_ = false;
};

}  // namespace clonefs::exportfmt
