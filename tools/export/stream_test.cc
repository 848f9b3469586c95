// The export stream round-trips every kind of content and refuses every kind of damage: a
// changed byte anywhere, a truncated, reordered, repeated or dropped chunk, chunks spliced
// from another stream of the same image, data after the end, the wrong recipient.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <vector>

#include "base/coding.h"
#include "crypto/recipient.h"
#include "tests/testing/testing.h"
#include "tools/export/chunk_cipher.h"
#include "tools/export/stream_reader.h"
#include "tools/export/stream_writer.h"

namespace clonefs::exportfmt {
namespace {

using clonefs::testing::Pattern;

constexpr uint32_t kPage = 4096;

// What a stream carried, page by page (zero runs as empty strings).
using Image = std::map<uint64_t, std::string>;

Header TestHeader(Codec codec = Codec::kNone) {
  Header h;
  h.chunk_log2 = kMinChunkLog2;  // 64 KiB: many chunks from a little data
  h.codec = codec;
  h.volume_size = 1024 * kPage;
  h.source_arn = "arn:clonefs:us-east-1:123456789012:snapshot:nightly";
  h.source.snapshot_id = 7;
  h.source.epoch = 3;
  h.source.store_uuid[0] = 0xab;
  return h;
}

// A writer of a stream with its key in the clear, into `sink`.
Result<std::unique_ptr<StreamWriter>> ClearWriter(StringSink* sink) {
  Header h = TestHeader();
  SecretBytes key;
  CLONEFS_RETURN_IF_ERROR(PrepareKey(&h, "", &key));
  return StreamWriter::Start(sink, h, key);
}

struct Written {
  std::string bytes;
  Image image;
};

// 40 data pages at 0, a zero run, 30 more pages further on: several chunks.
Written WriteStream(const Header& base, const std::string& recipient_pem = "", uint64_t seed = 1) {
  Header h = base;
  SecretBytes key;
  EXPECT_OK(PrepareKey(&h, recipient_pem, &key));
  StringSink sink;
  auto w = StreamWriter::Start(&sink, h, key);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  Written out;
  const std::string a = Pattern(seed, 40 * kPage);
  EXPECT_OK((*w)->AddPages(0, 40, a));
  EXPECT_OK((*w)->AddZeros(40, 100));
  std::string b = Pattern(seed + 1, 30 * kPage);
  std::fill(b.begin(), b.begin() + kPage, 'z');  // one page that compresses well
  EXPECT_OK((*w)->AddPages(500, 30, b));
  EXPECT_TRUE((*w)->Finish().ok());
  for (uint64_t i = 0; i < 40; ++i) out.image[i] = a.substr(i * kPage, kPage);
  for (uint64_t i = 40; i < 140; ++i) out.image[i] = "";
  for (uint64_t i = 0; i < 30; ++i) out.image[500 + i] = b.substr(i * kPage, kPage);
  out.bytes = std::move(sink.out);
  return out;
}

Result<Image> ReadStream(std::string_view bytes, const SecretBytes* private_pem = nullptr) {
  StringSource source(bytes);
  CLONEFS_ASSIGN_OR_RETURN(auto reader, StreamReader::Open(&source));
  CLONEFS_ASSIGN_OR_RETURN(SecretBytes key, reader->StreamKey(private_pem));
  Image image;
  StreamVisitor v;
  v.pages = [&](uint64_t first, uint64_t count, std::string_view data) {
    for (uint64_t i = 0; i < count; ++i)
      image[first + i] = std::string(data.substr(i * kPage, kPage));
    return Status::OK();
  };
  v.zeros = [&](uint64_t first, uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) image[first + i] = "";
    return Status::OK();
  };
  CLONEFS_RETURN_IF_ERROR(reader->Read(key, v).status());
  return image;
}

// A stream cut into its header and its length-prefixed chunks.
struct Parts {
  std::string header;
  std::vector<std::string> chunks;  // each with its length field
  std::string Join() const {
    std::string s = header;
    for (const auto& c : chunks) s += c;
    return s;
  }
};
Parts Split(const std::string& bytes) {
  Parts p;
  const size_t header_len = kMagicSize + 4 + GetLE32(bytes.data() + kMagicSize);
  p.header = bytes.substr(0, header_len);
  for (size_t at = header_len; at < bytes.size();) {
    const size_t n = 4 + GetLE32(bytes.data() + at);
    p.chunks.push_back(bytes.substr(at, n));
    at += n;
  }
  return p;
}

void ExpectCorrupt(const std::string& bytes, const std::string& what,
                   const SecretBytes* private_pem = nullptr) {
  auto r = ReadStream(bytes, private_pem);
  EXPECT_FALSE(r.ok()) << what << ": accepted";
  if (!r.ok()) {
    EXPECT_NE(r.status().message(), "") << what;
  }
}

TEST(ExportStream, RoundTripsPagesAndZeroRunsInEveryCodec) {
  for (Codec codec : {Codec::kNone, Codec::kZstd}) {
    Written w = WriteStream(TestHeader(codec));
    EXPECT_GT(Split(w.bytes).chunks.size(), 3u);
    auto got = ReadStream(w.bytes);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, w.image);
  }
  // zstd made the well-compressing page smaller, so the stream is shorter.
  EXPECT_LT(WriteStream(TestHeader(Codec::kZstd)).bytes.size(),
            WriteStream(TestHeader(Codec::kNone)).bytes.size());
}

