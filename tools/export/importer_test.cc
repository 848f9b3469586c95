// Export from one store, import into another: full and incremental streams rebuild every
// snapshot byte for byte, and every bad stream (damaged, truncated, wrong base, wrong or
// missing recipient) is refused and leaves nothing behind.
#include "tools/export/importer.h"

#include <gtest/gtest.h>

#include "crypto/recipient.h"
#include "tests/testing/store_fixture.h"
#include "tools/export/exporter.h"

namespace clonefs::exportfmt {
namespace {

using clonefs::testing::Pattern;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kVolume = 32ull << 20;

class ImporterTest : public clonefs::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();  // store_: the source region
    dest_dir_ = tmp_.path() + "/dest";
    ASSERT_OK(store::Store::Create(dest_dir_, "eu-west-1", Env::Default()));
    OpenDest();
    store::VolumeOptions vo;
    vo.size_bytes = kVolume;
    ASSERT_TRUE(store_->CreateVolume("db", vo).ok());
  }
  void OpenDest() {
    dest_.reset();
    auto s = clonefs::testing::OpenTestStore(dest_dir_, root_secret_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    dest_ = std::move(s).value();
  }
  void Write(const std::string& vol, uint64_t page, uint64_t count, uint64_t seed) {
    auto h = store_->OpenVolume(vol);
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Write(page * kPage, Pattern(seed, count * kPage)));
  }
  std::string Stream(const std::string& snap, const std::string& since = "",
                     const std::string& recipient = "") {
    ExportOptions o;
    o.snapshot = snap;
    o.since = since;
    o.recipient_pem = recipient;
    o.chunk_log2 = kMinChunkLog2;
    StringSink sink;
    auto r = ExportSnapshot(*store_, o, &sink);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return sink.out;
  }
  Result<store::SnapshotInfo> Import(const std::string& bytes, const std::string& target,
                                     const std::string& base = "",
                                     const crypto::SecretBytes* pem = nullptr) {
    ImportOptions o;
    o.target = target;
    o.base = base;
    o.recipient_private_pem = pem;
    StringSource source(bytes);
    return ImportSnapshot(*dest_, o, &source);
  }
  static std::string Image(store::Store& s, const std::string& snap) {
    auto h = s.OpenSnapshot(snap);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return "";
    std::string image((*h)->size(), '\0');
    EXPECT_OK((*h)->Read(0, image.size(), image.data()));
    return image;
  }
  // A refused import left no snapshot, volume or space in the destination.
  void ExpectDestUnchanged(size_t snapshots) {
    EXPECT_EQ(dest_->ListSnapshots().size(), snapshots);
    EXPECT_TRUE(dest_->ListVolumes().empty());
  }

  std::string dest_dir_;
  std::unique_ptr<store::Store> dest_;
};

TEST_F(ImporterTest, AFullStreamAndThreeIncrementalsRebuildEverySnapshotInAnotherStore) {
  Write("db", 0, 500, 1);
  Write("db", 7000, 20, 2);
  ASSERT_TRUE(store_->CreateSnapshot("db", "s0", {}).ok());
  auto s0 = Import(Stream("s0"), "copy-s0");
  ASSERT_TRUE(s0.ok()) << s0.status().ToString();
  EXPECT_EQ(s0->volume_name, "s0");  // the source snapshot's name, from its ARN
  EXPECT_NE(s0->source_snapshot_arn.find(":snapshot:s0"), std::string::npos);
  EXPECT_EQ(Image(*dest_, "copy-s0"), Image(*store_, "s0"));
  for (int i = 1; i <= 3; ++i) {
    const std::string prev = "s" + std::to_string(i - 1), next = "s" + std::to_string(i);
    Write("db", 100 * i, 10, 10 + i);
    auto h = store_->OpenVolume("db");
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Discard((7000 + i) * kPage, kPage));
    h->reset();
    ASSERT_TRUE(store_->CreateSnapshot("db", next, {}).ok());
    auto r = Import(Stream(next, prev), "copy-" + next, "copy-" + prev);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Image(*dest_, "copy-" + next), Image(*store_, next)) << next;
  }
  OpenDest();  // and after a restart
  EXPECT_EQ(Image(*dest_, "copy-s3"), Image(*store_, "s3"));
  EXPECT_TRUE(dest_->ListVolumes().empty());
}

