// StreamReader: reads and verifies one export stream. Open() parses the header (nothing
// secret is needed for that: it names the recipient that can open the stream key); Read()
// then authenticates each chunk before handing its records to the visitor, checks that pages
// come in order inside the volume, and at the end checks the trailer's counts and digest and
// that nothing follows the last chunk.
//
// A visitor sees each chunk's pages once that chunk is authenticated, but the stream as a whole
// is proven only when Read() returns OK: an importer writes into something nobody can see yet
// and publishes it only then.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crypto/secret.h"
#include "crypto/sha256.h"
#include "tools/export/byte_io.h"
#include "tools/export/chunk_cipher.h"
#include "tools/export/stream_format.h"

namespace clonefs::exportfmt {

struct StreamVisitor {
  // `count` pages from `first`, `data` holding count * page size bytes (decompressed).
  std::function<Status(uint64_t first, uint64_t count, std::string_view data)> pages;
  // `count` pages from `first` read as zeros.
  std::function<Status(uint64_t first, uint64_t count)> zeros;
};

class StreamReader {
 public:
  static Result<std::unique_ptr<StreamReader>> Open(ByteSource* in);
  const Header& header() const { return h_; }

  // The stream key: from the header when it is in the clear, else opened with the recipient's
  // private key (PEM). KMSKeyNotAccessible-style refusals are the caller's to name; this says
  // InvalidArgument when a key is needed and none was given, Corruption when it does not open.
  Result<SecretBytes> StreamKey(const SecretBytes* recipient_private_pem) const;
  // The same, opening a recipient envelope with `open` (given the recipient's fingerprint, the
  // envelope and its context): how a store opens it with a key of its key store.
  using EnvelopeOpener = std::function<Result<SecretBytes>(
      std::string_view fingerprint, std::string_view envelope, std::string_view context)>;
  Result<SecretBytes> StreamKeyFrom(const EnvelopeOpener& open) const;

  // Reads every chunk. Returns the verified trailer.
  Result<Trailer> Read(const SecretBytes& stream_key, const StreamVisitor& visitor);

 private:
  StreamReader(ByteSource* in, Header h, std::string header_bytes)
      : in_(in), h_(std::move(h)), header_bytes_(std::move(header_bytes)) {}
  // One record of a chunk's plaintext; sets *trailer for the trailer record.
  Status Visit(RecordType type, std::string_view body, const StreamVisitor& visitor,
               std::optional<Trailer>* trailer);
  Status VisitPages(std::string_view body, const StreamVisitor& visitor);
  Status CheckOrder(uint64_t first, uint64_t count);

  ByteSource* const in_;
  const Header h_;
  const std::string header_bytes_;
  std::unique_ptr<crypto::Sha256> sha_;
  uint64_t next_page_ = 0;
  Trailer seen_;
  std::string page_buf_;
};

}  // namespace clonefs::exportfmt
