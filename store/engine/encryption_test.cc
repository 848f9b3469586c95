// Encrypted volumes end to end in the store: round trips, what reaches the disk, root secrets,
// key states, clones and restores under other keys, rekey, nonces and GC.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>

#include "store/engine/encryption_test_util.h"

namespace clonefs::store::testing {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// All segment bytes of the store.
std::string AllSegmentBytes(const std::string& dir) {
  std::string all;
  for (const std::string& f : SegmentFiles(dir)) all += ReadWholeFile(f);
  return all;
}

// A page that compresses well and carries `marker` many times.
std::string MarkedPage(const std::string& marker) {
  std::string page;
  while (page.size() + marker.size() <= kPage) page += marker;
  page.resize(kPage, '.');
  return page;
}

class EncryptionTest : public EncryptedStoreTest {};

TEST_F(EncryptionTest, RoundTripAndNoPlaintextOnDisk) {
  const VolumeInfo raw = CreateEncrypted("raw");
  const VolumeInfo zstd = CreateEncrypted("packed", "", Compression::kZstd);
  EXPECT_TRUE(raw.encrypted);
  EXPECT_EQ(raw.kms_key_id.rfind("key-", 0), 0u);
  auto def = store_->keys().DefaultKey();
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(raw.kms_key_id, def->key_id);  // no key named: the account's default key
  VolumeOptions plain_opts;
  plain_opts.size_bytes = 1 << 20;
  ASSERT_TRUE(store_->CreateVolume("plain", plain_opts).ok());

  const std::string secret = "marker-7f3a9c-encrypted-plaintext";
  const std::string control = "marker-control-unencrypted";
  for (const char* v : {"raw", "packed"}) {
    auto h = store_->OpenVolume(v);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_TRUE((*h)->Write(0, MarkedPage(secret)).ok());
    ASSERT_TRUE((*h)->Write(3 * kPage, Pattern(3, kPage)).ok());
    ASSERT_TRUE((*h)->Write(100, "partial page write").ok());  // read-modify-write of page 0
  }
  {
    auto h = store_->OpenVolume("plain");
    ASSERT_TRUE((*h)->Write(0, MarkedPage(control)).ok());
  }
  // Reads before and after a reopen see the same bytes.
  std::string expected0 = MarkedPage(secret);
  expected0.replace(100, 18, "partial page write");
  for (int round = 0; round < 2; ++round) {
    for (const char* v : {"raw", "packed"}) {
      std::string got;
      ASSERT_TRUE(ReadPage(v, 0, &got).ok());
      EXPECT_EQ(got, expected0) << v;
      ASSERT_TRUE(ReadPage(v, 3, &got).ok());
      EXPECT_EQ(got, Pattern(3, kPage)) << v;
      ASSERT_TRUE(ReadPage(v, 7, &got).ok());
      EXPECT_EQ(got, std::string(kPage, '\0')) << v;  // never written: zeros
    }
    Close();
    Open();
  }
  Close();
  const std::string disk = AllSegmentBytes(dir_);
  EXPECT_TRUE(Contains(disk, control)) << "the unencrypted control page must be on disk";
  EXPECT_FALSE(Contains(disk, secret));
  EXPECT_FALSE(Contains(disk, "partial page write"));
  EXPECT_FALSE(Contains(disk, Pattern(3, kPage).substr(0, 64)));
  // Every record of an encrypted volume is sealed and names a data key.
  for (const DiskRecord& r : ScanRecords(dir_)) {
    if (r.header.volume_id == raw.id || r.header.volume_id == zstd.id) {
      EXPECT_EQ(r.header.cipher, kCipherAes256Gcm);
      EXPECT_NE(r.header.dek_id, 0u);
    } else {
      EXPECT_EQ(r.header.cipher, kCipherNone);
    }
  }
}

TEST_F(EncryptionTest, MissingOrWrongRootSecretRefusesOnlyEncryptedVolumes) {
  CreateEncrypted("secret");
  WritePages("secret", 0, 4, 10);
  VolumeOptions o;
  o.size_bytes = 1 << 20;
  ASSERT_TRUE(store_->CreateVolume("open", o).ok());
  WritePages("open", 0, 4, 20);
  ASSERT_TRUE(store_->CreateSnapshot("secret", "snap", {}).ok());

  const std::string other_key = tmp_.path() + "/other.key";
  ASSERT_TRUE(crypto::CreateKeyFile(other_key).ok());
  std::vector<std::shared_ptr<const crypto::RootSecret>> wrong = {
      nullptr,
      std::make_shared<const crypto::RootSecret>(crypto::RootSecret::None()),
      std::make_shared<const crypto::RootSecret>(crypto::RootSecret::KeyFile(other_key)),
      std::make_shared<const crypto::RootSecret>(
          crypto::RootSecret::KeyFile(tmp_.path() + "/missing.key")),
  };
  for (size_t i = 0; i < wrong.size(); ++i) {
    OpenWith(wrong[i]);
    EXPECT_FALSE(store_->keys().lock_reason().ok()) << i;
    ExpectPages("open", 0, 4, 20);
    auto refused = store_->OpenVolume("secret");
    ASSERT_FALSE(refused.ok()) << i;
    EXPECT_EQ(refused.status().ErrorName(), "KMSKeyNotAccessible") << i;
    EXPECT_EQ(refused.status().err(), EACCES);
    auto snap = store_->OpenSnapshot("snap");
    EXPECT_EQ(snap.status().ErrorName(), "KMSKeyNotAccessible") << i;
    VolumeOptions enc = o;
    enc.encrypted = true;
    EXPECT_EQ(store_->CreateVolume("new-secret", enc).status().ErrorName(), "KMSKeyNotAccessible");
    // Metadata stays readable.
    auto info = store_->GetVolume("secret");
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(info->encrypted);
  }
  Open();
  ExpectPages("secret", 0, 4, 10);
}

TEST_F(EncryptionTest, DisabledKeyBlocksOpenHandlesAndEnablingRestoresEverything) {
  const std::string key = NewKey("db");
  CreateEncrypted("db", "alias/db");
  WritePages("db", 0, 8, 30);
  auto h = store_->OpenVolume("db");
  ASSERT_TRUE(h.ok());
  std::string buf(kPage, '\0');
  ASSERT_TRUE((*h)->Read(0, kPage, buf.data()).ok());

  auto disabled = store_->keys().DisableKey("db");
  ASSERT_TRUE(disabled.ok()) << disabled.status().ToString();
  EXPECT_EQ(disabled->state, crypto::KeyState::kDisabled);
  // The open handle fails at once, with EIO, naming the key.
  Status r = (*h)->Read(0, kPage, buf.data());
  EXPECT_EQ(r.ErrorName(), "KMSKeyNotAccessible");
  EXPECT_EQ(r.err(), EIO);
  EXPECT_NE(r.message().find(key), std::string::npos) << r.message();
  Status w = (*h)->Write(kPage, Pattern(99, kPage));
  EXPECT_EQ(w.ErrorName(), "KMSKeyNotAccessible");
  EXPECT_EQ(w.err(), EIO);
  // New opens are refused, naming the key.
  auto refused = store_->OpenVolume("db");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().ErrorName(), "KMSKeyNotAccessible");
  EXPECT_NE(refused.status().message().find(key), std::string::npos);

