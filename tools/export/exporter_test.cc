// ExportSnapshot on a real store: full and incremental streams carry exactly the snapshot's
// image (a full stream plus three incrementals rebuilds the last snapshot byte for byte), an
// encrypted snapshot leaves only sealed for a recipient.
#include "tools/export/exporter.h"

#include <gtest/gtest.h>

#include "crypto/recipient.h"
#include "tests/testing/store_fixture.h"
#include "tools/export/stream_reader.h"

namespace clonefs::exportfmt {
namespace {

using clonefs::testing::Pattern;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kVolume = 64ull << 20;  // 16384 pages

ExportOptions Opts(const std::string& snapshot, const std::string& since = "",
                   Codec codec = Codec::kNone) {
  ExportOptions o;
  o.snapshot = snapshot;
  o.since = since;
  o.codec = codec;
  return o;
}

class ExporterTest : public clonefs::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store::VolumeOptions vo;
    vo.size_bytes = kVolume;
    ASSERT_TRUE(store_->CreateVolume("db", vo).ok());
  }
  void Write(uint64_t page, uint64_t count, uint64_t seed) {
    auto h = store_->OpenVolume("db");
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Write(page * kPage, Pattern(seed, count * kPage)));
  }
  std::string SnapshotImage(const std::string& name) {
    auto h = store_->OpenSnapshot(name);
    EXPECT_TRUE(h.ok());
    std::string image(kVolume, '\0');
    if (h.ok()) EXPECT_OK((*h)->Read(0, image.size(), image.data()));
    return image;
  }
  Result<ExportSummary> Export(const ExportOptions& o, std::string* bytes) {
    StringSink sink;
    auto r = ExportSnapshot(*store_, o, &sink);
    *bytes = std::move(sink.out);
    return r;
  }
  // Applies a stream to `image` (zeros for zero runs), as an importer would.
  void Apply(const std::string& bytes, std::string* image, const SecretBytes* pem = nullptr) {
    StringSource source(bytes);
    auto reader = StreamReader::Open(&source);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto key = (*reader)->StreamKey(pem);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    StreamVisitor v;
    v.pages = [&](uint64_t first, uint64_t count, std::string_view data) {
      image->replace(first * kPage, count * kPage, data);
      return Status::OK();
    };
    v.zeros = [&](uint64_t first, uint64_t count) {
      image->replace(first * kPage, count * kPage, std::string(count * kPage, '\0'));
      return Status::OK();
    };
    ASSERT_OK((*reader)->Read(*key, v).status());
  }
};

TEST_F(ExporterTest, AFullStreamAndThreeIncrementalsRebuildEachSnapshot) {
  Write(0, 300, 1);
  Write(10000, 50, 2);
  ASSERT_TRUE(store_->CreateSnapshot("db", "s0", {}).ok());
  std::string bytes;
  auto full = Export(Opts("s0", "", Codec::kZstd), &bytes);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->trailer.pages, 350u);  // only the pages that hold data
  EXPECT_FALSE(full->header.incremental());
  std::string image(kVolume, '\0');
  Apply(bytes, &image);
  EXPECT_EQ(image, SnapshotImage("s0"));

  const size_t full_size = bytes.size();
  for (int round = 1; round <= 3; ++round) {
    const std::string base = "s" + std::to_string(round - 1);
    const std::string next = "s" + std::to_string(round);
    Write(round * 7, 3, 10 + round);  // a few pages change
    auto h = store_->OpenVolume("db");
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Discard((200 + round) * kPage, kPage));  // one page goes
    ASSERT_TRUE(store_->CreateSnapshot("db", next, {}).ok());
    auto inc = Export(Opts(next, base), &bytes);
    ASSERT_TRUE(inc.ok()) << inc.status().ToString();
    EXPECT_TRUE(inc->header.incremental());
    EXPECT_EQ(inc->trailer.pages, 3u);
    EXPECT_EQ(inc->trailer.zero_pages, 1u);
    EXPECT_LT(bytes.size() * 20, full_size);  // the changes, not the volume
    Apply(bytes, &image);
    EXPECT_EQ(image, SnapshotImage(next)) << "after incremental " << round;
  }
}

TEST_F(ExporterTest, AnEncryptedSnapshotLeavesOnlySealedForARecipient) {
  UseKeyFile();
  store::VolumeOptions vo;
  vo.size_bytes = kVolume;
  vo.encrypted = true;
  ASSERT_TRUE(store_->CreateVolume("secret", vo).ok());
  {
    auto h = store_->OpenVolume("secret");
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Write(0, Pattern(5, 8 * kPage)));
  }
  ASSERT_TRUE(store_->CreateSnapshot("secret", "ss", {}).ok());
  std::string bytes;
  EXPECT_ERROR_NAME(Export(Opts("ss"), &bytes), "InvalidParameterCombination");
  EXPECT_TRUE(bytes.empty());  // refused before a byte was written

  auto recipient = crypto::GenerateRecipientKey(crypto::RecipientKind::kRsa3072);
  ASSERT_TRUE(recipient.ok());
  ExportOptions o = Opts("ss");
  o.recipient_pem = recipient->public_pem;
  auto sealed = Export(o, &bytes);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_TRUE(sealed->header.source_encrypted);
  EXPECT_EQ(bytes.find(Pattern(5, kPage).substr(0, 64)), std::string::npos);
  std::string image(kVolume, '\0');
  Apply(bytes, &image, &recipient->private_pem);
  EXPECT_EQ(image.substr(0, 8 * kPage), Pattern(5, 8 * kPage));
}

TEST_F(ExporterTest, MissingSnapshotsAndForeignBasesAreRefused) {
  ASSERT_TRUE(store_->CreateSnapshot("db", "a", {}).ok());
  store::VolumeOptions vo;
  vo.size_bytes = 1 << 20;
  ASSERT_TRUE(store_->CreateVolume("other", vo).ok());
  ASSERT_TRUE(store_->CreateSnapshot("other", "b", {}).ok());
  std::string bytes;
  EXPECT_ERROR_NAME(Export(Opts("nope"), &bytes), "SnapshotNotFound");
  EXPECT_ERROR_NAME(Export(Opts("a", "nope"), &bytes), "SnapshotNotFound");
  EXPECT_ERROR_NAME(Export(Opts("a", "b"), &bytes), "InvalidParameterCombination");
}

}  // namespace
}  // namespace clonefs::exportfmt
