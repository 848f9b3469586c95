// Multithreaded stress: writers (each with its own volume and model) take snapshots and
// clones of their volume as they go, while another thread runs GC passes back to back and
// checkpoints fire every few dozen entries. At the end every volume, clone and snapshot must
// equal its model. Run under TSan in the sanitizer build.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "store/store.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using clonefs::testing::TempDir;

TEST(Stress, WritersSnapshotsClonesAndGcConcurrently) {
  TempDir dir;
  ASSERT_OK(Store::Create(dir.path() + "/s", "local", Env::Default()));
  StoreOptions o;
  o.segment_bytes = 512 << 10;
  o.checkpoint_entries = 50;
  auto opened = Store::Open(dir.path() + "/s", o);
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  constexpr int kWriters = 3;
  constexpr uint64_t kSize = 256 << 10;  // small: overwrites are frequent, GC has work
  std::mutex expect_mu;
  std::map<std::string, std::string> expect_volumes, expect_snapshots;
  std::atomic<bool> done{false};

  std::thread gc([&] {
    while (!done) EXPECT_OK(store.CollectGarbage());
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      const std::string name = "w" + std::to_string(w);
      VolumeOptions vo;
      vo.size_bytes = kSize;
      ASSERT_TRUE(store.CreateVolume(name, vo).ok());
      auto h = *store.OpenVolume(name);
      std::string model(kSize, '\0');
      std::mt19937_64 rng(w);
      std::string previous_snapshot;
      for (int i = 0; i < 1000; ++i) {
        const uint64_t off = rng() % kSize;
        const uint64_t len = std::min<uint64_t>(kSize - off, 1 + rng() % 20000);
        if (rng() % 4 == 0) {
          ASSERT_OK(h->Discard(off, len));
          model.replace(off, len, std::string(len, '\0'));
        } else {
          std::string data = Pattern(rng(), len);
          ASSERT_OK(h->Write(off, data));
          model.replace(off, len, data);
        }
        if (i % 50 == 25) {
          const std::string snap = name + "-s" + std::to_string(i);
          ASSERT_TRUE(store.CreateSnapshot(name, snap, {}).ok());
          std::lock_guard<std::mutex> l(expect_mu);
          expect_snapshots[snap] = model;
          if (rng() % 2 && !previous_snapshot.empty()) {  // its versions become garbage
            ASSERT_OK(store.DeleteSnapshot(previous_snapshot));
            expect_snapshots.erase(previous_snapshot);
          }
          previous_snapshot = snap;
        }
        if (i % 100 == 75) {
          const std::string clone = name + "-c" + std::to_string(i);
          ASSERT_TRUE(store.CloneVolume(name, clone).ok());
          std::lock_guard<std::mutex> l(expect_mu);
          expect_volumes[clone] = model;
        }
        if (i % 20 == 0) {
          std::string got(len, 'X');
          ASSERT_OK(h->Read(off, len, got.data()));
          ASSERT_TRUE(got == model.substr(off, len)) << name << " step " << i;
        }
      }
      std::lock_guard<std::mutex> l(expect_mu);
      expect_volumes[name] = model;
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  gc.join();
  ASSERT_OK(store.CollectGarbage());
  for (auto& [name, model] : expect_volumes) {
    auto h = store.OpenVolume(name);
    ASSERT_TRUE(h.ok()) << name;
    std::string got(model.size(), 'X');
    ASSERT_OK((*h)->Read(0, got.size(), got.data()));
    EXPECT_TRUE(got == model) << "volume " << name;
  }
  for (auto& [name, model] : expect_snapshots) {
    auto h = store.OpenSnapshot(name);
    ASSERT_TRUE(h.ok()) << name;
    std::string got(model.size(), 'X');
    ASSERT_OK((*h)->Read(0, got.size(), got.data()));
    EXPECT_TRUE(got == model) << "snapshot " << name;
  }
}

}  // namespace
}  // namespace clonefs::store
