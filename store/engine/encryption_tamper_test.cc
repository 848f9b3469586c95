// Tampering with sealed page records on disk: each attack makes exactly the attacked page fail
// (Corruption, which the mount reports as EIO) while every other page still reads.
//
// Each attack comes in two strengths: the bytes as an attacker first moves them (caught by the
// header checks, or by the tag where the header still matches), and the same with the header
// rewritten to look right and the unkeyed CRC recomputed (caught only by the AES-GCM tag,
// through the associated data). Readers leave a sealed record's CRC to replay and GC: the tag
// is the stronger check of the same bytes.
#include <set>

#include "crypto/checksum.h"
#include "store/engine/encryption_test_util.h"

namespace clonefs::store::testing {
namespace {

constexpr uint64_t kPages = 8;

class TamperTest : public EncryptedStoreTest {
 protected:
  void SetUp() override {
    EncryptedStoreTest::SetUp();
    vol_ = CreateEncrypted("v");
    WritePages("v", 0, kPages, 1000);
  }

  // Closes the store, lets `tamper` edit the records, reopens.
  template <typename Fn>
  void Tamper(Fn tamper) {
    Close();
    std::vector<DiskRecord> records = ScanRecords(dir_);
    tamper(records);
    Open();
  }

  DiskRecord Newest(const std::vector<DiskRecord>& all, uint64_t page, uint64_t volume = 0) {
    auto r = NewestRecord(all, volume == 0 ? vol_.id : volume, page);
    EXPECT_TRUE(r.has_value()) << "no record of page " << page;
    return r.value_or(DiskRecord{});
  }

  // Exactly `bad` pages of volume "v" fail with Corruption; the others hold their data.
  // `why`: what the error message must say (which check caught it), checked on every bad
  // page unless it is empty.
  void ExpectOnlyCorrupt(const std::set<uint64_t>& bad, const std::string& why = "") {
    const uint64_t seed = 1000;
    for (uint64_t p = 0; p < kPages; ++p) {
      std::string got;
      Status s = ReadPage("v", p, &got);
      if (bad.count(p)) {
        EXPECT_TRUE(s.IsCorruption()) << "page " << p << ": " << s.ToString();
        EXPECT_NE(s.message().find("page " + std::to_string(p)), std::string::npos) << s.message();
        EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
      } else {
        ASSERT_TRUE(s.ok()) << "page " << p << ": " << s.ToString();
        EXPECT_EQ(got, Pattern(seed + p, kPage)) << "page " << p;
      }
    }
  }

  VolumeInfo vol_;
};

TEST_F(TamperTest, FlippedPayloadBit) {
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord r = Newest(all, 3);
    std::string bytes = r.bytes;
    bytes[kRecordHeaderSize + 100] ^= 0x04;
    OverwriteAt(r.path, r.offset, bytes);
  });
  ExpectOnlyCorrupt({3}, "tag");
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord r = Newest(all, 3);
    std::string payload(PayloadOf(r));  // still flipped from above
    OverwriteAt(r.path, r.offset, Reencode(r.header, payload));
  });
  ExpectOnlyCorrupt({3}, "tag");  // a recomputed checksum does not help: the tag catches it
  // And a flipped bit in the tag itself.
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord r = Newest(all, 5);
    std::string payload(PayloadOf(r));
    payload.back() ^= 0x80;
    OverwriteAt(r.path, r.offset, Reencode(r.header, payload));
  });
  ExpectOnlyCorrupt({3, 5}, "tag");
}

// The flags byte is the one header byte neither the tag's associated data nor the CRC that
// readers skip for sealed records protects: any set bit is refused, with a recomputed CRC too.
TEST_F(TamperTest, SetFlagsByte) {
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord r = Newest(all, 4);
    std::string bytes = r.bytes;
    bytes[7] = 0x01;
    uint32_t crc = crypto::Crc32c(0, bytes.data(), 76);
    crc = crypto::Crc32c(crc, bytes.data() + kRecordHeaderSize, bytes.size() - kRecordHeaderSize);
    for (int i = 0; i < 4; ++i) bytes[76 + i] = static_cast<char>(crc >> (8 * i));
    OverwriteAt(r.path, r.offset, bytes);
  });
  ExpectOnlyCorrupt({4}, "flags");
}

