#include "crypto/page_cipher.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "crypto/dek.h"
#include "crypto/test_util.h"

namespace clonefs::crypto {
namespace {

std::unique_ptr<PageCipher> NewCipher(uint64_t seals_before = 0,
                                      uint64_t max_seals = kMaxSealsPerDek) {
  auto dek = GenerateDek();
  EXPECT_TRUE(dek.ok());
  auto cipher = PageCipher::Create(dek->id, dek->key, seals_before, max_seals);
  EXPECT_TRUE(cipher.ok()) << cipher.status().ToString();
  return cipher.ok() ? std::move(cipher).value() : nullptr;
}

std::string Page(char fill) { return std::string(4096, fill); }

TEST(PageCipher, SealedPagesOpenWithTheSameHeader) {
  auto cipher = NewCipher();
  ASSERT_NE(cipher, nullptr);
  Nonce nonce;
  std::string sealed, opened;
  ASSERT_OK(cipher->Seal("header of page 7", Page('a'), &nonce, &sealed));
  EXPECT_EQ(sealed.size(), 4096 + kPageSealOverhead);
  ASSERT_OK(cipher->Open(nonce, "header of page 7", sealed, &opened));
  EXPECT_EQ(opened, Page('a'));
  EXPECT_EQ(cipher->seals(), 1u);
}

TEST(PageCipher, TheSamePageSealsDifferentlyEachTime) {
  auto cipher = NewCipher();
  ASSERT_NE(cipher, nullptr);
  Nonce n1, n2;
  std::string s1, s2;
  ASSERT_OK(cipher->Seal("h", Page('z'), &n1, &s1));
  ASSERT_OK(cipher->Seal("h", Page('z'), &n2, &s2));
  EXPECT_NE(n1, n2);
  EXPECT_NE(s1, s2);
}

TEST(PageCipher, TamperedRecordIsCorruption) {
  auto cipher = NewCipher();
  ASSERT_NE(cipher, nullptr);
  const std::string header = "seq=9 volume=1 page=7 epoch=3 type=1 codec=1";
  Nonce nonce;
  std::string sealed, opened;
  ASSERT_OK(cipher->Seal(header, Page('p'), &nonce, &sealed));

  std::string flipped_ct = sealed;
  flipped_ct[100] ^= 0x01;
  std::string flipped_tag = sealed;
  flipped_tag[sealed.size() - 1] ^= 0x80;
  std::string other_header = header;
  other_header[header.find("page=7") + 5] = '8';  // a record moved to another page
  Nonce other_nonce = nonce;
  other_nonce[0] ^= 1;

  EXPECT_TRUE(cipher->Open(nonce, header, flipped_ct, &opened).IsCorruption());
  EXPECT_TRUE(opened.empty());
  EXPECT_TRUE(cipher->Open(nonce, header, flipped_tag, &opened).IsCorruption());
  EXPECT_TRUE(cipher->Open(nonce, other_header, sealed, &opened).IsCorruption());
  EXPECT_TRUE(cipher->Open(other_nonce, header, sealed, &opened).IsCorruption());
  auto other_dek = NewCipher();
  EXPECT_TRUE(other_dek->Open(nonce, header, sealed, &opened).IsCorruption());
  ASSERT_OK(cipher->Open(nonce, header, sealed, &opened));
}

TEST(PageCipher, StopsAtItsSealLimitAndAsksForANewDekFirst) {
  auto cipher = NewCipher(/*seals_before=*/0, /*max_seals=*/16);
  ASSERT_NE(cipher, nullptr);
  Nonce nonce;
  std::string sealed;
  for (int i = 0; i < 14; ++i) {
    EXPECT_FALSE(cipher->NeedsNewDek()) << i;
    ASSERT_OK(cipher->Seal("h", "p", &nonce, &sealed));
  }
  EXPECT_TRUE(cipher->NeedsNewDek());  // 14 of 16 used: past 7/8
  ASSERT_OK(cipher->Seal("h", "p", &nonce, &sealed));
  ASSERT_OK(cipher->Seal("h", "p", &nonce, &sealed));
  Status s = cipher->Seal("h", "p", &nonce, &sealed);
  EXPECT_EQ(s.code(), Status::Code::kInvalidState);
  EXPECT_EQ(s.ErrorName(), "DekExhausted");
  EXPECT_EQ(cipher->seals(), 16u);
  // Opening is never limited: pages sealed earlier stay readable.
  std::string opened;
  EXPECT_OK(cipher->Open(nonce, "h", sealed, &opened));
  EXPECT_EQ(opened, "p");
}

TEST(PageCipher, EarlierSealsCountAgainstTheBudget) {
  auto cipher = NewCipher(/*seals_before=*/9, /*max_seals=*/10);
  ASSERT_NE(cipher, nullptr);
  EXPECT_TRUE(cipher->NeedsNewDek());
  Nonce nonce;
  std::string sealed;
  ASSERT_OK(cipher->Seal("h", "p", &nonce, &sealed));
  EXPECT_EQ(cipher->Seal("h", "p", &nonce, &sealed).ErrorName(), "DekExhausted");
}

TEST(PageCipher, RefusesBadArguments) {
  auto dek = GenerateDek();
  ASSERT_OK(dek.status());
  EXPECT_FALSE(PageCipher::Create(0, dek->key).ok());
  EXPECT_FALSE(PageCipher::Create(1, SecretBytes(16)).ok());
  EXPECT_FALSE(PageCipher::Create(1, dek->key, 0, 0).ok());
  EXPECT_FALSE(PageCipher::Create(1, dek->key, 0, kMaxSealsPerDek + 1).ok());
}

// The property the nonce scheme exists for: no (DEK, nonce) pair is ever used twice.
TEST(PageCipher, NoDekNoncePairRepeatsAcross200kSeals) {
  constexpr int kDeks = 4;
  constexpr int kThreads = 4;
  constexpr int kSealsPerThread = 50000;
  std::vector<std::unique_ptr<PageCipher>> ciphers;
  for (int i = 0; i < kDeks; ++i) ciphers.push_back(NewCipher());

  std::mutex mu;
  std::unordered_set<std::string> seen;
  seen.reserve(kThreads * kSealsPerThread);
  size_t repeats = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::string> mine;
      mine.reserve(kSealsPerThread);
      const std::string plain(64, static_cast<char>(t));
      std::string sealed;
      for (int i = 0; i < kSealsPerThread; ++i) {
        PageCipher& c = *ciphers[(t + i) % kDeks];
        Nonce nonce;
        if (!c.Seal("h", plain, &nonce, &sealed).ok()) return;
        std::string pair(reinterpret_cast<const char*>(nonce.data()), nonce.size());
        pair.append(DekIdToHex(c.dek_id()));
        mine.push_back(std::move(pair));
      }
      std::lock_guard<std::mutex> lock(mu);
      for (auto& p : mine) {
        if (!seen.insert(std::move(p)).second) repeats++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size() + repeats, size_t{kThreads} * kSealsPerThread);
  EXPECT_EQ(repeats, 0u);
  uint64_t total = 0;
  for (auto& c : ciphers) total += c->seals();
  EXPECT_EQ(total, uint64_t{kThreads} * kSealsPerThread);
}

// Nonces come from OpenSSL's CSPRNG, which must not hand a forked child the parent's stream:
// a daemon that forks after sealing would otherwise repeat nonces under the same DEK.
TEST(PageCipher, AForkedChildSealsWithDifferentNonces) {
  auto cipher = NewCipher();
  ASSERT_NE(cipher, nullptr);
  Nonce warm;
  std::string sealed;
  ASSERT_OK(cipher->Seal("h", "p", &warm, &sealed));  // the parent's generator is in use
  constexpr int kNonces = 1000;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    for (int i = 0; i < kNonces; ++i) {
      Nonce n;
      std::string out;
      if (!cipher->Seal("h", "p", &n, &out).ok()) ::_exit(1);
      if (::write(fds[1], n.data(), n.size()) != static_cast<ssize_t>(n.size())) ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::unordered_set<std::string> parent;
  for (int i = 0; i < kNonces; ++i) {
    Nonce n;
    ASSERT_OK(cipher->Seal("h", "p", &n, &sealed));
    parent.insert(std::string(reinterpret_cast<const char*>(n.data()), n.size()));
  }
  std::string child;
  char buf[4096];
  ssize_t got;
  while ((got = ::read(fds[0], buf, sizeof(buf))) > 0) child.append(buf, got);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(child.size(), size_t{kNonces} * kNonceSize);
  for (size_t off = 0; off < child.size(); off += kNonceSize) {
    EXPECT_EQ(parent.count(child.substr(off, kNonceSize)), 0u) << "nonce repeated across fork";
  }
}

}  // namespace
}  // namespace clonefs::crypto
