// Known-answer and behaviour tests for the primitives: AES-256-GCM, HKDF, HMAC, scrypt,
// SecretBytes, hex, DEKs and their wrapped form.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "crypto/aead.h"
#include "crypto/dek.h"
#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "crypto/secret.h"
#include "crypto/sha256.h"
#include "crypto/test_util.h"

namespace clonefs::crypto {
namespace {

using testing::SecretFromHex;
using testing::Unhex;

Nonce NonceFromHex(std::string_view hex) {
  Nonce n{};
  std::string bytes = Unhex(hex);
  EXPECT_EQ(bytes.size(), n.size());
  std::memcpy(n.data(), bytes.data(), std::min(bytes.size(), n.size()));
  return n;
}

std::unique_ptr<Aes256GcmKey> KeyFromHex(std::string_view hex) {
  auto key = Aes256GcmKey::Create(SecretFromHex(hex));
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return key.ok() ? std::move(key).value() : nullptr;
}

// One case of "The Galois/Counter Mode of Operation (GCM)", McGrew & Viega (the GCM spec
// submitted to NIST), with a 256-bit key and a 96-bit IV.
struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

constexpr char kZeroKey[] = "0000000000000000000000000000000000000000000000000000000000000000";
constexpr char kKey15[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr char kPlain15[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
constexpr char kCipher15[] =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";

const GcmVector kGcmVectors[] = {
    {"TestCase13", kZeroKey, "000000000000000000000000", "", "", "",
     "530f8afbc74536b9a963b4f1c4cb738b"},
    {"TestCase14", kZeroKey, "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"TestCase15", kKey15, "cafebabefacedbaddecaf888", kPlain15, "", kCipher15,
     "b094dac5d93471bdec1a502270e3cc6c"},
    // Case 16: case 15's first 60 bytes, with AAD.
    {"TestCase16", kKey15, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aes256Gcm, GcmSpecKnownAnswers) {
  for (const GcmVector& v : kGcmVectors) {
    SCOPED_TRACE(v.name);
    auto key = KeyFromHex(v.key);
    ASSERT_NE(key, nullptr);
    const Nonce iv = NonceFromHex(v.iv);
    std::string sealed;
    ASSERT_OK(key->Seal(iv, Unhex(v.aad), Unhex(v.plaintext), &sealed));
    EXPECT_EQ(HexEncode(sealed), std::string(v.ciphertext) + v.tag);
    std::string opened;
    ASSERT_OK(key->Open(iv, Unhex(v.aad), sealed, &opened));
    EXPECT_EQ(HexEncode(opened), v.plaintext);
  }
}

TEST(Aes256Gcm, KnownAnswerWithWrongTagIsCorruption) {
  const GcmVector& v = kGcmVectors[3];
  auto key = KeyFromHex(v.key);
  ASSERT_NE(key, nullptr);
  std::string sealed = Unhex(std::string(v.ciphertext) + v.tag);
  sealed.back() ^= 1;
  std::string opened = "stale";
  Status s = key->Open(NonceFromHex(v.iv), Unhex(v.aad), sealed, &opened);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(opened.empty());
}

TEST(Aes256Gcm, RoundTripsEverySize) {
  auto secret = SecretBytes::Random(kAeadKeySize);
  ASSERT_OK(secret.status());
  auto key = Aes256GcmKey::Create(secret.value());
  ASSERT_OK(key.status());
  for (size_t n : {0, 1, 15, 16, 17, 255, 4096, 65537}) {
    std::string plain(n, '\0');
    for (size_t i = 0; i < n; ++i) plain[i] = static_cast<char>(i * 31 + 7);
    auto nonce = RandomNonce();
    ASSERT_OK(nonce.status());
    std::string sealed, opened;
    ASSERT_OK((*key)->Seal(*nonce, "aad", plain, &sealed));
    ASSERT_EQ(sealed.size(), n + kTagSize);
    if (n >= 16) {
      EXPECT_NE(sealed.substr(0, n), plain);
    }
    ASSERT_OK((*key)->Open(*nonce, "aad", sealed, &opened));
    EXPECT_EQ(opened, plain);
  }
}

TEST(Aes256Gcm, AnyChangedBitIsCorruptionAndYieldsNoPlaintext) {
  auto key = KeyFromHex(kKey15);
  ASSERT_NE(key, nullptr);
  const Nonce nonce = NonceFromHex("cafebabefacedbaddecaf888");
  const std::string aad = "record header";
  const std::string plain = Unhex(kPlain15);
  std::string sealed;
  ASSERT_OK(key->Seal(nonce, aad, plain, &sealed));

  char out[128];
  // Every bit of ciphertext and tag.
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    std::string bad = sealed;
    bad[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    std::memset(out, 'x', sizeof(out));
    Status s = key->Open(nonce, aad, bad, out);
    ASSERT_TRUE(s.IsCorruption()) << "bit " << bit << ": " << s.ToString();
    EXPECT_EQ(std::string(out, plain.size()), std::string(plain.size(), '\0'));
  }
  // Every bit of the AAD and of the nonce.
  for (size_t bit = 0; bit < aad.size() * 8; ++bit) {
    std::string bad = aad;
    bad[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    EXPECT_TRUE(key->Open(nonce, bad, sealed, out).IsCorruption()) << "aad bit " << bit;
  }
  for (size_t bit = 0; bit < nonce.size() * 8; ++bit) {
    Nonce bad = nonce;
    bad[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    EXPECT_TRUE(key->Open(bad, aad, sealed, out).IsCorruption()) << "nonce bit " << bit;
  }
  // Truncation and a different key.
  EXPECT_TRUE(key->Open(nonce, aad, sealed.substr(0, sealed.size() - 1), out).IsCorruption());
  EXPECT_TRUE(key->Open(nonce, aad, sealed.substr(0, 5), out).IsCorruption());
  auto other = KeyFromHex(kZeroKey);
  EXPECT_TRUE(other->Open(nonce, aad, sealed, out).IsCorruption());
}

TEST(Aes256Gcm, RefusesKeysOfTheWrongSize) {
  EXPECT_EQ(Aes256GcmKey::Create(SecretBytes(16)).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Aes256GcmKey::Create(SecretBytes()).status().code(), Status::Code::kInvalidArgument);
}

TEST(Aes256Gcm, ManyThreadsSealAndOpenWithOneKey) {
  auto key = KeyFromHex(kKey15);
  ASSERT_NE(key, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string plain(100 + t, static_cast<char>(i));
        auto nonce = RandomNonce();
        std::string sealed, opened;
        if (!nonce.ok() || !key->Seal(*nonce, "x", plain, &sealed).ok() ||
            !key->Open(*nonce, "x", sealed, &opened).ok() || opened != plain) {
          failures++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(HkdfSha256, Rfc5869TestCase1) {
  auto okm = HkdfSha256(SecretBytes::CopyOf(std::string(22, '\x0b')),
                        Unhex("000102030405060708090a0b0c"), Unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_OK(okm.status());
  EXPECT_EQ(HexEncode(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

TEST(HkdfSha256, Rfc5869TestCase3EmptySaltAndInfo) {
  auto okm = HkdfSha256(SecretBytes::CopyOf(std::string(22, '\x0b')), "", "", 42);
  ASSERT_OK(okm.status());
  EXPECT_EQ(HexEncode(okm->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8");
}

TEST(HkdfSha256, LabelsGiveIndependentKeysAndBadLengthsAreRefused) {
  SecretBytes ikm = SecretBytes::CopyOf("input keying material");
  auto a = HkdfSha256(ikm, "salt", "label/a", 32);
  auto b = HkdfSha256(ikm, "salt", "label/b", 32);
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_FALSE(a->Equals(*b));
  EXPECT_EQ(HkdfSha256(ikm, "", "", 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(ikm, "", "", 255 * 32 + 1).status().code(), Status::Code::kInvalidArgument);
}

TEST(HmacSha256, Rfc4231TestCases) {
  struct {
    std::string key;
    std::string data;
    const char* mac;
  } cases[] = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
  };
  for (const auto& c : cases) {
    auto mac = HmacSha256(SecretBytes::CopyOf(c.key), c.data);
    ASSERT_OK(mac.status());
    EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<const char*>(mac->data()), 32)), c.mac);
  }
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(Scrypt, Rfc7914TestVectors) {
  auto empty = Scrypt(SecretBytes(), "", ScryptParams{16, 1, 1}, 64);
  ASSERT_OK(empty.status());
  EXPECT_EQ(HexEncode(empty->view()),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  auto password = Scrypt(SecretBytes::CopyOf("password"), "NaCl", ScryptParams{1024, 8, 16}, 64);
  ASSERT_OK(password.status());
  EXPECT_EQ(HexEncode(password->view()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(Scrypt, ParametersAreBounded) {
  EXPECT_OK((ScryptParams{}.Validate()));
  EXPECT_FALSE((ScryptParams{1000, 8, 1}.Validate().ok()));               // not a power of two
  EXPECT_FALSE((ScryptParams{1, 8, 1}.Validate().ok()));                  // too small
  EXPECT_FALSE((ScryptParams{uint64_t{1} << 23, 8, 1}.Validate().ok()));  // too large
  EXPECT_FALSE((ScryptParams{1 << 10, 0, 1}.Validate().ok()));
  EXPECT_FALSE((ScryptParams{1 << 10, 8, 17}.Validate().ok()));
  EXPECT_FALSE((ScryptParams{uint64_t{1} << 22, 32, 1}.Validate().ok()));  // 16 GiB
  EXPECT_EQ(Scrypt(SecretBytes::CopyOf("pw"), "salt", ScryptParams{3, 8, 1}, 32).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(SecretBytes, MoveLeavesTheSourceEmptyAndCompareIsByContent) {
  auto a = SecretBytes::Random(32, SecretBytes::Memory::kLocked);
  ASSERT_OK(a.status());
  SecretBytes copy = SecretBytes::CopyOf(a->view());
  SecretBytes moved = std::move(a).value();
  EXPECT_EQ(moved.size(), 32u);
  EXPECT_TRUE(moved.Equals(copy));
  SecretBytes target(8);
  target = std::move(moved);
  EXPECT_TRUE(moved.empty());  // NOLINT: checking the moved-from state is the point
  EXPECT_TRUE(target.Equals(copy));
  target.Clear();
  EXPECT_TRUE(target.empty());
  EXPECT_FALSE(target.Equals(copy));
}

TEST(SecretBytes, RandomSecretsDifferAndLockedMemoryIsPinnedWhenAllowed) {
  auto a = SecretBytes::Random(32, SecretBytes::Memory::kLocked);
  auto b = SecretBytes::Random(32, SecretBytes::Memory::kLocked);
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_FALSE(a->Equals(*b));
  // mlock may be refused under a tiny RLIMIT_MEMLOCK; the bytes must still be usable.
  if (!a->locked()) GTEST_LOG_(INFO) << "mlock refused here; secrets are wiped but not pinned";
  EXPECT_FALSE(SecretBytes(32).locked());
}

TEST(SecretBytes, PrintsItsSizeNeverItsBytes) {
  SecretBytes s = SecretBytes::CopyOf("hunter2hunter2");
  std::ostringstream os;
  PrintTo(s, &os);
  EXPECT_EQ(os.str(), "<secret: 14 bytes>");
  EXPECT_EQ(::testing::PrintToString(s).find("hunter2"), std::string::npos);
}

TEST(Hex, RoundTripsAndRejectsBadInput) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(HexDecode(HexEncode(all)), all);
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  EXPECT_EQ(HexDecode("01AB"), std::string("\x01\xab"));
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(Dek, GeneratedDeksHaveDistinctNonZeroIdsAndKeys) {
  std::set<uint64_t> ids;
  std::set<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    auto dek = GenerateDek();
    ASSERT_OK(dek.status());
    EXPECT_NE(dek->id, 0u);
    EXPECT_EQ(dek->key.size(), kDekSize);
    ids.insert(dek->id);
    keys.insert(std::string(dek->key.view()));
  }
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(keys.size(), 100u);
}

TEST(WrappedDek, SerializesAndParsesBack) {
  WrappedDek w;
  w.dek_id = 0x00c0ffee00c0ffeeull;
  w.key_id = "key-0123456789abcdef";
  w.key_version = 3;
  for (size_t i = 0; i < w.iv.size(); ++i) w.iv[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < w.ct.size(); ++i) w.ct[i] = static_cast<uint8_t>(0x40 + i);
  for (size_t i = 0; i < w.tag.size(); ++i) w.tag[i] = static_cast<uint8_t>(0x80 + i);
  const std::string text = w.Serialize();
  EXPECT_NE(text.find("\"dek_id\":\"00c0ffee00c0ffee\""), std::string::npos) << text;
  auto parsed = WrappedDek::Parse(text);
  ASSERT_OK(parsed.status());
  EXPECT_EQ(parsed->dek_id, w.dek_id);
  EXPECT_EQ(parsed->key_id, w.key_id);
  EXPECT_EQ(parsed->key_version, 3u);
  EXPECT_EQ(parsed->iv, w.iv);
  EXPECT_EQ(parsed->ct, w.ct);
  EXPECT_EQ(parsed->tag, w.tag);
}

TEST(WrappedDek, RejectsAnythingSerializeWouldNotWrite) {
  WrappedDek w;
  w.dek_id = 7;
  w.key_id = "key-0123456789abcdef";
  w.key_version = 1;
  const std::string good = w.Serialize();
  ASSERT_OK(WrappedDek::Parse(good).status());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  for (const std::string& bad :
       {std::string("not json"), std::string("{}"), replace("\"v\":1", "\"v\":2"),
        replace("\"key_version\":1", "\"key_version\":0"),
        replace("key-0123456789abcdef", "key-0123"), replace("0000000000000007", "00000007"),
        replace("0000000000000007", "0000000000000000"), replace("\"iv\":\"", "\"iv\":\"00"),
        replace("\"v\":1", "\"v\":1,\"extra\":1")}) {
    EXPECT_TRUE(WrappedDek::Parse(bad).status().IsCorruption()) << bad;
  }
}

}  // namespace
}  // namespace clonefs::crypto

namespace clonefs::crypto {
namespace {

std::string HexOf(const Sha256Digest& d) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

TEST(Sha256, Fips180KnownAnswersAllAtOnceAndInPieces) {
  auto empty = Sha256Of("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(HexOf(*empty), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto abc = Sha256Of("abc");
  ASSERT_TRUE(abc.ok());
  EXPECT_EQ(HexOf(*abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // The same message fed a byte at a time, twice, on one object (Finish starts it over).
  auto h = Sha256::Create();
  ASSERT_TRUE(h.ok());
  for (int round = 0; round < 2; ++round) {
    for (char c : std::string_view("abc")) ASSERT_OK((*h)->Update(std::string_view(&c, 1)));
    auto d = (*h)->Finish();
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, *abc);
  }
}

}  // namespace
}  // namespace clonefs::crypto