  ASSERT_TRUE(store_->keys().EnableKey(key).ok());
  ASSERT_TRUE((*h)->Read(0, kPage, buf.data()).ok());
  EXPECT_EQ(buf, Pattern(30, kPage));
  ASSERT_TRUE((*h)->Write(kPage, Pattern(99, kPage)).ok());  // with a fresh data key
  h->reset();
  ExpectPages("db", 2, 6, 30);
  ExpectPages("db", 1, 1, 98);

  // Scheduling deletion blocks the same way; cancelling leaves it disabled until enabled.
  auto scheduled = store_->keys().ScheduleKeyDeletion(key, 7);
  ASSERT_TRUE(scheduled.ok());
  EXPECT_EQ(scheduled->state, crypto::KeyState::kPendingDeletion);
  EXPECT_EQ(store_->OpenVolume("db").status().ErrorName(), "KMSKeyNotAccessible");
  ASSERT_TRUE(store_->keys().CancelKeyDeletion(key).ok());
  EXPECT_EQ(store_->OpenVolume("db").status().ErrorName(), "KMSKeyNotAccessible");
  ASSERT_TRUE(store_->keys().EnableKey(key).ok());
  ExpectPages("db", 0, 1, 30);

  // A key disabled before a restart keeps its volumes closed after it.
  ASSERT_TRUE(store_->keys().DisableKey(key).ok());
  Close();
  Open();
  EXPECT_EQ(store_->OpenVolume("db").status().ErrorName(), "KMSKeyNotAccessible");
  ASSERT_TRUE(store_->keys().EnableKey(key).ok());
  ExpectPages("db", 2, 6, 30);
}

