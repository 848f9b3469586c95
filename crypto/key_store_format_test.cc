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
    std::ifstream f(store_->path(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  SecretBytes Derive(const std::string& keystore_id, const char* label) {
    auto key = HkdfSha256(root_, keystore_id, label, 32);
    EXPECT_TRUE(key.ok());
    return std::move(key).value();
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
  doc["format_version"] = 2;
  {
    std::ofstream f(dir_.path() + "/ks/keystore.json", std::ios::trunc);
    f << doc.dump(2);
  }
  auto opened = KeyStore::Open(dir_.path() + "/ks", kRegion, RootSecret::KeyFile(key_file_));
  EXPECT_EQ(opened.status().code(), Status::Code::kNotSupported) << opened.status().ToString();
}

}  // namespace
}  // namespace clonefs::crypto