TEST_F(TamperTest, SwappedRecordsOfTheSameSize) {
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord a = Newest(all, 2);
    DiskRecord b = Newest(all, 6);
    ASSERT_EQ(a.bytes.size(), b.bytes.size());
    OverwriteAt(a.path, a.offset, b.bytes);
    OverwriteAt(b.path, b.offset, a.bytes);
  });
  ExpectOnlyCorrupt({2, 6}, "another page");  // each record names the other page
  // Now with the identities swapped back, so that every header matches its map entry.
  Tamper([&](std::vector<DiskRecord>& all) {
    // Records now at page 2's and page 6's locations (found by their current headers).
    DiskRecord at2 = Newest(all, 6);  // page 6's record sits where page 2's was
    DiskRecord at6 = Newest(all, 2);
    RecordHeader h2 = at2.header, h6 = at6.header;
    std::swap(h2.page_no, h6.page_no);
    std::swap(h2.seq, h6.seq);
    OverwriteAt(at2.path, at2.offset, Reencode(h2, PayloadOf(at2)));
    OverwriteAt(at6.path, at6.offset, Reencode(h6, PayloadOf(at6)));
  });
  ExpectOnlyCorrupt({2, 6}, "tag");  // the tag binds page and seq
}

TEST_F(TamperTest, ReplayedOlderVersionOfThePage) {
  WritePages("v", 4, 1, 2000);  // page 4 again: the first version stays on disk, dead
  DiskRecord old_v, new_v;
  Tamper([&](std::vector<DiskRecord>& all) {
    std::vector<DiskRecord> versions;
    for (const DiskRecord& r : all) {
      if (r.header.volume_id == vol_.id && r.header.page_no == 4) versions.push_back(r);
    }
    ASSERT_EQ(versions.size(), 2u);
    old_v = versions[0];
    new_v = versions[1];
    ASSERT_LT(old_v.header.seq, new_v.header.seq);
    ASSERT_EQ(old_v.bytes.size(), new_v.bytes.size());
    OverwriteAt(new_v.path, new_v.offset, old_v.bytes);
  });
  ExpectOnlyCorrupt({4}, "another page");  // the map entry expects the newer seq
  // The old record again, its header given the seq the map expects.
  Tamper([&](std::vector<DiskRecord>&) {
    RecordHeader h = old_v.header;
    h.seq = new_v.header.seq;
    OverwriteAt(new_v.path, new_v.offset, Reencode(h, PayloadOf(old_v)));
  });
  ExpectOnlyCorrupt({4}, "tag");  // the header matches now: the tag binds the seq
}

TEST_F(TamperTest, RecordOfAnotherVolume) {
  CreateEncrypted("w");
  WritePages("w", 0, kPages, 3000);
  const uint64_t w_id = store_->GetVolume("w")->id;
  DiskRecord v5;  // v's page 5 record as written
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord from = Newest(all, 5, w_id);
    v5 = Newest(all, 5);
    ASSERT_EQ(from.bytes.size(), v5.bytes.size());
    OverwriteAt(v5.path, v5.offset, from.bytes);
  });
  ExpectOnlyCorrupt({5}, "another page");  // the record names volume w
  // Relabelled with v's identity and the seq v's map entry expects: v's key ring does not hold
  // w's data key.
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord from;
    for (const DiskRecord& r : all) {
      if (r.header.volume_id == w_id && r.header.page_no == 5 && r.offset != v5.offset) from = r;
    }
    ASSERT_FALSE(from.path.empty());
    RecordHeader h = from.header;
    h.volume_id = v5.header.volume_id;
    h.epoch = v5.header.epoch;
    h.seq = v5.header.seq;
    OverwriteAt(v5.path, v5.offset, Reencode(h, PayloadOf(from)));
  });
  ExpectOnlyCorrupt({5}, "does not hold");
  std::string got;
  ASSERT_TRUE(ReadPage("w", 5, &got).ok());  // the original is untouched
  EXPECT_EQ(got, Pattern(3005, kPage));
}