TEST_F(EncryptionTest, CloneUnderAnotherKeyReadsAfterTheSourceKeyIsDisabled) {
  const std::string src_key = NewKey("src");
  const std::string clone_key = NewKey("clone");
  CreateEncrypted("src", src_key);
  WritePages("src", 0, 8, 40);
  Close();
  Open();  // a second data key: the source's ring now holds two
  WritePages("src", 8, 8, 40);
  ASSERT_TRUE(store_->CreateSnapshot("src", "snap", {}).ok());

  CloneOptions other;
  other.kms_key = "alias/clone";
  auto clone = store_->CloneVolume("src", "clone", other);
  ASSERT_TRUE(clone.ok()) << clone.status().ToString();
  EXPECT_TRUE(clone->encrypted);
  EXPECT_EQ(clone->kms_key_id, clone_key);
  auto same = store_->CloneVolume("src", "same-key");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->kms_key_id, src_key);  // default: the source's key
  auto restored = store_->RestoreSnapshot("snap", "restored", other);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->kms_key_id, clone_key);
  auto snap = store_->GetSnapshot("snap");
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->encrypted);
  EXPECT_EQ(snap->kms_key_id, src_key);

  WritePages("clone", 0, 2, 50);  // its own writes, under its own new data key
  ASSERT_TRUE(store_->keys().DisableKey(src_key).ok());
  EXPECT_EQ(store_->OpenVolume("src").status().ErrorName(), "KMSKeyNotAccessible");
  EXPECT_EQ(store_->OpenVolume("same-key").status().ErrorName(), "KMSKeyNotAccessible");
  EXPECT_EQ(store_->OpenSnapshot("snap").status().ErrorName(), "KMSKeyNotAccessible");
  // The clone and the restore hold re-wrapped copies of every data key they read.
  ExpectPages("clone", 0, 2, 50);
  ExpectPages("clone", 2, 14, 40);
  ExpectPages("restored", 0, 16, 40);
  Close();
  Open();
  ExpectPages("clone", 2, 14, 40);
  ExpectPages("restored", 0, 16, 40);
  // Clones of an encrypted volume cannot be made while its key is disabled.
  EXPECT_EQ(store_->CloneVolume("src", "late", other).status().ErrorName(), "KMSKeyNotAccessible");
}