TEST(ExportStream, AnEmptyImageIsOneTrailerChunk) {
  StringSink sink;
  auto w = ClearWriter(&sink);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto t = (*w)->Finish();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->pages, 0u);
  EXPECT_EQ(Split(sink.out).chunks.size(), 1u);
  auto got = ReadStream(sink.out);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->empty());
}

TEST(ExportStream, AnyChangedByteIsRefused) {
  const std::string good = WriteStream(TestHeader()).bytes;
  // Every byte of the header and the first chunk's framing, then a stride through the rest.
  for (size_t i = 0; i < good.size(); i += (i < 400 ? 1 : 997)) {
    std::string bad = good;
    bad[i] ^= 0x20;
    ExpectCorrupt(bad, "byte " + std::to_string(i) + " changed");
  }
}

TEST(ExportStream, TruncatedReorderedRepeatedDroppedAndSplicedChunksAreRefused) {
  const Written w = WriteStream(TestHeader());
  const Parts p = Split(w.bytes);
  ASSERT_GE(p.chunks.size(), 4u);
  {
    Parts cut = p;  // at a chunk boundary: no final chunk
    cut.chunks.pop_back();
    ExpectCorrupt(cut.Join(), "last chunk missing");
  }
  ExpectCorrupt(w.bytes.substr(0, w.bytes.size() - 1), "cut inside the last chunk");
  ExpectCorrupt(p.header, "header only");
  ExpectCorrupt(w.bytes.substr(0, 5), "cut inside the magic");
  {
    Parts swapped = p;
    std::swap(swapped.chunks[1], swapped.chunks[2]);
    ExpectCorrupt(swapped.Join(), "chunks 1 and 2 swapped");
  }
  {
    Parts repeated = p;
    repeated.chunks.insert(repeated.chunks.begin() + 1, p.chunks[1]);
    ExpectCorrupt(repeated.Join(), "chunk 1 twice");
  }
  {
    Parts dropped = p;
    dropped.chunks.erase(dropped.chunks.begin() + 1);
    ExpectCorrupt(dropped.Join(), "chunk 1 dropped");
  }
  {
    // Another stream of the very same image and header fields, but its own stream id and key.
    const Parts other = Split(WriteStream(TestHeader()).bytes);
    ASSERT_EQ(other.chunks.size(), p.chunks.size());
    Parts spliced = p;
    spliced.chunks[2] = other.chunks[2];
    ExpectCorrupt(spliced.Join(), "chunk 2 from another stream");
    Parts header_swap = other;
    header_swap.header = p.header;
    ExpectCorrupt(header_swap.Join(), "another stream's header");
  }
  ExpectCorrupt(w.bytes + "x", "a byte after the final chunk");
  ExpectCorrupt(w.bytes + p.chunks.back(), "the final chunk twice");
}

