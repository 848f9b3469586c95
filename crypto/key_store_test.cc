#include "crypto/key_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>
#include <vector>

#include "crypto/key_file.h"
#include "crypto/recipient.h"
#include "crypto/test_util.h"
#include "tests/testing/fault_env.h"

namespace clonefs::crypto {
namespace {

using testing::FakeClockEnv;
using testing::TempDir;

constexpr char kRegion[] = "us-east-1";
constexpr char kOwner[] = "111111111111";
constexpr char kOther[] = "222222222222";
constexpr char kThird[] = "333333333333";
constexpr char kContext[] = "store=7f3a lineage=12 owner=111111111111";
constexpr uint64_t kDay = uint64_t{86400} * 1000 * 1000;

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_file_ = dir_.path() + "/root.key";
    store_dir_ = dir_.path() + "/keys";
    ASSERT_OK(CreateKeyFile(key_file_));
    Reopen();
  }

  KeyStoreOptions Options() {
    KeyStoreOptions options;
    options.env = &env_;
    options.scrypt = ScryptParams{1 << 10, 8, 1};  // cheap for tests
    return options;
  }
  Result<std::unique_ptr<KeyStore>> OpenWith(const RootSecret& root) {
    return KeyStore::Open(store_dir_, kRegion, root, Options());
  }
  void Reopen() {
    store_.reset();  // releases the lock first
    auto store = OpenWith(RootSecret::KeyFile(key_file_));
    ASSERT_OK(store.status());
    store_ = std::move(store).value();
    ASSERT_FALSE(store_->locked()) << store_->lock_reason().ToString();
  }
  std::string FileContents() {
    std::ifstream f(store_->path(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  void WriteFileContents(const std::string& text) {
    std::ofstream f(store_dir_ + "/keystore.json", std::ios::binary | std::ios::trunc);
    f << text;
  }
  std::string NewKey(const std::string& account = kOwner, std::string_view alias = "") {
    auto key = store_->CreateKey(account, alias, "test key");
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return key.ok() ? key->key_id : "";
  }
  static Dek NewDek() {
    auto dek = GenerateDek();
    EXPECT_TRUE(dek.ok());
    return std::move(dek).value();
  }
  // A recipient key of `account`, and its public key.
  struct Recipient {
    std::string key_id;
    std::string public_pem;
    std::string fingerprint;
  };
  Recipient NewRecipient(const std::string& account = kOwner, std::string_view alias = "",
                         RecipientKind kind = RecipientKind::kX25519) {
    Recipient r;
    auto key = store_->CreateRecipientKey(account, kind, alias, "recipient");
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    if (!key.ok()) return r;
    r.key_id = key->key_id;
    auto pem = store_->GetPublicKey(account, r.key_id);
    EXPECT_TRUE(pem.ok()) << pem.status().ToString();
    if (pem.ok()) r.public_pem = *pem;
    auto info = DescribePublicKey(r.public_pem);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (info.ok()) r.fingerprint = info->fingerprint;
    return r;
  }
  // `secret` sealed for `public_pem` with kContext.
  static std::string Seal(const std::string& public_pem, const SecretBytes& secret) {
    auto envelope = SealForRecipient(public_pem, secret, kContext);
    EXPECT_TRUE(envelope.ok()) << envelope.status().ToString();
    return envelope.ok() ? *envelope : std::string();
  }

  TempDir dir_;
  FakeClockEnv env_{uint64_t{1700000000} * 1000 * 1000};
  std::string key_file_;
  std::string store_dir_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(KeyStoreTest, CreateListAndDescribe) {
  auto created = store_->CreateKey(kOwner, "db-key", "for the database volumes");
  ASSERT_OK(created.status());
  EXPECT_TRUE(created->key_id.rfind("key-", 0) == 0);
  EXPECT_EQ(created->arn,
            std::string("arn:clonefs:us-east-1:") + kOwner + ":key:" + created->key_id);
  EXPECT_EQ(created->state, KeyState::kEnabled);
  EXPECT_EQ(created->primary_version, 1u);
  EXPECT_EQ(created->versions.size(), 1u);
  EXPECT_EQ(created->creation_date_us, uint64_t{1700000000} * 1000 * 1000);
  EXPECT_FALSE(created->is_default);
  const std::string second = NewKey();

  auto listed = store_->ListKeys(kOwner);
  ASSERT_OK(listed.status());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_LT((*listed)[0].key_id, (*listed)[1].key_id);
  EXPECT_TRUE(store_->ListKeys(kOther)->empty());

  for (const std::string& ref :
       {created->key_id, created->arn, std::string("alias/db-key"), std::string("db-key")}) {
    auto described = store_->DescribeKey(kOwner, ref);
    ASSERT_OK(described.status());
    EXPECT_EQ(described->key_id, created->key_id) << ref;
    EXPECT_EQ(described->description, "for the database volumes");
    EXPECT_EQ(described->aliases, std::vector<std::string>{"db-key"});
  }
  EXPECT_ERROR_NAME(store_->DescribeKey(kOwner, "key-0000000000000000"), "NotFoundException");
  EXPECT_ERROR_NAME(store_->DescribeKey(kOwner, "alias/nope"), "NotFoundException");
  // An ARN naming another region or owner does not find it.
  std::string wrong_region = created->arn;
  wrong_region.replace(wrong_region.find("us-east-1"), 9, "eu-west-1");
  EXPECT_ERROR_NAME(store_->DescribeKey(kOwner, wrong_region), "NotFoundException");
  std::string no_owner = created->arn;
  no_owner.replace(no_owner.find(kOwner), std::string(kOwner).size(), "");
  EXPECT_ERROR_NAME(store_->DescribeKey(kOwner, no_owner), "NotFoundException");
  std::string other_owner = created->arn;
  other_owner.replace(other_owner.find(kOwner), std::string(kOwner).size(), kOther);
  EXPECT_ERROR_NAME(store_->DescribeKey(kOwner, other_owner), "NotFoundException");
  EXPECT_EQ(store_->DescribeKey(kOwner, second)->aliases.size(), 0u);
}

TEST_F(KeyStoreTest, AliasesAreValidatedAndUniquePerAccount) {
  const std::string key = NewKey(kOwner, "first");
  ASSERT_OK(store_->CreateAlias(kOwner, "alias/second", key));
  EXPECT_EQ(store_->DescribeKey(kOwner, "second")->key_id, key);
  EXPECT_ERROR_NAME(store_->CreateAlias(kOwner, "first", key), "AlreadyExistsException");
  EXPECT_ERROR_NAME(store_->CreateKey(kOwner, "second", ""), "AlreadyExistsException");
  for (const char* bad : {"", "has space", "default", "key-0123456789abcdef", "a/b",
                          "0123456789012345678901234567890123456789012345678901234567890123"}) {
    SCOPED_TRACE(bad);
    EXPECT_ERROR_NAME(store_->CreateAlias(kOwner, bad, key), "InvalidAliasNameException");
  }
  // Another account may use the same name for its own key.
  EXPECT_OK(store_->CreateKey(kOther, "first", "").status());
  ASSERT_OK(store_->DeleteAlias(kOwner, "first"));
  EXPECT_ERROR_NAME(store_->DescribeKey(kOwner, "first"), "NotFoundException");
  EXPECT_ERROR_NAME(store_->DeleteAlias(kOwner, "first"), "NotFoundException");
  EXPECT_EQ(store_->DescribeKey(kOwner, "second")->aliases, std::vector<std::string>{"second"});
}

TEST_F(KeyStoreTest, DefaultKeyIsMadeOnceAndNeverShared) {
  auto first = store_->DefaultKey(kOwner);
  ASSERT_OK(first.status());
  EXPECT_TRUE(first->is_default);
  EXPECT_EQ(first->aliases, std::vector<std::string>{"default"});
  EXPECT_EQ(store_->DefaultKey(kOwner)->key_id, first->key_id);
  EXPECT_NE(store_->DefaultKey(kOther)->key_id, first->key_id);
  EXPECT_EQ(store_->DescribeKey(kOwner, "alias/default")->key_id, first->key_id);

  const std::string id = first->key_id;
  const std::string share = std::string(R"({"accounts": {")") + kOther + R"(": ["Decrypt"]}})";
  EXPECT_ERROR_NAME(store_->PutPolicy(kOwner, id, share), "UnsupportedOperationException");
  EXPECT_ERROR_NAME(store_->CreateGrant(kOwner, id, kOther, {KeyOperation::kDecrypt}),
                    "UnsupportedOperationException");
  EXPECT_ERROR_NAME(store_->DisableKey(kOwner, id), "UnsupportedOperationException");
  EXPECT_ERROR_NAME(store_->ScheduleKeyDeletion(kOwner, id, 7), "UnsupportedOperationException");
  EXPECT_ERROR_NAME(store_->DeleteAlias(kOwner, "default"), "InvalidAliasNameException");
  EXPECT_ERROR_NAME(store_->CreateKey(kOwner, "default", ""), "InvalidAliasNameException");
  // Naming only the owner is not sharing, and the key still wraps for its owner.
  EXPECT_OK(store_->PutPolicy(kOwner, id,
                              std::string(R"({"accounts": {")") + kOwner + R"(": ["Decrypt"]}})"));
  Dek dek = NewDek();
  EXPECT_OK(store_->WrapDek(kOwner, "default", dek.id, dek.key, kContext).status());
  EXPECT_ERROR_NAME(store_->WrapDek(kOther, id, dek.id, dek.key, kContext), "NotFoundException");
}

TEST_F(KeyStoreTest, PolicyRoundTripsAndMalformedOnesChangeNothing) {
  const std::string key = NewKey();
  EXPECT_EQ(*store_->GetPolicy(kOwner, key), R"({"accounts":{}})");
  const std::string policy = std::string(R"({"accounts": {")") + kOther +
                             R"(": ["ReEncrypt", "Decrypt", "Decrypt"], ")" + kThird + R"(": []}})";
  ASSERT_OK(store_->PutPolicy(kOwner, key, policy));
  const std::string expected =
      std::string(R"({"accounts":{")") + kOther + R"(":["Decrypt","ReEncrypt"]}})";
  EXPECT_EQ(*store_->GetPolicy(kOwner, key), expected);

  for (const char* bad :
       {"", "not json", "[]", R"({"accounts": []})", R"({"accounts": {}, "x": 1})",
        R"({"Accounts": {}})", R"({"accounts": {"222": "Decrypt"}})",
        R"({"accounts": {"222": ["Encrypt"]}})", R"({"accounts": {"222": [1]}})",
        R"({"accounts": {"bad id": ["Decrypt"]}})"}) {
    SCOPED_TRACE(bad);
    EXPECT_ERROR_NAME(store_->PutPolicy(kOwner, key, bad), "MalformedPolicyDocumentException");
  }
  EXPECT_EQ(*store_->GetPolicy(kOwner, key), expected);
  EXPECT_ERROR_NAME(store_->PutPolicy(kOwner, key, std::string(40000, ' ') + "{}"),
                    "MalformedPolicyDocumentException");
}

TEST_F(KeyStoreTest, DisabledKeysNeitherWrapNorUnwrap) {
  const std::string key = NewKey();
  Dek dek = NewDek();
  auto wrapped = store_->WrapDek(kOwner, key, dek.id, dek.key, kContext);
  ASSERT_OK(wrapped.status());
  ASSERT_OK(store_->DisableKey(kOwner, key));
  EXPECT_EQ(store_->DescribeKey(kOwner, key)->state, KeyState::kDisabled);
  EXPECT_ERROR_NAME(store_->WrapDek(kOwner, key, dek.id, dek.key, kContext), "DisabledException");
  EXPECT_ERROR_NAME(store_->UnwrapDek(kOwner, *wrapped, kContext), "DisabledException");
  EXPECT_ERROR_NAME(store_->RotateKey(kOwner, key), "DisabledException");
  ASSERT_OK(store_->EnableKey(kOwner, key));
  auto unwrapped = store_->UnwrapDek(kOwner, *wrapped, kContext);
  ASSERT_OK(unwrapped.status());
  EXPECT_TRUE(unwrapped->Equals(dek.key));
}

TEST_F(KeyStoreTest, DeletionIsScheduled7To30DaysAheadAndCancelLeavesItDisabled) {
  const std::string key = NewKey();
  Dek dek = NewDek();
  auto wrapped = store_->WrapDek(kOwner, key, dek.id, dek.key, kContext);
  ASSERT_OK(wrapped.status());
  EXPECT_EQ(store_->ScheduleKeyDeletion(kOwner, key, 6).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->ScheduleKeyDeletion(kOwner, key, 31).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->DescribeKey(kOwner, key)->state, KeyState::kEnabled);

  auto scheduled = store_->ScheduleKeyDeletion(kOwner, key, 7);
  ASSERT_OK(scheduled.status());
  EXPECT_EQ(scheduled->state, KeyState::kPendingDeletion);
  EXPECT_EQ(scheduled->deletion_date_us, env_.NowMicros() + 7 * kDay);
  EXPECT_ERROR_NAME(store_->WrapDek(kOwner, key, dek.id, dek.key, kContext),
                    "KMSInvalidStateException");
  EXPECT_ERROR_NAME(store_->UnwrapDek(kOwner, *wrapped, kContext), "KMSInvalidStateException");
  EXPECT_ERROR_NAME(store_->EnableKey(kOwner, key), "KMSInvalidStateException");
  EXPECT_ERROR_NAME(store_->ScheduleKeyDeletion(kOwner, key, 30), "KMSInvalidStateException");

  ASSERT_OK(store_->CancelKeyDeletion(kOwner, key));
  EXPECT_EQ(store_->DescribeKey(kOwner, key)->state, KeyState::kDisabled);
  EXPECT_ERROR_NAME(store_->CancelKeyDeletion(kOwner, key), "KMSInvalidStateException");
  ASSERT_OK(store_->EnableKey(kOwner, key));
  EXPECT_OK(store_->UnwrapDek(kOwner, *wrapped, kContext).status());
  EXPECT_OK(store_->ScheduleKeyDeletion(kOwner, key, 30).status());
}

TEST_F(KeyStoreTest, ExpiredKeysAreDeletedOnlyAfterTheirDate) {
  const std::string doomed = NewKey();
  const std::string kept = NewKey();
  Dek dek = NewDek();
  auto wrapped = store_->WrapDek(kOwner, doomed, dek.id, dek.key, kContext);
  ASSERT_OK(wrapped.status());
  ASSERT_OK(store_->ScheduleKeyDeletion(kOwner, doomed, 7).status());
  env_.Advance(7 * kDay - 1);
  EXPECT_EQ(*store_->DeleteExpiredKeys(), 0u);
  env_.Advance(1);
  EXPECT_EQ(*store_->DeleteExpiredKeys(), 1u);
  EXPECT_ERROR_NAME(store_->DescribeKey(kOwner, doomed), "NotFoundException");
  EXPECT_ERROR_NAME(store_->UnwrapDek(kOwner, *wrapped, kContext), "NotFoundException");
  Reopen();
  EXPECT_ERROR_NAME(store_->DescribeKey(kOwner, doomed), "NotFoundException");
  EXPECT_OK(store_->DescribeKey(kOwner, kept).status());
}

TEST_F(KeyStoreTest, RotationKeepsOldWrapsReadableAndWrapsNewOnesWithTheNewVersion) {
  const std::string key = NewKey();
  Dek old_dek = NewDek();
  auto old_wrap = store_->WrapDek(kOwner, key, old_dek.id, old_dek.key, kContext);
  ASSERT_OK(old_wrap.status());
  EXPECT_EQ(old_wrap->key_version, 1u);

  env_.Advance(kDay);
  auto rotated = store_->RotateKey(kOwner, key);
  ASSERT_OK(rotated.status());
  EXPECT_EQ(rotated->primary_version, 2u);
  ASSERT_EQ(rotated->versions.size(), 2u);
  EXPECT_EQ(rotated->versions[1].creation_date_us, env_.NowMicros());

  Dek new_dek = NewDek();
  auto new_wrap = store_->WrapDek(kOwner, key, new_dek.id, new_dek.key, kContext);
  ASSERT_OK(new_wrap.status());
  EXPECT_EQ(new_wrap->key_version, 2u);
  Reopen();
  auto old_back = store_->UnwrapDek(kOwner, *old_wrap, kContext);
  auto new_back = store_->UnwrapDek(kOwner, *new_wrap, kContext);
  ASSERT_OK(old_back.status());
  ASSERT_OK(new_back.status());
  EXPECT_TRUE(old_back->Equals(old_dek.key));
  EXPECT_TRUE(new_back->Equals(new_dek.key));
  // The versions are different keys: claiming the other version fails.
  WrappedDek mislabelled = *new_wrap;
  mislabelled.key_version = 1;
  EXPECT_TRUE(store_->UnwrapDek(kOwner, mislabelled, kContext).status().IsCorruption());
  mislabelled.key_version = 3;
  EXPECT_TRUE(store_->UnwrapDek(kOwner, mislabelled, kContext).status().IsCorruption());
}

TEST_F(KeyStoreTest, UnwrapNeedsTheSameContextAndUntouchedBytes) {
  const std::string key = NewKey();
  const std::string other_key = NewKey();
  Dek dek = NewDek();
  auto wrapped = store_->WrapDek(kOwner, key, dek.id, dek.key, kContext);
  ASSERT_OK(wrapped.status());
  auto back = store_->UnwrapDek(kOwner, *wrapped, kContext);
  ASSERT_OK(back.status());
  EXPECT_TRUE(back->Equals(dek.key));
  // The serialized form round-trips through Parse and still unwraps.
  auto parsed = WrappedDek::Parse(wrapped->Serialize());
  ASSERT_OK(parsed.status());
  EXPECT_OK(store_->UnwrapDek(kOwner, *parsed, kContext).status());

  EXPECT_TRUE(store_->UnwrapDek(kOwner, *wrapped, "store=7f3a lineage=13 owner=111111111111")
                  .status()
                  .IsCorruption());
  EXPECT_TRUE(store_->UnwrapDek(kOwner, *wrapped, "").status().IsCorruption());
  WrappedDek bad = *wrapped;
  bad.dek_id ^= 1;
  EXPECT_TRUE(store_->UnwrapDek(kOwner, bad, kContext).status().IsCorruption());
  bad = *wrapped;
  bad.ct[5] ^= 0x10;
  EXPECT_TRUE(store_->UnwrapDek(kOwner, bad, kContext).status().IsCorruption());
  bad = *wrapped;
  bad.tag[0] ^= 0x01;
  EXPECT_TRUE(store_->UnwrapDek(kOwner, bad, kContext).status().IsCorruption());
  bad = *wrapped;
  bad.iv[11] ^= 0x01;
  EXPECT_TRUE(store_->UnwrapDek(kOwner, bad, kContext).status().IsCorruption());
  bad = *wrapped;
  bad.key_id = other_key;
  EXPECT_TRUE(store_->UnwrapDek(kOwner, bad, kContext).status().IsCorruption());

  EXPECT_EQ(store_->WrapDek(kOwner, key, 0, dek.key, kContext).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->WrapDek(kOwner, key, 1, SecretBytes(16), kContext).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(KeyStoreTest, KeysNotSharedWithAnAccountLookAbsentToIt) {
  const std::string key = NewKey(kOwner, "mine");
  Dek dek = NewDek();
  auto wrapped = store_->WrapDek(kOwner, key, dek.id, dek.key, kContext);
  ASSERT_OK(wrapped.status());

  const std::string absent = "key-00000000000000aa";
  auto unshared = store_->DescribeKey(kOther, key);
  auto missing = store_->DescribeKey(kOther, absent);
  EXPECT_ERROR_NAME(unshared, "NotFoundException");
  // The same answer as for a key that does not exist, up to the name asked for.
  std::string unshared_msg = unshared.status().message();
  unshared_msg.replace(unshared_msg.find(key), key.size(), absent);
  EXPECT_EQ(unshared_msg, missing.status().message());
  EXPECT_ERROR_NAME(store_->UnwrapDek(kOther, *wrapped, kContext), "NotFoundException");
  EXPECT_ERROR_NAME(store_->WrapDek(kOther, key, dek.id, dek.key, kContext), "NotFoundException");
  EXPECT_ERROR_NAME(store_->GetPolicy(kOther, key), "NotFoundException");
  EXPECT_ERROR_NAME(store_->DisableKey(kOther, key), "NotFoundException");
  EXPECT_ERROR_NAME(store_->RotateKey(kOther, key), "NotFoundException");
  EXPECT_ERROR_NAME(store_->DescribeKey(kOther, "alias/mine"), "NotFoundException");

  // Policy: kOther may decrypt, nothing else.
  ASSERT_OK(store_->PutPolicy(kOwner, key,
                              std::string(R"({"accounts": {")") + kOther + R"(": ["Decrypt"]}})"));
  auto described = store_->DescribeKey(kOther, key);
  ASSERT_OK(described.status());
  EXPECT_TRUE(described->aliases.empty());  // aliases are the owner's own names
  EXPECT_EQ(described->owner, kOwner);
  auto unwrapped = store_->UnwrapDek(kOther, *wrapped, kContext);
  ASSERT_OK(unwrapped.status());
  EXPECT_TRUE(unwrapped->Equals(dek.key));
  EXPECT_ERROR_NAME(store_->WrapDek(kOther, key, dek.id, dek.key, kContext),
                    "AccessDeniedException");
  EXPECT_ERROR_NAME(store_->GetPolicy(kOther, key), "AccessDeniedException");
  EXPECT_ERROR_NAME(store_->DisableKey(kOther, key), "AccessDeniedException");
  EXPECT_ERROR_NAME(store_->CreateGrant(kOther, key, kThird, {KeyOperation::kDecrypt}),
                    "AccessDeniedException");
  EXPECT_TRUE(store_->ListKeys(kOther)->empty());  // ListKeys shows only owned keys
  EXPECT_ERROR_NAME(store_->DescribeKey(kThird, key), "NotFoundException");

  // Withdrawing the policy hides the key again.
  ASSERT_OK(store_->PutPolicy(kOwner, key, R"({"accounts": {}})"));
  EXPECT_ERROR_NAME(store_->UnwrapDek(kOther, *wrapped, kContext), "NotFoundException");
}

TEST_F(KeyStoreTest, CheckOperationAnswersAsTheOperationWould) {
  const std::string key = NewKey(kOwner, "mine");
  EXPECT_OK(store_->CheckOperation(kOwner, key, KeyOperation::kReEncrypt));
  EXPECT_OK(store_->CheckOperation(kOwner, "alias/mine", KeyOperation::kDecrypt));
  EXPECT_ERROR_NAME(store_->CheckOperation(kOther, key, KeyOperation::kDecrypt),
                    "NotFoundException");
  ASSERT_OK(store_->PutPolicy(kOwner, key,
                              std::string(R"({"accounts": {")") + kOther + R"(": ["Decrypt"]}})"));
  EXPECT_OK(store_->CheckOperation(kOther, key, KeyOperation::kDecrypt));
  EXPECT_ERROR_NAME(store_->CheckOperation(kOther, key, KeyOperation::kReEncrypt),
                    "AccessDeniedException");
  ASSERT_OK(store_->DisableKey(kOwner, key));
  EXPECT_ERROR_NAME(store_->CheckOperation(kOther, key, KeyOperation::kDecrypt),
                    "DisabledException");
  // The ARN names the key's owner, whoever asks.
  auto arn = store_->KeyArn(key);
  ASSERT_OK(arn.status());
  EXPECT_EQ(*arn, store_->DescribeKey(kOwner, key)->arn);
  EXPECT_ERROR_NAME(store_->KeyArn("key-00000000000000aa"), "NotFoundException");
}

TEST_F(KeyStoreTest, GrantsAllowUseUntilRevoked) {
  const std::string key = NewKey();
  Dek dek = NewDek();
  auto grant = store_->CreateGrant(kOwner, key, kOther,
                                   {KeyOperation::kReEncrypt, KeyOperation::kCreateGrant});
  ASSERT_OK(grant.status());
  EXPECT_EQ(grant->rfind("grant-", 0), 0u);
  auto wrapped = store_->WrapDek(kOther, key, dek.id, dek.key, kContext);
  ASSERT_OK(wrapped.status());
  EXPECT_ERROR_NAME(store_->UnwrapDek(kOther, *wrapped, kContext), "AccessDeniedException");

  // A grantee with CreateGrant may pass on only what it holds.
  EXPECT_ERROR_NAME(store_->CreateGrant(kOther, key, kThird, {KeyOperation::kDecrypt}),
                    "AccessDeniedException");
  auto passed_on = store_->CreateGrant(kOther, key, kThird, {KeyOperation::kReEncrypt});
  ASSERT_OK(passed_on.status());
  EXPECT_OK(store_->WrapDek(kThird, key, dek.id, dek.key, kContext).status());

  auto all = store_->ListGrants(kOwner, key);
  ASSERT_OK(all.status());
  EXPECT_EQ(all->size(), 2u);
  auto own = store_->ListGrants(kThird, key);
  ASSERT_OK(own.status());
  ASSERT_EQ(own->size(), 1u);
  EXPECT_EQ((*own)[0].grantee, kThird);
  EXPECT_EQ((*own)[0].operations, std::vector<KeyOperation>{KeyOperation::kReEncrypt});

  EXPECT_ERROR_NAME(store_->RevokeGrant(kThird, key, *grant), "NotFoundException");
  ASSERT_OK(store_->RevokeGrant(kThird, key, *passed_on));  // a grantee may retire its own
  EXPECT_ERROR_NAME(store_->WrapDek(kThird, key, dek.id, dek.key, kContext), "NotFoundException");
  ASSERT_OK(store_->RevokeGrant(kOwner, key, *grant));
  EXPECT_ERROR_NAME(store_->WrapDek(kOther, key, dek.id, dek.key, kContext), "NotFoundException");
  EXPECT_ERROR_NAME(store_->CreateGrant(kOwner, key, kOther, {}), "InvalidParameterValue");
  EXPECT_OK(store_->UnwrapDek(kOwner, *wrapped, kContext).status());
}

TEST_F(KeyStoreTest, ReopenKeepsEverything) {
  const std::string key = NewKey(kOwner, "kept");
  ASSERT_OK(store_->CreateAlias(kOwner, "also-kept", key));
  ASSERT_OK(store_->PutPolicy(kOwner, key,
                              std::string(R"({"accounts": {")") + kOther + R"(": ["Decrypt"]}})"));
  auto grant = store_->CreateGrant(kOwner, key, kThird, {KeyOperation::kReEncrypt});
  ASSERT_OK(grant.status());
  ASSERT_OK(store_->RotateKey(kOwner, key).status());
  const std::string disabled = NewKey();
  ASSERT_OK(store_->DisableKey(kOwner, disabled));
  const std::string pending = NewKey();
  ASSERT_OK(store_->ScheduleKeyDeletion(kOwner, pending, 10).status());
  auto default_key = store_->DefaultKey(kOther);
  ASSERT_OK(default_key.status());
  Dek dek = NewDek();
  auto wrapped = store_->WrapDek(kOwner, key, dek.id, dek.key, kContext);
  ASSERT_OK(wrapped.status());
  auto before = store_->DescribeKey(kOwner, key);
  ASSERT_OK(before.status());

  Reopen();
  auto after = store_->DescribeKey(kOwner, "kept");
  ASSERT_OK(after.status());
  EXPECT_EQ(after->key_id, key);
  EXPECT_EQ(after->aliases, (std::vector<std::string>{"also-kept", "kept"}));
  EXPECT_EQ(after->description, before->description);
  EXPECT_EQ(after->creation_date_us, before->creation_date_us);
  EXPECT_EQ(after->primary_version, 2u);
  EXPECT_EQ(after->versions.size(), 2u);
  EXPECT_EQ(*store_->GetPolicy(kOwner, key),
            std::string(R"({"accounts":{")") + kOther + R"(":["Decrypt"]}})");
  ASSERT_EQ(store_->ListGrants(kOwner, key)->size(), 1u);
  EXPECT_EQ((*store_->ListGrants(kOwner, key))[0].grant_id, *grant);
  EXPECT_EQ(store_->DescribeKey(kOwner, disabled)->state, KeyState::kDisabled);
  EXPECT_EQ(store_->DescribeKey(kOwner, pending)->state, KeyState::kPendingDeletion);
  EXPECT_EQ(store_->DefaultKey(kOther)->key_id, default_key->key_id);
  EXPECT_EQ(store_->ListKeys(kOwner)->size(), 3u);
  auto back = store_->UnwrapDek(kOther, *wrapped, kContext);
  ASSERT_OK(back.status());
  EXPECT_TRUE(back->Equals(dek.key));
}

TEST_F(KeyStoreTest, WrongMissingOrUnsafeRootSecretLeavesItLocked) {
  const std::string key = NewKey();
  Dek dek = NewDek();
  auto wrapped = store_->WrapDek(kOwner, key, dek.id, dek.key, kContext);
  ASSERT_OK(wrapped.status());
  store_.reset();

  const std::string other_key_file = dir_.path() + "/other.key";
  ASSERT_OK(CreateKeyFile(other_key_file));
  const std::string open_key_file = dir_.path() + "/open.key";
  ASSERT_OK(CreateKeyFile(open_key_file));
  ASSERT_EQ(::chmod(open_key_file.c_str(), 0644), 0);
  struct Case {
    const char* what;
    RootSecret root;
    const char* reason;
  } cases[] = {
      {"wrong key file", RootSecret::KeyFile(other_key_file), "does not unlock"},
      {"missing key file", RootSecret::KeyFile(dir_.path() + "/absent.key"), "does not exist"},
      {"group-readable key file", RootSecret::KeyFile(open_key_file), "chmod 600"},
      {"no secret", RootSecret::None(), "no root secret"},
      {"passphrase for a key-file store", RootSecret::Passphrase(SecretBytes::CopyOf("pw")),
       "key file, not a passphrase"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto locked = OpenWith(c.root);
    ASSERT_OK(locked.status());
    KeyStore& ks = **locked;
    ASSERT_TRUE(ks.locked());
    EXPECT_EQ(ks.lock_reason().ErrorName(), "KMSKeyNotAccessible");
    EXPECT_NE(ks.lock_reason().message().find(c.reason), std::string::npos)
        << ks.lock_reason().message();
    EXPECT_ERROR_NAME(ks.UnwrapDek(kOwner, *wrapped, kContext), "KMSKeyNotAccessible");
    EXPECT_ERROR_NAME(ks.WrapDek(kOwner, key, dek.id, dek.key, kContext), "KMSKeyNotAccessible");
    EXPECT_ERROR_NAME(ks.ListKeys(kOwner), "KMSKeyNotAccessible");
    EXPECT_ERROR_NAME(ks.CreateKey(kOwner, "", ""), "KMSKeyNotAccessible");
    EXPECT_ERROR_NAME(ks.DefaultKey(kOwner), "KMSKeyNotAccessible");
    EXPECT_ERROR_NAME(ks.DeleteExpiredKeys(), "KMSKeyNotAccessible");
    EXPECT_ERROR_NAME(ks.CreateRecipientKey(kOwner, RecipientKind::kX25519, "", ""),
                      "KMSKeyNotAccessible");
    EXPECT_ERROR_NAME(ks.GetPublicKey(kOwner, key), "KMSKeyNotAccessible");
    EXPECT_ERROR_NAME(ks.OpenForRecipient(kOwner, std::string(64, '0'), "envelope", kContext),
                      "KMSKeyNotAccessible");
  }
  // None of that changed the store.
  Reopen();
  EXPECT_OK(store_->UnwrapDek(kOwner, *wrapped, kContext).status());
}

TEST_F(KeyStoreTest, PassphraseStoresUnlockOnlyWithTheirPassphrase) {
  const std::string dir = dir_.path() + "/pass";
  auto created = KeyStore::Open(dir, kRegion, RootSecret::Passphrase(SecretBytes::CopyOf("s3cret")),
                                Options());
  ASSERT_OK(created.status());
  ASSERT_FALSE((*created)->locked());
  auto key = (*created)->CreateKey(kOwner, "", "");
  ASSERT_OK(key.status());
  created->reset();

  auto wrong = KeyStore::Open(dir, kRegion, RootSecret::Passphrase(SecretBytes::CopyOf("s3cret!")),
                              Options());
  ASSERT_OK(wrong.status());
  EXPECT_TRUE((*wrong)->locked());
  EXPECT_ERROR_NAME((*wrong)->DescribeKey(kOwner, key->key_id), "KMSKeyNotAccessible");
  wrong->reset();
  auto as_key_file = KeyStore::Open(dir, kRegion, RootSecret::KeyFile(key_file_), Options());
  ASSERT_OK(as_key_file.status());
  EXPECT_TRUE((*as_key_file)->locked());
  as_key_file->reset();

  // The file's own scrypt cost applies, whatever the options say now.
  KeyStoreOptions costlier = Options();
  costlier.scrypt.n = 1 << 12;
  auto right =
      KeyStore::Open(dir, kRegion, RootSecret::Passphrase(SecretBytes::CopyOf("s3cret")), costlier);
  ASSERT_OK(right.status());
  ASSERT_FALSE((*right)->locked()) << (*right)->lock_reason().ToString();
  EXPECT_OK((*right)->DescribeKey(kOwner, key->key_id).status());
}

TEST_F(KeyStoreTest, NoStoreIsCreatedWithoutAUsableSecret) {
  const std::string dir = dir_.path() + "/never";
  auto none = KeyStore::Open(dir, kRegion, RootSecret::None(), Options());
  ASSERT_OK(none.status());
  EXPECT_TRUE((*none)->locked());
  auto missing =
      KeyStore::Open(dir, kRegion, RootSecret::KeyFile(dir_.path() + "/no.key"), Options());
  ASSERT_OK(missing.status());
  EXPECT_TRUE((*missing)->locked());
  EXPECT_FALSE(env_.FileExists(dir + "/keystore.json"));
  KeyStoreOptions bad_cost = Options();
  bad_cost.scrypt.n = 1000;  // not a power of two
  auto refused =
      KeyStore::Open(dir, kRegion, RootSecret::Passphrase(SecretBytes::CopyOf("x")), bad_cost);
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(env_.FileExists(dir + "/keystore.json"));
}

TEST_F(KeyStoreTest, EditedOrDamagedFileIsCorruption) {
  NewKey();
  const std::string key = NewKey();
  ASSERT_OK(store_->PutPolicy(kOwner, key,
                              std::string(R"({"accounts": {")") + kOther + R"(": ["Decrypt"]}})"));
  const std::string good = FileContents();
  store_.reset();

  auto edited = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  for (const std::string& bad :
       {edited("\"Enabled\"", "\"Disabled\""), edited(kOther, kThird),
        edited("\"Decrypt\"", "\"ReEncrypt\""), edited("\"seq\": ", "\"seq\": 1"),
        edited("\"description\": \"test key\"", "\"description\": \"test kez\""),
        edited("\"keys\": [", "\"extra\": 1, \"keys\": ["), good.substr(0, good.size() / 2),
        std::string("{}"), std::string("garbage")}) {
    WriteFileContents(bad);
    auto opened = OpenWith(RootSecret::KeyFile(key_file_));
    EXPECT_TRUE(opened.status().IsCorruption()) << opened.status().ToString() << "\n" << bad;
  }
  WriteFileContents(good);
  Reopen();
}

TEST_F(KeyStoreTest, RegionMustMatch) {
  store_.reset();
  auto other = KeyStore::Open(store_dir_, "eu-west-1", RootSecret::KeyFile(key_file_), Options());
  EXPECT_EQ(other.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(KeyStore::Open(store_dir_, "bad region", RootSecret::KeyFile(key_file_), Options())
                .status()
                .code(),
            Status::Code::kInvalidArgument);
}

TEST_F(KeyStoreTest, ASecondUnlockedOpenIsBusyButALockedOneIsNot) {
  auto second = OpenWith(RootSecret::KeyFile(key_file_));
  EXPECT_EQ(second.status().code(), Status::Code::kBusy) << second.status().ToString();
  auto reader = OpenWith(RootSecret::None());
  ASSERT_OK(reader.status());
  EXPECT_TRUE((*reader)->locked());
}

TEST_F(KeyStoreTest, AFailedWriteChangesNothing) {
  const std::string key = NewKey();
  store_.reset();
  FaultInjectionEnv faulty(&env_);
  KeyStoreOptions options = Options();
  options.env = &faulty;
  auto opened = KeyStore::Open(store_dir_, kRegion, RootSecret::KeyFile(key_file_), options);
  ASSERT_OK(opened.status());
  KeyStore& ks = **opened;
  faulty.SetWriteBudget(0);
  EXPECT_TRUE(ks.CreateKey(kOwner, "", "").status().IsNoSpace());
  EXPECT_TRUE(ks.DisableKey(kOwner, key).IsNoSpace());
  EXPECT_EQ(ks.ListKeys(kOwner)->size(), 1u);
  EXPECT_EQ(ks.DescribeKey(kOwner, key)->state, KeyState::kEnabled);
  faulty.SetWriteBudget(-1);
  ASSERT_OK(ks.DisableKey(kOwner, key));
  opened->reset();
  Reopen();
  EXPECT_EQ(store_->ListKeys(kOwner)->size(), 1u);
  EXPECT_EQ(store_->DescribeKey(kOwner, key)->state, KeyState::kDisabled);
}

TEST_F(KeyStoreTest, ConcurrentWrapsAndUnwraps) {
  const std::string key = NewKey();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        Dek dek = NewDek();
        const std::string context = "thread " + std::to_string(t);
        auto wrapped = store_->WrapDek(kOwner, key, dek.id, dek.key, context);
        if (!wrapped.ok()) {
          failures++;
          continue;
        }
        auto back = store_->UnwrapDek(kOwner, *wrapped, context);
        if (!back.ok() || !back->Equals(dek.key)) failures++;
      }
    });
  }
  for (int i = 0; i < 5; ++i) ASSERT_OK(store_->CreateKey(kOther, "", "").status());
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// --- recipient keys ------------------------------------------------------------------------

TEST_F(KeyStoreTest, RecipientKeysOfBothKindsOpenWhatIsSealedForTheirPublicKey) {
  const std::string symmetric = NewKey();
  EXPECT_EQ(store_->DescribeKey(kOwner, symmetric)->key_spec, "SYMMETRIC_DEFAULT");
  EXPECT_EQ(store_->DescribeKey(kOwner, symmetric)->key_usage, "ENCRYPT_DECRYPT");
  auto secret = SecretBytes::Random(32);
  ASSERT_OK(secret.status());
  for (RecipientKind kind : {RecipientKind::kRsa3072, RecipientKind::kX25519}) {
    const std::string spec(RecipientKindName(kind));
    SCOPED_TRACE(spec);
    const std::string alias = "export-" + spec;
    auto created = store_->CreateRecipientKey(kOwner, kind, "alias/" + alias, "for exports");
    ASSERT_OK(created.status());
    EXPECT_EQ(created->key_spec, spec);
    EXPECT_EQ(created->key_usage, "ENCRYPT_DECRYPT");
    EXPECT_EQ(created->aliases, std::vector<std::string>{alias});
    EXPECT_EQ(created->description, "for exports");
    EXPECT_EQ(created->state, KeyState::kEnabled);
    EXPECT_FALSE(created->is_default);
    EXPECT_EQ(created->primary_version, 1u);
    ASSERT_EQ(created->versions.size(), 1u);
    EXPECT_EQ(store_->DescribeKey(kOwner, alias)->key_spec, spec);

    auto pem = store_->GetPublicKey(kOwner, alias);
    ASSERT_OK(pem.status());
    EXPECT_EQ(pem->rfind("-----BEGIN PUBLIC KEY-----", 0), 0u) << *pem;
    EXPECT_EQ(*store_->GetPublicKey(kOwner, created->arn), *pem);
    auto info = DescribePublicKey(*pem);
    ASSERT_OK(info.status());
    EXPECT_EQ(info->kind, kind);

    const std::string envelope = Seal(*pem, *secret);
    auto opened = store_->OpenForRecipient(kOwner, info->fingerprint, envelope, kContext);
    ASSERT_OK(opened.status());
    EXPECT_TRUE(opened->Equals(*secret));
    // The envelope's own checks still hold: another context or a changed byte is Corruption.
    EXPECT_TRUE(store_->OpenForRecipient(kOwner, info->fingerprint, envelope, "other context")
                    .status()
                    .IsCorruption());
    std::string damaged = envelope;
    damaged.back() = static_cast<char>(damaged.back() ^ 1);
    EXPECT_TRUE(store_->OpenForRecipient(kOwner, info->fingerprint, damaged, kContext)
                    .status()
                    .IsCorruption());
  }
  EXPECT_EQ(store_->ListKeys(kOwner)->size(), 3u);
}

TEST_F(KeyStoreTest, OpenForRecipientNeedsTheFingerprintOfAnEnabledKey) {
  const Recipient r = NewRecipient(kOwner, "exports");
  const Recipient other = NewRecipient(kOwner);
  ASSERT_NE(r.fingerprint, other.fingerprint);
  auto secret = SecretBytes::Random(32);
  ASSERT_OK(secret.status());
  const std::string envelope = Seal(r.public_pem, *secret);

  const std::string unknown(64, 'a');
  auto missing = store_->OpenForRecipient(kOwner, unknown, envelope, kContext);
  EXPECT_ERROR_NAME(missing, "NotFoundException");
  EXPECT_EQ(missing.status().message(), "no key of this store is the recipient " + unknown);
  // Another recipient key of the store cannot open it.
  EXPECT_TRUE(store_->OpenForRecipient(kOwner, other.fingerprint, envelope, kContext)
                  .status()
                  .IsCorruption());

  ASSERT_OK(store_->DisableKey(kOwner, "exports"));
  EXPECT_ERROR_NAME(store_->OpenForRecipient(kOwner, r.fingerprint, envelope, kContext),
                    "DisabledException");
  EXPECT_ERROR_NAME(store_->GetPublicKey(kOwner, "exports"), "DisabledException");
  ASSERT_OK(store_->EnableKey(kOwner, "exports"));
  EXPECT_OK(store_->OpenForRecipient(kOwner, r.fingerprint, envelope, kContext).status());

  ASSERT_OK(store_->ScheduleKeyDeletion(kOwner, "exports", 7).status());
  EXPECT_ERROR_NAME(store_->OpenForRecipient(kOwner, r.fingerprint, envelope, kContext),
                    "KMSInvalidStateException");
  EXPECT_ERROR_NAME(store_->GetPublicKey(kOwner, "exports"), "KMSInvalidStateException");
  ASSERT_OK(store_->CancelKeyDeletion(kOwner, "exports"));
  ASSERT_OK(store_->EnableKey(kOwner, "exports"));
  auto opened = store_->OpenForRecipient(kOwner, r.fingerprint, envelope, kContext);
  ASSERT_OK(opened.status());
  EXPECT_TRUE(opened->Equals(*secret));

  // Deleted, the key is gone from memory as well as from the file.
  ASSERT_OK(store_->ScheduleKeyDeletion(kOwner, "exports", 7).status());
  env_.Advance(7 * kDay);
  EXPECT_EQ(*store_->DeleteExpiredKeys(), 1u);
  EXPECT_ERROR_NAME(store_->OpenForRecipient(kOwner, r.fingerprint, envelope, kContext),
                    "NotFoundException");
}

TEST_F(KeyStoreTest, OtherAccountsOpenEnvelopesOnlyWithDecrypt) {
  const Recipient r = NewRecipient(kOwner, "exports");
  auto secret = SecretBytes::Random(16);
  ASSERT_OK(secret.status());
  const std::string envelope = Seal(r.public_pem, *secret);

  EXPECT_ERROR_NAME(store_->OpenForRecipient(kOther, r.fingerprint, envelope, kContext),
                    "NotFoundException");
  EXPECT_ERROR_NAME(store_->GetPublicKey(kOther, r.key_id), "NotFoundException");
  EXPECT_ERROR_NAME(store_->GetPublicKey(kOther, "alias/exports"), "NotFoundException");

  // ReEncrypt shares the key (its public key may be read) but opens nothing.
  ASSERT_OK(store_->PutPolicy(
      kOwner, r.key_id, std::string(R"({"accounts": {")") + kOther + R"(": ["ReEncrypt"]}})"));
  EXPECT_EQ(*store_->GetPublicKey(kOther, r.key_id), r.public_pem);
  EXPECT_ERROR_NAME(store_->OpenForRecipient(kOther, r.fingerprint, envelope, kContext),
                    "NotFoundException");

  ASSERT_OK(store_->PutPolicy(kOwner, r.key_id,
                              std::string(R"({"accounts": {")") + kOther + R"(": ["Decrypt"]}})"));
  auto opened = store_->OpenForRecipient(kOther, r.fingerprint, envelope, kContext);
  ASSERT_OK(opened.status());
  EXPECT_TRUE(opened->Equals(*secret));

  // A grant works the same, until it is revoked.
  EXPECT_ERROR_NAME(store_->OpenForRecipient(kThird, r.fingerprint, envelope, kContext),
                    "NotFoundException");
  auto grant = store_->CreateGrant(kOwner, r.key_id, kThird, {KeyOperation::kDecrypt});
  ASSERT_OK(grant.status());
  EXPECT_OK(store_->OpenForRecipient(kThird, r.fingerprint, envelope, kContext).status());
  ASSERT_OK(store_->RevokeGrant(kOwner, r.key_id, *grant));
  EXPECT_ERROR_NAME(store_->OpenForRecipient(kThird, r.fingerprint, envelope, kContext),
                    "NotFoundException");
}

TEST_F(KeyStoreTest, RecipientKeysWrapNoDataKeysAndAreNotRotated) {
  const Recipient r = NewRecipient(kOwner, "exports");
  const std::string symmetric = NewKey(kOwner, "data");
  Dek dek = NewDek();
  auto wrap = store_->WrapDek(kOwner, "exports", dek.id, dek.key, kContext);
  EXPECT_ERROR_NAME(wrap, "InvalidKeyUsageException");
  EXPECT_EQ(wrap.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(wrap.status().message(),
            "key " + r.key_id +
                " is an X25519 key for export recipients; data keys need a symmetric key");
  // A wrapped DEK that names the recipient key is refused before anything is opened.
  auto wrapped = store_->WrapDek(kOwner, symmetric, dek.id, dek.key, kContext);
  ASSERT_OK(wrapped.status());
  WrappedDek relabelled = *wrapped;
  relabelled.key_id = r.key_id;
  EXPECT_ERROR_NAME(store_->UnwrapDek(kOwner, relabelled, kContext), "InvalidKeyUsageException");

  auto rotate = store_->RotateKey(kOwner, "exports");
  EXPECT_ERROR_NAME(rotate, "UnsupportedOperationException");
  EXPECT_EQ(rotate.status().code(), Status::Code::kNotSupported);
  EXPECT_EQ(store_->DescribeKey(kOwner, "exports")->versions.size(), 1u);

  auto no_public = store_->GetPublicKey(kOwner, "data");
  EXPECT_ERROR_NAME(no_public, "InvalidKeyUsageException");
  EXPECT_EQ(no_public.status().message(),
            "key " + symmetric + " is a symmetric key; it has no public key");

  // The default key is always symmetric; aliases work on recipient keys as on any other.
  auto default_key = store_->DefaultKey(kOwner);
  ASSERT_OK(default_key.status());
  EXPECT_EQ(default_key->key_spec, "SYMMETRIC_DEFAULT");
  EXPECT_ERROR_NAME(store_->CreateRecipientKey(kOwner, RecipientKind::kX25519, "default", ""),
                    "InvalidAliasNameException");
  EXPECT_ERROR_NAME(store_->CreateRecipientKey(kOwner, RecipientKind::kX25519, "data", ""),
                    "AlreadyExistsException");
  ASSERT_OK(store_->CreateAlias(kOwner, "exports-too", r.key_id));
  EXPECT_EQ(*store_->GetPublicKey(kOwner, "exports-too"), r.public_pem);
  ASSERT_OK(store_->DeleteAlias(kOwner, "exports"));
  EXPECT_ERROR_NAME(store_->GetPublicKey(kOwner, "exports"), "NotFoundException");
}

TEST_F(KeyStoreTest, RecipientKeysSurviveAReopenSealed) {
  const Recipient x25519 = NewRecipient(kOwner, "x");
  const Recipient rsa = NewRecipient(kOwner, "rsa", RecipientKind::kRsa3072);
  ASSERT_OK(store_->PutPolicy(kOwner, rsa.key_id,
                              std::string(R"({"accounts": {")") + kOther + R"(": ["Decrypt"]}})"));
  auto secret = SecretBytes::Random(32);
  ASSERT_OK(secret.status());
  const std::string for_x25519 = Seal(x25519.public_pem, *secret);
  const std::string for_rsa = Seal(rsa.public_pem, *secret);

  Reopen();
  EXPECT_EQ(store_->DescribeKey(kOwner, "x")->key_spec, "X25519");
  EXPECT_EQ(store_->DescribeKey(kOwner, "rsa")->key_spec, "RSA_3072");
  EXPECT_EQ(*store_->GetPublicKey(kOwner, "x"), x25519.public_pem);
  EXPECT_EQ(*store_->GetPublicKey(kOwner, "rsa"), rsa.public_pem);
  auto a = store_->OpenForRecipient(kOwner, x25519.fingerprint, for_x25519, kContext);
  ASSERT_OK(a.status());
  EXPECT_TRUE(a->Equals(*secret));
  auto b = store_->OpenForRecipient(kOther, rsa.fingerprint, for_rsa, kContext);
  ASSERT_OK(b.status());
  EXPECT_TRUE(b->Equals(*secret));
  // Only the public keys are in the file in the clear.
  const std::string file = FileContents();
  EXPECT_EQ(file.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(KeyStoreTest, AnEditedRecipientKeyIsCorruption) {
  const Recipient r = NewRecipient(kOwner, "exports");
  const std::string good = FileContents();
  store_.reset();
  auto flipped_after = [&](const std::string& marker) {
    std::string s = good;
    size_t at = s.find(marker);
    EXPECT_NE(at, std::string::npos) << marker;
    if (at == std::string::npos) return s;
    at += marker.size() + 10;
    s[at] = s[at] == 'a' ? 'b' : 'a';
    return s;
  };
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  for (const std::string& bad :
       {flipped_after("\"sealed\": \""), flipped_after("\"public_key\": \""),
        edited("\"key_spec\": \"X25519\"", "\"key_spec\": \"RSA_3072\""),
        edited("\"key_spec\": \"X25519\"", "\"key_spec\": \"SYMMETRIC_DEFAULT\""),
        edited("\"format_version\": 2", "\"format_version\": 1")}) {
    WriteFileContents(bad);
    auto opened = OpenWith(RootSecret::KeyFile(key_file_));
    EXPECT_TRUE(opened.status().IsCorruption()) << opened.status().ToString();
  }
  WriteFileContents(good);
  Reopen();
  EXPECT_EQ(*store_->GetPublicKey(kOwner, "exports"), r.public_pem);
}

TEST_F(KeyStoreTest, TheFormatVersionIsTwoOnlyWhileARecipientKeyExists) {
  NewKey();
  EXPECT_NE(FileContents().find("\"format_version\": 1,"), std::string::npos);
  const Recipient r = NewRecipient();
  EXPECT_NE(FileContents().find("\"format_version\": 2,"), std::string::npos);
  ASSERT_OK(store_->ScheduleKeyDeletion(kOwner, r.key_id, 7).status());
  env_.Advance(7 * kDay);
  EXPECT_EQ(*store_->DeleteExpiredKeys(), 1u);
  EXPECT_NE(FileContents().find("\"format_version\": 1,"), std::string::npos);
  Reopen();
  EXPECT_EQ(store_->ListKeys(kOwner)->size(), 1u);
}

}  // namespace
}  // namespace clonefs::crypto