TEST_F(EncryptionTest, AnUnencryptedVolumeCannotBeClonedIntoAnEncryptedOne) {
  NewKey("k");
  VolumeOptions o;
  o.size_bytes = 1 << 20;
  ASSERT_TRUE(store_->CreateVolume("plain", o).ok());
  WritePages("plain", 0, 2, 60);
  ASSERT_TRUE(store_->CreateSnapshot("plain", "plain-snap", {}).ok());
  CloneOptions keyed;
  keyed.kms_key = "k";
  auto c = store_->CloneVolume("plain", "c", keyed);
  EXPECT_EQ(c.status().ErrorName(), "InvalidParameterCombination");
  EXPECT_NE(c.status().message().find("not encrypted"), std::string::npos);
  EXPECT_EQ(store_->RestoreSnapshot("plain-snap", "r", keyed).status().ErrorName(),
            "InvalidParameterCombination");
  EXPECT_FALSE(store_->GetVolume("c").ok());  // nothing was created
  auto unkeyed = store_->CloneVolume("plain", "c");
  ASSERT_TRUE(unkeyed.ok());
  EXPECT_FALSE(unkeyed->encrypted);
  ExpectPages("c", 0, 2, 60);
}

// A public-key recipient key (for export streams) wraps no data keys: naming it for a new
// volume, a clone, a restore or a rekey is refused before anything is created or changed.
TEST_F(EncryptionTest, ARecipientKeyIsNeverAVolumeKey) {
  auto recipient = store_->keys().CreateRecipientKey(crypto::RecipientKind::kX25519, "exports", "");
  ASSERT_TRUE(recipient.ok()) << recipient.status().ToString();
  VolumeOptions o;
  o.size_bytes = 1 << 20;
  o.kms_key = "exports";
  auto refused = store_->CreateVolume("v", o);
  EXPECT_EQ(refused.status().ErrorName(), "InvalidKeyUsageException");
  EXPECT_EQ(refused.status().message(), "KMS key " + recipient->key_id +
                                            " is an X25519 key for export recipients; data "
                                            "keys need a symmetric key");
  EXPECT_FALSE(store_->GetVolume("v").ok());

  const std::string key = NewKey("data");
  CreateEncrypted("src", key);
  ASSERT_TRUE(store_->CreateSnapshot("src", "snap", {}).ok());
  CloneOptions to_recipient;
  to_recipient.kms_key = "exports";
  EXPECT_EQ(store_->CloneVolume("src", "c", to_recipient).status().ErrorName(),
            "InvalidKeyUsageException");
  EXPECT_EQ(store_->RestoreSnapshot("snap", "r", to_recipient).status().ErrorName(),
            "InvalidKeyUsageException");
  EXPECT_EQ(store_->RekeyVolume("src", "exports").status().ErrorName(), "InvalidKeyUsageException");
  EXPECT_FALSE(store_->GetVolume("c").ok());
  EXPECT_FALSE(store_->GetVolume("r").ok());
  EXPECT_EQ(store_->GetVolume("src")->kms_key_id, key);
}

