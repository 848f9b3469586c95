// Helpers shared by the encrypted-volume tests: a store with a key file, and direct access to
// the page records in its segment files (to read what is on disk, and to tamper with it).
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/key_file.h"
#include "crypto/key_store.h"
#include "store/keys/key_service.h"
#include "store/log/record.h"
#include "store/store.h"
#include "tests/testing/testing.h"

namespace clonefs::store::testing {

using ::clonefs::testing::Pattern;
using ::clonefs::testing::TempDir;

constexpr uint32_t kPage = 4096;

// One page record as it lies in a segment file.
struct DiskRecord {
  std::string path;     // the segment file
  uint64_t offset = 0;  // of the record header
  RecordHeader header;
  std::string bytes;  // header + payload, exactly as on disk
};

inline std::vector<std::string> SegmentFiles(const std::string& store_dir) {
  std::vector<std::string> out;
  const std::string dir = store_dir + "/segments";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 4 && name.substr(name.size() - 4) == ".seg")
        out.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every record in every segment, in log order (the store must be closed).
inline std::vector<DiskRecord> ScanRecords(const std::string& store_dir) {
  std::vector<DiskRecord> out;
  for (const std::string& path : SegmentFiles(store_dir)) {
    const std::string data = ReadWholeFile(path);
    uint64_t off = 64;  // the segment header
    while (off + kRecordHeaderSize <= data.size()) {
      RecordHeader h;
      if (!DecodeRecordHeader(std::string_view(data).substr(off), &h).ok()) break;
      if (off + h.record_size() > data.size()) break;
      out.push_back(DiskRecord{path, off, h, data.substr(off, h.record_size())});
      off += h.record_size();
    }
  }
  return out;
}

// The newest record (highest seq) of `page` written by volume `volume_id`.
inline std::optional<DiskRecord> NewestRecord(const std::vector<DiskRecord>& all,
                                              uint64_t volume_id, uint64_t page) {
  std::optional<DiskRecord> best;
  for (const DiskRecord& r : all) {
    if (r.header.volume_id != volume_id || r.header.page_no != page ||
        r.header.type == RecordType::kDiscard) {
      continue;
    }
    if (!best || r.header.seq > best->header.seq) best = r;
  }
  return best;
}

inline void OverwriteAt(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

// `r` re-encoded with header `h` and payload `payload`, its CRC recomputed: what an attacker
// who knows the (unkeyed) checksum would write.
inline std::string Reencode(RecordHeader h, std::string_view payload) {
  std::string out;
  EncodeRecord(h, payload, &out);
  return out;
}

inline std::string_view PayloadOf(const DiskRecord& r) {
  return std::string_view(r.bytes).substr(kRecordHeaderSize);
}

// A store directory with a key file beside it; Open() opens it with that key file (or another
// root secret) and no background threads.
class EncryptedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    key_file_ = tmp_.path() + "/store.key";
    ASSERT_TRUE(Store::Create(dir_, "local", Env::Default()).ok());
    ASSERT_TRUE(crypto::CreateKeyFile(key_file_).ok());
    Open();
  }

  StoreOptions Options(std::shared_ptr<const crypto::RootSecret> root) const {
    StoreOptions o;
    o.background_threads = false;
    o.cache_bytes = 32 << 20;
    o.segment_bytes = segment_bytes_;
    o.root_secret = std::move(root);
    return o;
  }
  void OpenWith(std::shared_ptr<const crypto::RootSecret> root) {
    store_.reset();
    auto s = Store::Open(dir_, Options(std::move(root)));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void Open() {
    OpenWith(std::make_shared<const crypto::RootSecret>(crypto::RootSecret::KeyFile(key_file_)));
  }
  void Close() { store_.reset(); }

  VolumeInfo CreateEncrypted(const std::string& name, const std::string& kms_key = "",
                             Compression c = Compression::kNone, uint64_t size = 1 << 20) {
    VolumeOptions o;
    o.size_bytes = size;
    o.compression = c;
    o.encrypted = true;
    o.kms_key = kms_key;
    auto v = store_->CreateVolume(name, o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : VolumeInfo{};
  }
  std::string NewKey(const std::string& alias) {
    auto k = store_->keys().CreateKey(alias, "");
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return k.ok() ? k->key_id : "";
  }
  // Writes Pattern(seed + page) into pages [first, first + n) of `volume`.
  void WritePages(const std::string& volume, uint64_t first, uint64_t n, uint64_t seed) {
    auto h = store_->OpenVolume(volume);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    for (uint64_t p = first; p < first + n; ++p) {
      ASSERT_TRUE((*h)->Write(p * kPage, Pattern(seed + p, kPage)).ok());
    }
  }
  // The status of reading one page of `volume` (OK with the bytes in *out).
  Status ReadPage(const std::string& volume, uint64_t page, std::string* out) {
    auto h = store_->OpenVolume(volume);
    if (!h.ok()) return h.status();
    out->assign(kPage, '\0');
    return (*h)->Read(page * kPage, kPage, out->data());
  }
  // Pages [first, first + n) of `volume` hold Pattern(seed + page).
  void ExpectPages(const std::string& volume, uint64_t first, uint64_t n, uint64_t seed) {
    for (uint64_t p = first; p < first + n; ++p) {
      std::string got;
      Status s = ReadPage(volume, p, &got);
      ASSERT_TRUE(s.ok()) << volume << " page " << p << ": " << s.ToString();
      ASSERT_EQ(got, Pattern(seed + p, kPage)) << volume << " page " << p;
    }
  }

  TempDir tmp_;
  std::string dir_;
  std::string key_file_;
  uint64_t segment_bytes_ = 64ull << 20;
  std::unique_ptr<Store> store_;
};

}  // namespace clonefs::store::testing
