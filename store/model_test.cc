// Property test: random interleavings of writes, discards, resizes, syncs, GC passes and
// reopens, checked byte for byte against a plain in-memory model of each volume.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "store/store.h"
#include "store/test_util.h"

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
  for (const auto& n : names) ASSERT_OK(store_->DeleteVolume(n));
  model_.clear();
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_EQ(store_->GetUsage().live_bytes, 0u);
  EXPECT_LE(store_->GetUsage().segment_count, 1u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ModelTest, ::testing::Values(1, 2, 3, 4));

}  // namespace
}  // namespace clonefs::store
