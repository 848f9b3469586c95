// The background threads run on the Env's clock: with a fake clock nothing is checkpointed or
// collected until the test moves time on, and then it happens without any call into the store.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "store/log/memory_segment_store.h"
#include "store/meta/keys.h"
#include "store/meta/memory_meta_db.h"
#include "store/store.h"
#include "tests/testing/fake_clock_env.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::FakeClockEnv;
using clonefs::testing::Pattern;
using clonefs::testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kSecondUs = 1000000;

// Polls `done` for up to `seconds` of real time.
bool Eventually(const std::function<bool()>& done, int seconds = 20) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

class BackgroundTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.env = &clock_;
    options_.segment_store = segments_;
    options_.meta_db = meta_;
    options_.segment_bytes = 1 * kMiB;
    options_.checkpoint_entries = checkpoint_entries_;
    options_.background_threads = true;
    ASSERT_OK(Store::Create(dir_.path() + "/s", "local", options_));
    auto s = Store::Open(dir_.path() + "/s", options_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    VolumeOptions vo;
    vo.size_bytes = 4 * kMiB;
    ASSERT_TRUE(store_->CreateVolume("v", vo).ok());
  }
  void Write(uint64_t seed, size_t n) {
    auto v = store_->OpenVolume("v");
    ASSERT_TRUE(v.ok());
    ASSERT_OK((*v)->Write(0, Pattern(seed, n)));
    ASSERT_OK((*v)->Sync());
  }
  std::string CheckpointRecord() {
    auto r = meta_->Get(keys::kCheckpoint);
    return r.ok() && r->has_value() ? **r : "";
  }

  size_t checkpoint_entries_ = 1 << 20;  // never reached: only the timer checkpoints
  TempDir dir_;
  FakeClockEnv clock_{uint64_t{1800000000} * kSecondUs};
  std::shared_ptr<MemorySegmentStore> segments_ = std::make_shared<MemorySegmentStore>();
  std::shared_ptr<MemoryMetaDb> meta_ = std::make_shared<MemoryMetaDb>();
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST_F(BackgroundTest, CheckpointFollowsThirtySecondsOfTheEnvClock) {
  Write(1, 64 * 1024);
  const std::string before = CheckpointRecord();
  ASSERT_FALSE(before.empty());
  // Real time alone moves nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(CheckpointRecord(), before);
  clock_.Advance(10 * kSecondUs);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(CheckpointRecord(), before) << "checkpointed before 30 s of store time";
  clock_.Advance(21 * kSecondUs);
  EXPECT_TRUE(Eventually([&] { return CheckpointRecord() != before; }))
      << "no checkpoint 31 s (store time) after a write";
}

TEST_F(BackgroundTest, GarbageIsCollectedAfterAMinuteOfTheEnvClock) {
  // Overwritten pages only: with restore points, what each sync made durable stays for the
  // restore window (restore_points_test.cc has GC of what leaves a window).
  store_.reset();
  options_.restore_points = false;
  auto reopened = Store::Open(dir_.path() + "/s", options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  store_ = std::move(reopened).value();
  for (uint64_t i = 0; i < 6; ++i) Write(10 + i, kMiB);  // 5 MiB of it overwritten
  const uint64_t stored = segments_->stored_bytes();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(segments_->stored_bytes(), stored);
  clock_.Advance(61 * kSecondUs);
  EXPECT_TRUE(Eventually([&] { return segments_->stored_bytes() < stored; }))
      << "no GC pass 61 s (store time) after the garbage was made";
  auto v = store_->OpenVolume("v");
  ASSERT_TRUE(v.ok());
  std::string got(kMiB, 'X');
  ASSERT_OK((*v)->Read(0, got.size(), got.data()));
  EXPECT_EQ(got, Pattern(15, kMiB));
}

// A small checkpoint threshold: a writer that passes it wakes the background thread, which
// checkpoints at once, with no store time passing.
class BackgroundThresholdTest : public BackgroundTest {
 protected:
  BackgroundThresholdTest() { checkpoint_entries_ = 16; }
};

TEST_F(BackgroundThresholdTest, AWriterPastTheThresholdWakesTheCheckpointer) {
  const std::string before = CheckpointRecord();
  Write(1, 32 * 4096);  // 32 map entries: past 16, below the inline limit of 64
  EXPECT_TRUE(Eventually([&] { return CheckpointRecord() != before; }))
      << "no checkpoint after the overlay passed checkpoint_entries";
}

}  // namespace
}  // namespace clonefs::store
