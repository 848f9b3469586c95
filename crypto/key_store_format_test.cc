// Checks keystore.json against its description in docs/ENCRYPTION.md by recomputing every
// derived key, seal and MAC independently, and checks that no key material is in the file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/aead.h"
#include "crypto/key_file.h"
#include "crypto/key_store.h"
#include "crypto/recipient.h"
#include "crypto/test_util.h"

namespace clonefs::crypto {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::Unhex;

constexpr char kRegion[] = "local";
constexpr char kOwner[] = "owner";
constexpr char kContext[] = "store-uuid lineage owner";

// The documented field encoding: each field as a 4-byte big-endian length, then its bytes.
std::string Fields(std::initializer_list<std::string> fields) {
  std::string out;
  for (const std::string& f : fields) {
    const uint32_t n = static_cast<uint32_t>(f.size());
    out.push_back(static_cast<char>(n >> 24));
    out.push_back(static_cast<char>(n >> 16));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
    out += f;
  }
  return out;
}

std::string BigEndian(uint64_t v, int bytes) {
  std::string out(bytes, '\0');
  for (int i = 0; i < bytes; ++i) out[bytes - 1 - i] = static_cast<char>(v >> (8 * i));
  return out;
}

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

Nonce ToNonce(const std::string& bytes) {
  Nonce n{};
  EXPECT_EQ(bytes.size(), n.size());
  std::memcpy(n.data(), bytes.data(), std::min(bytes.size(), n.size()));
  return n;
}

class KeyStoreFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_file_ = dir_.path() + "/root.key";
    ASSERT_OK(CreateKeyFile(key_file_));
    auto root = ReadKeyFile(key_file_);
    ASSERT_OK(root.status());
    root_ = std::move(root).value();
    auto store = KeyStore::Open(dir_.path() + "/ks", kRegion, RootSecret::KeyFile(key_file_));
    ASSERT_OK(store.status());
    store_ = std::move(store).value();
  }
  std::string FileBytes() {
    std::ifstream f(dir_.path() + "/ks/keystore.json", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  SecretBytes Derive(const std::string& keystore_id, const char* label) {
    auto key = HkdfSha256(root_, keystore_id, label, 32);
    EXPECT_TRUE(key.ok());
    return std::move(key).value();
  }
  // `doc` with its documented MAC, as the file holds it.
  std::string WithMac(json doc) {
    const std::string keystore_id = Unhex(doc["keystore_id"].get<std::string>());
    doc.erase("mac");
    auto mac = HmacSha256(Derive(keystore_id, "clonefs/keystore/v1/mac"), doc.dump());
    EXPECT_TRUE(mac.ok());
    doc["mac"] = HexEncode(std::string_view(reinterpret_cast<const char*>(mac->data()), 32));
    return doc.dump(2);
  }
  void WriteFile(const std::string& text) {
    std::ofstream f(dir_.path() + "/ks/keystore.json", std::ios::trunc);
    f << text;
  }
  Result<std::unique_ptr<KeyStore>> OpenAgain() {
    return KeyStore::Open(dir_.path() + "/ks", kRegion, RootSecret::KeyFile(key_file_));
  }

  TempDir dir_;
  std::string key_file_;
  SecretBytes root_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(KeyStoreFormatTest, MatchesTheDocumentedDerivationsAndHoldsNoKeyMaterial) {
  auto key = store_->CreateKey(kOwner, "k", "");
  ASSERT_OK(key.status());
  ASSERT_OK(store_->RotateKey(kOwner, key->key_id).status());
  auto dek = GenerateDek();
  ASSERT_OK(dek.status());
  auto wrapped = store_->WrapDek(kOwner, key->key_id, dek->id, dek->key, kContext);
  ASSERT_OK(wrapped.status());

  const std::string text = FileBytes();
  json doc = json::parse(text);
  EXPECT_EQ(doc["format"], "clonefs-keystore");
  EXPECT_EQ(doc["format_version"], 1);
  EXPECT_EQ(doc["region"], kRegion);
  EXPECT_EQ(doc["root"], json({{"kind", "key_file"}}));
  const std::string keystore_id = Unhex(doc["keystore_id"].get<std::string>());
  ASSERT_EQ(keystore_id.size(), 16u);

  // The verifier and the MAC.
  auto verifier =
      HmacSha256(Derive(keystore_id, "clonefs/keystore/v1/verify"), "clonefs keystore verifier v1");
  ASSERT_OK(verifier.status());
  EXPECT_EQ(doc["verifier"],
            HexEncode(std::string_view(reinterpret_cast<const char*>(verifier->data()), 32)));
  const std::string mac_hex = doc["mac"];
  json unmaced = doc;
  unmaced.erase("mac");
  auto mac = HmacSha256(Derive(keystore_id, "clonefs/keystore/v1/mac"), unmaced.dump());
  ASSERT_OK(mac.status());
  EXPECT_EQ(mac_hex, HexEncode(std::string_view(reinterpret_cast<const char*>(mac->data()), 32)));

  // Each KEK version unseals under the seal key; the last one unwraps the DEK.
  auto seal = Aes256GcmKey::Create(Derive(keystore_id, "clonefs/keystore/v1/seal"));
  ASSERT_OK(seal.status());
  const json& k = doc["keys"][0];
  EXPECT_EQ(k["key_id"], key->key_id);
  ASSERT_EQ(k["versions"].size(), 2u);
  std::vector<std::string> keks;
  for (const json& v : k["versions"]) {
    const uint32_t version = v["version"];
    std::string kek;
    ASSERT_OK((*seal)->Open(
        ToNonce(Unhex(v["iv"].get<std::string>())),
        Fields({"clonefs/kek-seal/v1", keystore_id, key->key_id, kOwner, BigEndian(version, 4)}),
        Unhex(v["sealed"].get<std::string>()), &kek));
    ASSERT_EQ(kek.size(), 32u);
    keks.push_back(kek);
  }
  auto kek = Aes256GcmKey::Create(SecretBytes::CopyOf(keks[1]));
  ASSERT_OK(kek.status());
  std::string sealed_dek(reinterpret_cast<const char*>(wrapped->ct.data()), 32);
  sealed_dek.append(reinterpret_cast<const char*>(wrapped->tag.data()), 16);
  std::string unwrapped;
  ASSERT_OK((*kek)->Open(wrapped->iv,
                         Fields({"clonefs/dek-wrap/v1", key->key_id, BigEndian(2, 4),
                                 BigEndian(dek->id, 8), kContext}),
                         sealed_dek, &unwrapped));
  EXPECT_EQ(unwrapped, std::string(dek->key.view()));

  // No secret appears in the file, raw or as hex.
  std::vector<std::string> secrets = keks;
  secrets.emplace_back(dek->key.view());
  secrets.emplace_back(root_.view());
  for (const std::string& secret : secrets) {
    EXPECT_EQ(text.find(secret), std::string::npos);
    EXPECT_EQ(text.find(HexEncode(secret)), std::string::npos);
    EXPECT_EQ(text.find(Upper(HexEncode(secret))), std::string::npos);
    EXPECT_EQ(text.find(HexEncode(secret.substr(0, 8))), std::string::npos);
  }
}

TEST_F(KeyStoreFormatTest, FileIsOwnerOnly) {
  ASSERT_OK(store_->CreateKey(kOwner, "", "").status());
  struct stat st {};
  ASSERT_EQ(::stat(store_->path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST_F(KeyStoreFormatTest, AnEditedHeaderLooksLikeAWrongSecret) {
  ASSERT_OK(store_->CreateKey(kOwner, "", "").status());
  json doc = json::parse(FileBytes());
  store_.reset();
  std::string verifier = doc["verifier"];
  verifier[0] = verifier[0] == '0' ? '1' : '0';
  doc["verifier"] = verifier;
  {
    std::ofstream f(dir_.path() + "/ks/keystore.json", std::ios::trunc);
    f << doc.dump(2);
  }
  auto opened = KeyStore::Open(dir_.path() + "/ks", kRegion, RootSecret::KeyFile(key_file_));
  ASSERT_OK(opened.status());
  EXPECT_TRUE((*opened)->locked());
  EXPECT_EQ((*opened)->lock_reason().ErrorName(), "KMSKeyNotAccessible");
}

TEST_F(KeyStoreFormatTest, ANewerFormatIsRefusedNotMisread) {
  json doc = json::parse(FileBytes());
  store_.reset();
  doc["format_version"] = 3;
  {
    std::ofstream f(dir_.path() + "/ks/keystore.json", std::ios::trunc);
    f << doc.dump(2);
  }
  auto opened = KeyStore::Open(dir_.path() + "/ks", kRegion, RootSecret::KeyFile(key_file_));
  EXPECT_EQ(opened.status().code(), Status::Code::kNotSupported) << opened.status().ToString();
}

TEST_F(KeyStoreFormatTest, RecipientKeysMatchTheDocumentedSealAndHoldNoPrivateKey) {
  auto secret = SecretBytes::Random(32);
  ASSERT_OK(secret.status());
  for (RecipientKind kind : {RecipientKind::kX25519, RecipientKind::kRsa3072}) {
    const std::string spec(RecipientKindName(kind));
    SCOPED_TRACE(spec);
    auto key = store_->CreateRecipientKey(kOwner, kind, "", "");
    ASSERT_OK(key.status());
    auto public_pem = store_->GetPublicKey(kOwner, key->key_id);
    ASSERT_OK(public_pem.status());

    const std::string text = FileBytes();
    json doc = json::parse(text);
    EXPECT_EQ(doc["format_version"], 2);
    const std::string keystore_id = Unhex(doc["keystore_id"].get<std::string>());
    const json* entry = nullptr;
    for (const json& k : doc["keys"]) {
      if (k["key_id"] == key->key_id) entry = &k;
    }
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ((*entry)["key_spec"], spec);
    EXPECT_EQ((*entry)["public_key"], *public_pem);
    EXPECT_EQ((*entry)["primary_version"], 1);
    ASSERT_EQ((*entry)["versions"].size(), 1u);
    const json& v = (*entry)["versions"][0];
    EXPECT_EQ(v["version"], 1);

    // The private key unseals under the seal key with the recipient-seal associated data,
    // and is the private half of the public key.
    auto seal = Aes256GcmKey::Create(Derive(keystore_id, "clonefs/keystore/v1/seal"));
    ASSERT_OK(seal.status());
    std::string private_pem;
    ASSERT_OK(
        (*seal)->Open(ToNonce(Unhex(v["iv"].get<std::string>())),
                      Fields({"clonefs/recipient-seal/v1", keystore_id, key->key_id, kOwner, spec}),
                      Unhex(v["sealed"].get<std::string>()), &private_pem));
    auto private_info = DescribePrivateKey(SecretBytes::CopyOf(private_pem));
    ASSERT_OK(private_info.status());
    auto public_info = DescribePublicKey(*public_pem);
    ASSERT_OK(public_info.status());
    EXPECT_EQ(private_info->kind, kind);
    EXPECT_EQ(private_info->fingerprint, public_info->fingerprint);
    auto envelope = SealForRecipient(*public_pem, *secret, kContext);
    ASSERT_OK(envelope.status());
    auto opened = OpenAsRecipient(SecretBytes::CopyOf(private_pem), *envelope, kContext);
    ASSERT_OK(opened.status());
    EXPECT_TRUE(opened->Equals(*secret));
    // Under the KEK associated data it does not open: the two kinds of seal never mix.
    std::string as_kek;
    EXPECT_FALSE((*seal)
                     ->Open(ToNonce(Unhex(v["iv"].get<std::string>())),
                            Fields({"clonefs/kek-seal/v1", keystore_id, key->key_id, kOwner,
                                    BigEndian(1, 4)}),
                            Unhex(v["sealed"].get<std::string>()), &as_kek)
                     .ok());

    // Nothing of the private key is in the file: not its PEM, not a line of its base64.
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
    const size_t first_line = private_pem.find('\n') + 1;
    const std::string base64_line = private_pem.substr(first_line, 40);
    ASSERT_EQ(base64_line.size(), 40u);
    EXPECT_EQ(text.find(base64_line), std::string::npos);
    EXPECT_EQ(text.find(HexEncode(private_pem.substr(0, 40))), std::string::npos);
  }
}

// A document as format version 1 wrote it, built here from docs/ENCRYPTION.md alone: it loads,
// and its key is a symmetric key that unwraps what the document's KEK wrapped.
TEST_F(KeyStoreFormatTest, AVersionOneDocumentLoadsWithSymmetricKeys) {
  const std::string keystore_id = Unhex(json::parse(FileBytes())["keystore_id"].get<std::string>());
  store_.reset();
  const std::string key_id = "key-00000000000000a1";
  const std::string kek(32, '\x5a');
  auto seal = Aes256GcmKey::Create(Derive(keystore_id, "clonefs/keystore/v1/seal"));
  ASSERT_OK(seal.status());
  const std::string iv(12, '\x01');
  std::string sealed;
  ASSERT_OK((*seal)->Seal(
      ToNonce(iv), Fields({"clonefs/kek-seal/v1", keystore_id, key_id, kOwner, BigEndian(1, 4)}),
      kek, &sealed));
  auto verifier =
      HmacSha256(Derive(keystore_id, "clonefs/keystore/v1/verify"), "clonefs keystore verifier v1");
  ASSERT_OK(verifier.status());
  json doc = {{"format", "clonefs-keystore"},
              {"format_version", 1},
              {"keystore_id", HexEncode(keystore_id)},
              {"region", kRegion},
              {"root", {{"kind", "key_file"}}},
              {"verifier",
               HexEncode(std::string_view(reinterpret_cast<const char*>(verifier->data()), 32))},
              {"seq", 5},
              {"keys",
               {{{"key_id", key_id},
                 {"owner", kOwner},
                 {"aliases", {"old"}},
                 {"description", "from version 1"},
                 {"is_default", false},
                 {"state", "Enabled"},
                 {"creation_date_us", 1700000000000000},
                 {"deletion_date_us", 0},
                 {"primary_version", 1},
                 {"versions",
                  {{{"version", 1},
                    {"creation_date_us", 1700000000000000},
                    {"iv", HexEncode(iv)},
                    {"sealed", HexEncode(sealed)}}}},
                 {"policy", {{"accounts", json::object()}}},
                 {"grants", json::array()}}}}};
  WriteFile(WithMac(doc));

  auto opened = OpenAgain();
  ASSERT_OK(opened.status());
  KeyStore& ks = **opened;
  ASSERT_FALSE(ks.locked()) << ks.lock_reason().ToString();
  auto key = ks.DescribeKey(kOwner, "old");
  ASSERT_OK(key.status());
  EXPECT_EQ(key->key_id, key_id);
  EXPECT_EQ(key->key_spec, "SYMMETRIC_DEFAULT");
  EXPECT_EQ(key->key_usage, "ENCRYPT_DECRYPT");
  EXPECT_EQ(key->description, "from version 1");
  EXPECT_ERROR_NAME(ks.GetPublicKey(kOwner, "old"), "InvalidKeyUsageException");

  // What the hand-made KEK wraps, the store unwraps.
  auto dek = GenerateDek();
  ASSERT_OK(dek.status());
  auto kek_key = Aes256GcmKey::Create(SecretBytes::CopyOf(kek));
  ASSERT_OK(kek_key.status());
  WrappedDek wrapped;
  wrapped.dek_id = dek->id;
  wrapped.key_id = key_id;
  wrapped.key_version = 1;
  wrapped.iv = ToNonce(std::string(12, '\x02'));
  std::string ct;
  ASSERT_OK((*kek_key)->Seal(
      wrapped.iv,
      Fields({"clonefs/dek-wrap/v1", key_id, BigEndian(1, 4), BigEndian(dek->id, 8), kContext}),
      dek->key.view(), &ct));
  ASSERT_EQ(ct.size(), 48u);
  std::memcpy(wrapped.ct.data(), ct.data(), 32);
  std::memcpy(wrapped.tag.data(), ct.data() + 32, 16);
  auto unwrapped = ks.UnwrapDek(kOwner, wrapped, kContext);
  ASSERT_OK(unwrapped.status());
  EXPECT_TRUE(unwrapped->Equals(dek->key));

  // A change rewrites it still as version 1, with no member version 1 did not have.
  ASSERT_OK(ks.CreateAlias(kOwner, "older", key_id));
  json rewritten = json::parse(FileBytes());
  EXPECT_EQ(rewritten["format_version"], 1);
  EXPECT_EQ(rewritten["seq"], 6);
  EXPECT_EQ(rewritten["keys"][0].size(), doc["keys"][0].size());
}

TEST_F(KeyStoreFormatTest, ARecipientKeyNeedsVersionTwoAndItsOwnPublicKey) {
  auto a = store_->CreateRecipientKey(kOwner, RecipientKind::kX25519, "a", "");
  ASSERT_OK(a.status());
  auto b = store_->CreateRecipientKey(kOwner, RecipientKind::kX25519, "b", "");
  ASSERT_OK(b.status());
  auto secret = SecretBytes::Random(32);
  ASSERT_OK(secret.status());
  auto b_pem = store_->GetPublicKey(kOwner, "b");
  ASSERT_OK(b_pem.status());
  const json good = json::parse(FileBytes());
  store_.reset();

  // Claimed by a version 1 document (with a valid MAC): malformed.
  json v1 = good;
  v1["format_version"] = 1;
  WriteFile(WithMac(v1));
  EXPECT_TRUE(OpenAgain().status().IsCorruption()) << OpenAgain().status().ToString();

  // a with b's public key, and b gone (with a valid MAC): the store opens, but a's private key
  // is found not to belong to that public key, so nothing is opened with it.
  json swapped = good;
  json kept = json::array();
  for (json& k : swapped["keys"]) {
    if (k["key_id"] == b->key_id) continue;
    k["public_key"] = *b_pem;
    kept.push_back(k);
  }
  swapped["keys"] = kept;
  WriteFile(WithMac(swapped));
  auto opened = OpenAgain();
  ASSERT_OK(opened.status());
  auto info = DescribePublicKey(*b_pem);
  ASSERT_OK(info.status());
  auto envelope = SealForRecipient(*b_pem, *secret, kContext);
  ASSERT_OK(envelope.status());
  auto via_a = (*opened)->OpenForRecipient(kOwner, info->fingerprint, *envelope, kContext);
  EXPECT_TRUE(via_a.status().IsCorruption()) << via_a.status().ToString();
  EXPECT_NE(via_a.status().message().find("does not belong to its public key"), std::string::npos)
      << via_a.status().ToString();

  // A key spec that is not one of the three: malformed.
  opened->reset();
  json unknown = good;
  unknown["keys"][0]["key_spec"] = "RSA_2048";
  WriteFile(WithMac(unknown));
  EXPECT_TRUE(OpenAgain().status().IsCorruption());
}

}  // namespace
}  // namespace clonefs::crypto
