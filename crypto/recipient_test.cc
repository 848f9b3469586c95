#include "crypto/recipient.h"

#include <gtest/gtest.h>

#include "crypto/test_util.h"

namespace clonefs::crypto {
namespace {

class RecipientTest : public ::testing::TestWithParam<RecipientKind> {};

SecretBytes StreamKey() { return SecretBytes::CopyOf(std::string(32, '\x5a')); }

TEST_P(RecipientTest, SealedSecretOpensOnlyWithThePrivateKeyAndContext) {
  auto pair = GenerateRecipientKey(GetParam());
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  auto other = GenerateRecipientKey(GetParam());
  ASSERT_TRUE(other.ok());
  auto envelope = SealForRecipient(pair->public_pem, StreamKey(), "stream-1");
  ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();

  auto opened = OpenAsRecipient(pair->private_pem, *envelope, "stream-1");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->view(), StreamKey().view());
  // Another recipient, another context, a changed byte anywhere: Corruption, no secret.
  EXPECT_EQ(OpenAsRecipient(other->private_pem, *envelope, "stream-1").status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(OpenAsRecipient(pair->private_pem, *envelope, "stream-2").status().code(),
            Status::Code::kCorruption);
  for (size_t i = 0; i < envelope->size(); i += 7) {
    std::string bad = *envelope;
    bad[i] ^= 0x01;
    EXPECT_FALSE(OpenAsRecipient(pair->private_pem, bad, "stream-1").ok()) << "byte " << i;
  }
  EXPECT_FALSE(OpenAsRecipient(pair->private_pem, envelope->substr(0, 20), "stream-1").ok());
  // Two seals of one secret differ (fresh ephemeral key or OAEP randomness).
  auto again = SealForRecipient(pair->public_pem, StreamKey(), "stream-1");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *envelope);
}

TEST_P(RecipientTest, PublicAndPrivateHalvesShareOneFingerprint) {
  auto pair = GenerateRecipientKey(GetParam());
  ASSERT_TRUE(pair.ok());
  auto pub = DescribePublicKey(pair->public_pem);
  auto priv = DescribePrivateKey(pair->private_pem);
  ASSERT_TRUE(pub.ok() && priv.ok());
  EXPECT_EQ(pub->kind, GetParam());
  EXPECT_EQ(pub->fingerprint, priv->fingerprint);
  EXPECT_EQ(pub->fingerprint.size(), 64u);
}

INSTANTIATE_TEST_SUITE_P(Kinds, RecipientTest,
                         ::testing::Values(RecipientKind::kX25519, RecipientKind::kRsa3072),
                         [](const auto& info) {
                           return std::string(RecipientKindName(info.param));
                         });

TEST(Recipient, RefusesWhatIsNotARecipientKey) {
  EXPECT_EQ(DescribePublicKey("hello").status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(SealForRecipient("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                                StreamKey(), "")
                   .ok());
  EXPECT_EQ(ParseRecipientKind("RSA_2048").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(*ParseRecipientKind("ECC_X25519"), RecipientKind::kX25519);
}

}  // namespace
}  // namespace clonefs::crypto