TEST_F(TamperTest, RecordOfTheSourceMovedIntoItsClone) {
  // A clone holds copies of its source's data keys, so a record the source sealed after the
  // clone was made opens with a key the clone has: only the volume id in the AAD stops it.
  ASSERT_TRUE(store_->CloneVolume("v", "c").ok());
  const uint64_t clone_id = store_->GetVolume("c")->id;
  WritePages("c", 1, 1, 4000);
  WritePages("v", 1, 1, 4000);
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord src = Newest(all, 1);
    DiskRecord dst = Newest(all, 1, clone_id);
    ASSERT_EQ(src.bytes.size(), dst.bytes.size());
    RecordHeader h = src.header;
    h.volume_id = dst.header.volume_id;
    h.epoch = dst.header.epoch;
    h.seq = dst.header.seq;
    OverwriteAt(dst.path, dst.offset, Reencode(h, PayloadOf(src)));
  });
  std::string got;
  Status s = ReadPage("c", 1, &got);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("tag"), std::string::npos) << s.message();
  for (uint64_t p = 0; p < kPages; ++p) {
    if (p == 1) continue;
    ASSERT_TRUE(ReadPage("c", p, &got).ok()) << p;  // shared pages of the source
    EXPECT_EQ(got, Pattern(1000 + p, kPage));
  }
  ASSERT_TRUE(ReadPage("v", 1, &got).ok());
  EXPECT_EQ(got, Pattern(4001, kPage));
}

TEST_F(TamperTest, UnsealedRecordInAnEncryptedVolume) {
  // Planted content without the key: an unsealed record with the right identity and size.
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord r = Newest(all, 7);
    RecordHeader h = r.header;
    h.cipher = kCipherNone;
    h.dek_id = 0;
    h.nonce = {};
    OverwriteAt(r.path, r.offset, Reencode(h, std::string(PayloadOf(r).size(), 'A')));
  });
  ExpectOnlyCorrupt({7}, "not sealed");
}

TEST_F(TamperTest, ForgedDiscardsAreSkippedAtRecovery) {
  // Records after the last checkpoint are replayed at open. A discard has no content a reader
  // would check later, so recovery checks it: unsealed, or sealed with a wrong tag, it is
  // skipped instead of zeroing the pages.
  Tamper([&](std::vector<DiskRecord>& all) {
    DiskRecord last = all.back();
    for (const DiskRecord& r : all) {
      if (r.path == last.path && r.offset > last.offset) last = r;
    }
    const uint64_t tail = last.offset + last.bytes.size();
    RecordHeader unsealed;
    unsealed.type = RecordType::kDiscard;
    unsealed.seq = last.header.seq + 1;
    unsealed.volume_id = vol_.id;
    unsealed.page_no = 0;
    unsealed.count = 4;
    unsealed.epoch = last.header.epoch;
    std::string forged = Reencode(unsealed, "");
    RecordHeader sealed = unsealed;
    sealed.seq += 1;
    sealed.page_no = 4;
    sealed.cipher = kCipherAes256Gcm;
    sealed.dek_id = last.header.dek_id;
    forged += Reencode(sealed, std::string(16, '\x5a'));  // a made-up tag
    OverwriteAt(last.path, tail, forged);
  });
  ExpectOnlyCorrupt({});
  // A genuine sealed discard still works, across a reopen.
  {
    auto h = store_->OpenVolume("v");
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE((*h)->Discard(6 * kPage, 2 * kPage).ok());
  }
  Close();
  Open();
  std::string got;
  ASSERT_TRUE(ReadPage("v", 7, &got).ok());
  EXPECT_EQ(got, std::string(kPage, '\0'));
}

}  // namespace
}  // namespace clonefs::store::testing