TEST_F(EncryptionTest, RekeyRewrapsEveryDataKeyAndSurvivesReopen) {
  const std::string k1 = NewKey("one");
  const std::string k2 = NewKey("two");
  CreateEncrypted("v", k1);
  WritePages("v", 0, 4, 70);
  VolumeOptions o;
  o.size_bytes = 1 << 20;
  ASSERT_TRUE(store_->CreateVolume("plain", o).ok());
  EXPECT_EQ(store_->RekeyVolume("plain", k2).status().ErrorName(), "InvalidVolumeState");
  Close();
  Open();
  WritePages("v", 4, 4, 70);
  ASSERT_TRUE(store_->CreateSnapshot("v", "s", {}).ok());
  auto h = store_->OpenVolume("v");  // an open handle keeps working across the rekey
  ASSERT_TRUE(h.ok());
  auto rekeyed = store_->RekeyVolume("v", "alias/two");
  ASSERT_TRUE(rekeyed.ok()) << rekeyed.status().ToString();
  EXPECT_EQ(rekeyed->kms_key_id, k2);
  std::string buf(kPage, '\0');
  ASSERT_TRUE((*h)->Read(5 * kPage, kPage, buf.data()).ok());
  EXPECT_EQ(buf, Pattern(75, kPage));
  h->reset();
  Close();
  Open();
  EXPECT_EQ(store_->GetVolume("v")->kms_key_id, k2);
  EXPECT_EQ(store_->GetSnapshot("s")->kms_key_id, k2);  // snapshots follow their volume
  ASSERT_TRUE(store_->keys().DisableKey(k1).ok());      // the old key no longer matters
  ExpectPages("v", 0, 8, 70);
  WritePages("v", 8, 1, 70);
  ExpectPages("v", 8, 1, 70);
  ASSERT_TRUE(store_->keys().DisableKey(k2).ok());
  EXPECT_EQ(store_->OpenVolume("v").status().ErrorName(), "KMSKeyNotAccessible");
  // Re-keying needs both keys usable: the data keys are unwrapped under the old one.
  ASSERT_TRUE(store_->keys().EnableKey(k1).ok());
  EXPECT_EQ(store_->RekeyVolume("v", k1).status().ErrorName(), "KMSKeyNotAccessible");
  ASSERT_TRUE(store_->keys().EnableKey(k2).ok());
  ASSERT_TRUE(store_->RekeyVolume("v", k1).ok());
  ExpectPages("v", 0, 9, 70);
}

TEST_F(EncryptionTest, NoDataKeyAndNonceRepeatAcrossWritesAndReopens) {
  CreateEncrypted("v", "", Compression::kZstd, 4 << 20);
  for (int session = 0; session < 3; ++session) {
    auto h = store_->OpenVolume("v");
    ASSERT_TRUE(h.ok());
    for (int round = 0; round < 4; ++round) {
      // Whole-chunk writes and single pages, overwriting the same pages again and again.
      std::string chunk;
      for (int p = 0; p < 64; ++p) chunk += Pattern(session * 1000 + round * 100 + p, kPage);
      ASSERT_TRUE((*h)->Write(0, chunk).ok());
      for (int p = 0; p < 64; ++p) {
        ASSERT_TRUE((*h)->Write(p * kPage, Pattern(session * 7 + round + p, kPage)).ok());
      }
    }
    ASSERT_TRUE((*h)->Discard(10 * kPage, 4 * kPage).ok());
    h->reset();
    Close();
    Open();
  }
  Close();
  std::set<std::pair<uint64_t, std::string>> seen;
  std::map<std::string, std::set<uint64_t>> deks_per_segment;
  size_t sealed = 0;
  for (const DiskRecord& r : ScanRecords(dir_)) {
    ASSERT_EQ(r.header.cipher, kCipherAes256Gcm);
    std::string nonce(r.header.nonce.begin(), r.header.nonce.end());
    EXPECT_TRUE(seen.insert({r.header.dek_id, nonce}).second)
        << "data key " << r.header.dek_id << " reused a nonce at seq " << r.header.seq;
    deks_per_segment[r.path].insert(r.header.dek_id);
    ++sealed;
  }
  EXPECT_GE(sealed, 3u * 4 * 128);
  // Each process that wrote the volume sealed with a data key of its own: three sessions,
  // three segments (a process always appends to a new segment), three different keys.
  std::set<uint64_t> all;
  for (const auto& [path, deks] : deks_per_segment) {
    EXPECT_EQ(deks.size(), 1u) << path;
    all.insert(deks.begin(), deks.end());
  }
  EXPECT_EQ(all.size(), 3u);
  Open();
  auto h = store_->OpenVolume("v");
  std::string buf(kPage, '\0');
  ASSERT_TRUE((*h)->Read(11 * kPage, kPage, buf.data()).ok());
  EXPECT_EQ(buf, std::string(kPage, '\0'));  // the sealed discard was replayed and applied
  ASSERT_TRUE((*h)->Read(20 * kPage, kPage, buf.data()).ok());
  EXPECT_EQ(buf, Pattern(2 * 7 + 3 + 20, kPage));
}