TEST_F(ImporterTest, DamagedTruncatedAndWrongBaseStreamsLeaveNothing) {
  Write("db", 0, 300, 1);
  ASSERT_TRUE(store_->CreateSnapshot("db", "a", {}).ok());
  Write("db", 5, 5, 2);
  ASSERT_TRUE(store_->CreateSnapshot("db", "b", {}).ok());
  const std::string full = Stream("a");
  std::string damaged = full;
  damaged[damaged.size() / 2] ^= 0x01;
  EXPECT_FALSE(Import(damaged, "x").ok());
  ExpectDestUnchanged(0);
  EXPECT_FALSE(Import(full.substr(0, full.size() - 100), "x").ok());
  ExpectDestUnchanged(0);

  // Incrementals: no base named, a base that is not the stream's, a full stream with a base.
  ASSERT_TRUE(Import(Stream("b"), "copy-b").ok());  // a full copy of b, not of a
  const std::string inc = Stream("b", "a");
  EXPECT_ERROR_NAME(Import(inc, "x"), "InvalidParameterCombination");
  auto wrong = Import(inc, "x", "copy-b");
  EXPECT_ERROR_NAME(wrong, "InvalidParameterCombination");
  EXPECT_NE(wrong.status().message().find("is not that snapshot"), std::string::npos);
  EXPECT_ERROR_NAME(Import(full, "x", "copy-b"), "InvalidParameterCombination");
  ExpectDestUnchanged(1);
  // The name "x" was never taken.
  EXPECT_TRUE(Import(full, "x").ok());
}

TEST_F(ImporterTest, AnEncryptedSnapshotTravelsSealedAndArrivesEncrypted) {
  UseKeyFile();  // the source store; the destination gets a key file too
  const std::string dest_key = dest_dir_ + ".key";
  ASSERT_OK(crypto::CreateKeyFile(dest_key));
  root_secret_ = std::make_shared<const crypto::RootSecret>(crypto::RootSecret::KeyFile(dest_key));
  OpenDest();
  store::VolumeOptions vo;
  vo.size_bytes = kVolume;
  vo.encrypted = true;
  ASSERT_TRUE(store_->CreateVolume("secret", vo).ok());
  Write("secret", 0, 64, 3);
  ASSERT_TRUE(store_->CreateSnapshot("secret", "ss", {}).ok());

  auto mine = crypto::GenerateRecipientKey(crypto::RecipientKind::kX25519);
  auto other = crypto::GenerateRecipientKey(crypto::RecipientKind::kX25519);
  ASSERT_TRUE(mine.ok() && other.ok());
  const std::string sealed = Stream("ss", "", mine->public_pem);
  EXPECT_FALSE(Import(sealed, "copy").ok());  // no private key
  EXPECT_FALSE(Import(sealed, "copy", "", &other->private_pem).ok());
  ExpectDestUnchanged(0);
  auto r = Import(sealed, "copy", "", &mine->private_pem);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->encrypted);
  EXPECT_EQ(Image(*dest_, "copy"), Image(*store_, "ss"));
}

TEST_F(ImporterTest, AStreamNamesItsSnapshotsOwnerAndTypedName) {
  store::VolumeOptions vo;
  vo.size_bytes = kVolume;
  ASSERT_TRUE(store_->CreateVolume("012345678901.v", vo).ok());
  ASSERT_TRUE(store_->CreateSnapshot("012345678901.v", "012345678901.s", {}).ok());
  const std::string stream = Stream("012345678901.s");
  auto r = Import(stream, "t");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source_snapshot_arn, "arn:clonefs:us-east-1:012345678901:snapshot:s");
}

}  // namespace
}  // namespace clonefs::exportfmt
