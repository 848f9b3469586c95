// Property test: random interleavings of writes, discards, resizes, syncs, GC passes and
// reopens, checked byte for byte against a plain in-memory model of each volume.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "store/store.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using clonefs::testing::TempDir;

class ModelTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  void Open() {
    handles_.clear();
    store_.reset();
    StoreOptions o;
    o.segment_bytes = 256 << 10;  // many segments, so GC has work
    o.checkpoint_entries = 37;    // many checkpoints, mid-stream
    o.background_threads = false;
    auto s = Store::Open(dir_.path() + "/s", o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    for (auto& [name, data] : model_) handles_[name] = *store_->OpenVolume(name);
  }
  void CheckAll() {
    for (auto& [name, data] : model_) {
      std::string got(data.size(), 'X');
      ASSERT_OK(handles_[name]->Read(0, got.size(), got.data()));
      ASSERT_TRUE(got == data) << "volume " << name << " differs from the model";
    }
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::map<std::string, std::string> model_;
  std::map<std::string, std::shared_ptr<VolumeHandle>> handles_;
};

TEST_P(ModelTest, RandomOperationsMatchModel) {
  ASSERT_OK(Store::Create(dir_.path() + "/s", "local", Env::Default()));
  Open();
  std::mt19937_64 rng(GetParam());
  const std::vector<std::string> names = {"a", "b", "c"};
  for (const auto& n : names) {
    VolumeOptions vo;
    vo.size_bytes = 512 * 1024;
    vo.page_size = n == "b" ? 16384 : 4096;
    vo.compression = n == "c" ? Compression::kZstd : Compression::kNone;
    ASSERT_TRUE(store_->CreateVolume(n, vo).ok());
    model_[n] = std::string(vo.size_bytes, '\0');
    handles_[n] = *store_->OpenVolume(n);
  }
  for (int step = 0; step < 1500; ++step) {
    const std::string& n = names[rng() % names.size()];
    std::string& m = model_[n];
    const uint64_t r = rng() % 100;
    const uint64_t off = m.empty() ? 0 : rng() % m.size();
    const uint64_t len = std::min<uint64_t>(m.size() - off, 1 + rng() % 70000);
    if (r < 55 && len > 0) {
      std::string data = (rng() % 5 == 0) ? std::string(len, '\0') : Pattern(rng(), len);
      if (rng() % 3 == 0) {  // compressible
        for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i / 97) % 3);
      }
      ASSERT_OK(handles_[n]->Write(off, data));
      m.replace(off, len, data);
    } else if (r < 70 && len > 0) {
      ASSERT_OK(handles_[n]->Discard(off, len));
      m.replace(off, len, std::string(len, '\0'));
    } else if (r < 76) {
      uint64_t size = 512 * (rng() % 2048);
      ASSERT_TRUE(store_->ResizeVolume(n, size).ok());
      m.resize(size, '\0');
    } else if (r < 82) {
      ASSERT_OK(store_->Sync());
    } else if (r < 86) {
      ASSERT_OK(store_->CollectGarbage());
    } else if (r < 89) {
      Open();
    } else {
      uint64_t n2 = std::min<uint64_t>(m.size() - off, 1 + rng() % 100000);
      std::string got(n2, 'X');
      ASSERT_OK(handles_[n]->Read(off, n2, got.data()));
      ASSERT_TRUE(got == m.substr(off, n2)) << "step " << step << " volume " << n;
    }
  }
  CheckAll();
  Open();
  CheckAll();
  // Deleting everything returns the space.
  handles_.clear();
  for (const auto& n : names) ASSERT_OK(store_->DeleteVolume(n));
  model_.clear();
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_EQ(store_->GetUsage().live_bytes, 0u);
  EXPECT_LE(store_->GetUsage().segment_count, 1u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ModelTest, ::testing::Values(1, 2, 3, 4));

// The same, with snapshots, clones, restores and deletes of sources mixed in: every volume and
// every snapshot must read back exactly as its model copy says.
class CloneModelTest : public ModelTest {
 protected:
  void CheckSnapshots() {
    for (auto& [name, data] : snaps_) {
      auto h = store_->OpenSnapshot(name);
      ASSERT_TRUE(h.ok()) << name;
      std::string got(data.size(), 'X');
      ASSERT_OK((*h)->Read(0, got.size(), got.data()));
      ASSERT_TRUE(got == data) << "snapshot " << name << " differs from the model";
    }
  }
  std::map<std::string, std::string> snaps_;
  // Retained: not deleted, or still needed by a snapshot or a retained clone.
  bool Retained(const std::string& v) {
    if (!dead_.count(v)) return true;
    for (auto& [snap, vol] : snap_vol_) {
      if (vol == v && snaps_.count(snap)) return true;
    }
    for (auto& [c, p] : parent_) {
      if (p == v && Retained(c)) return true;
    }
    return false;
  }
  int ClonesOf(const std::string& root) {
    int n = 0;
    for (auto& [c, p] : parent_) n += lineage_[c] == root && Retained(c);
    return n;
  }
  std::map<std::string, std::string> lineage_;   // volume or snapshot -> root volume name
  std::map<std::string, std::string> parent_;    // clone -> the volume it reads through
  std::map<std::string, std::string> snap_vol_;  // snapshot -> its volume
  std::set<std::string> dead_;                   // deleted volumes
};