TEST_F(EncryptionTest, GcRelocatesSealedRecordsWithoutKeysAndTheyStillRead) {
  Close();
  segment_bytes_ = 256 << 10;
  Open();
  CreateEncrypted("v", "", Compression::kNone, 8 << 20);
  WritePages("v", 0, 256, 80);  // several segments
  WritePages("v", 0, 224, 90);  // most of the first ones now dead
  ASSERT_TRUE(store_->CollectGarbage().ok());
  ExpectPages("v", 0, 224, 90);
  ExpectPages("v", 224, 32, 80);
  Close();
  size_t relocated = 0;
  for (const DiskRecord& r : ScanRecords(dir_)) {
    if (r.header.type == RecordType::kRelocated) {
      ++relocated;
      EXPECT_EQ(r.header.cipher, kCipherAes256Gcm);
    }
  }
  EXPECT_GT(relocated, 0u) << "GC should have compacted at least one segment";
  Open();
  ExpectPages("v", 0, 224, 90);
  ExpectPages("v", 224, 32, 80);
}

TEST_F(EncryptionTest, CloneIntoAnEmptyVolumeTakesTheSourceKeyRing) {
  const std::string k = NewKey("k");
  CreateEncrypted("src", k);
  WritePages("src", 0, 4, 100);
  VolumeOptions o;
  o.size_bytes = 0;
  ASSERT_TRUE(store_->CreateVolume("dst", o).ok());
  auto r = store_->CloneInto("src", "dst");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->volume.encrypted);
  EXPECT_EQ(r->volume.kms_key_id, k);
  ExpectPages("dst", 0, 4, 100);
  Close();
  Open();
  ExpectPages("dst", 0, 4, 100);
  // An encrypted, empty volume cannot become a clone of an unencrypted one.
  VolumeOptions plain;
  plain.size_bytes = 1 << 20;
  ASSERT_TRUE(store_->CreateVolume("plain", plain).ok());
  WritePages("plain", 0, 1, 110);
  VolumeOptions empty_enc;
  empty_enc.encrypted = true;
  empty_enc.size_bytes = 0;
  ASSERT_TRUE(store_->CreateVolume("enc-empty", empty_enc).ok());
  EXPECT_EQ(store_->CloneInto("plain", "enc-empty").status().ErrorName(), "InvalidVolumeState");
}

TEST_F(EncryptionTest, RecoveryReplaysSealedRecordsAfterACrash) {
  CreateEncrypted("v", "", Compression::kZstd);
  WritePages("v", 0, 16, 120);
  Close();
  // A process writes, discards and syncs, then dies with no checkpoint: recovery replays its
  // sealed records (verifying the discard's tag) and everything it synced is there.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = Store::Open(dir_, Options(std::make_shared<const crypto::RootSecret>(
                                       crypto::RootSecret::KeyFile(key_file_))));
    if (!store.ok()) _exit(3);
    auto h = (*store)->OpenVolume("v");
    if (!h.ok()) _exit(4);
    for (uint64_t p = 0; p < 8; ++p) {
      if (!(*h)->Write(p * kPage, Pattern(130 + p, kPage)).ok()) _exit(5);
    }
    if (!(*h)->Discard(10 * kPage, 3 * kPage).ok()) _exit(6);
    if (!(*h)->Sync().ok()) _exit(7);
    _exit(0);  // no destructor: no checkpoint
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  Open();
  ExpectPages("v", 0, 8, 130);
  ExpectPages("v", 8, 2, 120);
  ExpectPages("v", 13, 3, 120);
  std::string got;
  for (uint64_t p = 10; p < 13; ++p) {
    ASSERT_TRUE(ReadPage("v", p, &got).ok());
    EXPECT_EQ(got, std::string(kPage, '\0')) << p;
  }
}

}  // namespace
}  // namespace clonefs::store::testing