TEST(ExportStream, NotAStreamAndUnknownVersionsSayWhatTheyAre) {
  auto r = ReadStream("PK\x03\x04 a zip file, not a stream");
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not a clonefs export stream"), std::string::npos);
  std::string future = WriteStream(TestHeader()).bytes;
  future[kMagicSize + 4] = 9;  // version 9
  r = ReadStream(future);
  EXPECT_EQ(r.status().code(), Status::Code::kNotSupported) << r.status().ToString();
}

// `bytes` with its final chunk opened, changed by `edit` and sealed again with the stream's
// own key (in the clear in its header): authentic chunks around whatever `edit` wrote.
std::string ResealFinalChunk(const std::string& bytes,
                             const std::function<void(std::string*)>& edit) {
  Parts p = Split(bytes);
  auto h = DecodeHeader(std::string_view(p.header).substr(kMagicSize + 4));
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  auto key = SecretBytes::CopyOf(h->key_blob);
  auto cipher = ChunkCipher::Create(*h, p.header, key);
  EXPECT_TRUE(cipher.ok()) << cipher.status().ToString();
  const auto index = static_cast<uint32_t>(p.chunks.size() - 1);
  std::string plain, sealed;
  EXPECT_OK(
      cipher->Open(index, /*last=*/true, std::string_view(p.chunks.back()).substr(4), &plain));
  edit(&plain);
  EXPECT_OK(cipher->Seal(index, /*last=*/true, plain, &sealed));
  char len[4];
  PutLE32(len, static_cast<uint32_t>(sealed.size()));
  p.chunks.back() = std::string(len, 4) + sealed;
  return p.Join();
}

TEST(ExportStream, VersionOneStreamsAreStillReadAndBothDigestsAreChecked) {
  for (uint16_t version : {uint16_t{1}, kVersion}) {
    SCOPED_TRACE("version " + std::to_string(version));
    Header h = TestHeader();
    h.version = version;
    const Written w = WriteStream(h);
    auto got = ReadStream(w.bytes);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, w.image);
    // Resealing as it was gives the very same bytes (same key, nonce and plaintext).
    EXPECT_EQ(ResealFinalChunk(w.bytes, [](std::string*) {}), w.bytes);
    // Every chunk authentic, but the trailer names another digest: refused all the same.
    const std::string wrong =
        ResealFinalChunk(w.bytes, [](std::string* plain) { plain->back() ^= 1; });
    auto r = ReadStream(wrong);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("digest does not match"), std::string::npos)
        << r.status().ToString();
  }
}

TEST(ExportStream, ASealedStreamOpensOnlyForItsRecipient) {
  auto mine = crypto::GenerateRecipientKey(crypto::RecipientKind::kX25519);
  auto theirs = crypto::GenerateRecipientKey(crypto::RecipientKind::kX25519);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  const Written w = WriteStream(TestHeader(), mine->public_pem);
  auto got = ReadStream(w.bytes, &mine->private_pem);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, w.image);
  // No key, another recipient's key: refused before any chunk is read, and the stream key is
  // nowhere in the stream.
  EXPECT_EQ(ReadStream(w.bytes).status().code(), Status::Code::kInvalidArgument);
  auto wrong = ReadStream(w.bytes, &theirs->private_pem);
  EXPECT_EQ(wrong.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("sealed for recipient"), std::string::npos);
  // A clear stream's key is its header's; a sealed one's is not there.
  StringSource source(w.bytes);
  auto reader = StreamReader::Open(&source);
  ASSERT_TRUE(reader.ok());
  auto key = (*reader)->StreamKey(&mine->private_pem);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(w.bytes.find(std::string(key->view())), std::string::npos);
}

TEST(ExportStream, TheWriterRefusesPagesOutOfOrderOrPastTheVolume) {
  StringSink sink;
  auto w = ClearWriter(&sink);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_OK((*w)->AddPages(10, 1, Pattern(1, kPage)));
  EXPECT_FALSE((*w)->AddPages(5, 1, Pattern(1, kPage)).ok());
  EXPECT_FALSE((*w)->AddZeros(1020, 10).ok());                  // the volume has 1024 pages
  EXPECT_FALSE((*w)->AddPages(11, 2, Pattern(1, kPage)).ok());  // data for one page only
}

}  // namespace
}  // namespace clonefs::exportfmt