TEST_P(CloneModelTest, RandomClonesAndSnapshotsMatchModel) {
  ASSERT_OK(Store::Create(dir_.path() + "/s", "local", Env::Default()));
  Open();
  std::mt19937_64 rng(GetParam());
  int next_name = 0;
  auto create = [&](const std::string& n) {
    VolumeOptions vo;
    vo.size_bytes = 256 * 1024;
    ASSERT_TRUE(store_->CreateVolume(n, vo).ok());
    model_[n] = std::string(vo.size_bytes, '\0');
    handles_[n] = *store_->OpenVolume(n);
    lineage_[n] = n;
  };
  create("root");
  auto pick = [&](auto& m) {
    auto it = m.begin();
    std::advance(it, rng() % m.size());
    return it->first;
  };
  for (int step = 0; step < 1200; ++step) {
    const uint64_t r = rng() % 100;
    if (model_.empty()) create("v" + std::to_string(next_name++));
    const std::string n = pick(model_);
    std::string& m = model_[n];
    const uint64_t off = m.empty() ? 0 : rng() % m.size();
    const uint64_t len = std::min<uint64_t>(m.size() - off, 1 + rng() % 40000);
    if (r < 45 && len > 0) {
      std::string data = Pattern(rng(), len);
      ASSERT_OK(handles_[n]->Write(off, data));
      m.replace(off, len, data);
    } else if (r < 52 && len > 0) {
      ASSERT_OK(handles_[n]->Discard(off, len));
      m.replace(off, len, std::string(len, '\0'));
    } else if (r < 60) {
      const std::string snap = "s" + std::to_string(next_name++);
      ASSERT_TRUE(store_->CreateSnapshot(n, snap, {}).ok());
      snaps_[snap] = m;
      lineage_[snap] = lineage_[n];
      snap_vol_[snap] = n;
    } else if (r < 70) {
      const bool restore = !snaps_.empty() && rng() % 2;
      const std::string src = restore ? pick(snaps_) : n;
      const std::string clone = "c" + std::to_string(next_name++);
      auto got = restore ? store_->RestoreSnapshot(src, clone) : store_->CloneVolume(src, clone);
      const std::string root = lineage_[src];
      if (ClonesOf(root) >= kMaxClonesPerLineage) {
        ASSERT_EQ(got.status().ErrorName(), "CloneQuotaExceeded");
        continue;
      }
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      parent_[clone] = restore ? snap_vol_[src] : src;
      model_[clone] = restore ? snaps_[src] : m;
      lineage_[clone] = root;
      handles_[clone] = *store_->OpenVolume(clone);
    } else if (r < 75 && model_.size() > 1) {
      handles_.erase(n);
      ASSERT_OK(store_->DeleteVolume(n));
      model_.erase(n);
      dead_.insert(n);
    } else if (r < 79 && !snaps_.empty()) {
      const std::string snap = pick(snaps_);
      ASSERT_OK(store_->DeleteSnapshot(snap));
      snaps_.erase(snap);
    } else if (r < 84) {
      uint64_t size = 512 * (rng() % 1024);
      ASSERT_TRUE(store_->ResizeVolume(n, size).ok());
      m.resize(size, '\0');
    } else if (r < 90) {
      ASSERT_OK(store_->CollectGarbage());
    } else if (r < 93) {
      Open();
    } else {
      CheckAll();
      CheckSnapshots();
    }
  }
  CheckAll();
  CheckSnapshots();
  Open();
  CheckAll();
  CheckSnapshots();
  handles_.clear();
  for (auto& [name, data] : snaps_) ASSERT_OK(store_->DeleteSnapshot(name));
  for (auto& [name, data] : model_) ASSERT_OK(store_->DeleteVolume(name));
  model_.clear();
  snaps_.clear();
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_EQ(store_->GetUsage().live_bytes, 0u);
  EXPECT_LE(store_->GetUsage().segment_count, 1u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, CloneModelTest, ::testing::Values(11, 12, 13, 14));

}  // namespace
}  // namespace clonefs::store
