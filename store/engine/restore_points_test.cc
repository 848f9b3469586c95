// Point-in-time restore in the store: each durable sync is a restore point, a restore to time T
// shows the image of the last one at or before T, windows follow retention, clones and deleted
// volumes, and points survive a clean reopen and a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error_names.h"
#include "store/store.h"
#include "tests/testing/fake_clock_env.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::FakeClockEnv;
using clonefs::testing::Pattern;
using clonefs::testing::TempDir;

constexpr uint64_t kSecond = 1000000;
constexpr uint64_t kDay = 86400 * kSecond;
constexpr uint64_t kStart = uint64_t{1800000000} * kSecond;
constexpr size_t kPage = 4096;

class RestorePointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    ASSERT_OK(Store::Create(dir_, "us-east-1", Env::Default()));
    Reopen();
    VolumeOptions o;
    o.size_bytes = 1 << 20;
    ASSERT_OK(store_->CreateVolume("v", o).status());
  }
  StoreOptions Options() {
    StoreOptions o;
    o.env = &clock_;
    o.background_threads = false;
    o.cache_bytes = 32ull << 20;
    return o;
  }
  void Reopen() {
    store_.reset();
    auto s = Store::Open(dir_, Options());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  // Writes `data` at `offset` of `volume` and, with `sync`, makes it durable; returns the time
  // of that sync (the store's clock), one second after the last step.
  uint64_t Write(const std::string& volume, uint64_t offset, const std::string& data,
                 bool sync = true) {
    clock_.Advance(kSecond);
    auto h = store_->OpenVolume(volume);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return 0;
    EXPECT_OK((*h)->Write(offset, data));
    if (sync) EXPECT_OK((*h)->Sync());
    return clock_.NowMicros();
  }
  std::string Read(const std::string& volume, size_t n = 2 * kPage) {
    auto h = store_->OpenVolume(volume);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    std::string out(n, 'X');
    if (h.ok()) EXPECT_OK((*h)->Read(0, n, out.data()));
    return out;
  }
  // The first two pages of `volume` restored as of `t` (into a volume named `as`).
  std::string RestoredAt(const std::string& volume, uint64_t t, const std::string& as) {
    Result<VolumeInfo> r = store_->RestoreVolumeToTime(volume, as, t);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? Read(as) : "";
  }
  static std::string Pages(const std::string& first, const std::string& second) {
    return first + second;
  }

  FakeClockEnv clock_{kStart};
  TempDir tmp_;
  std::string dir_;
  std::unique_ptr<Store> store_;
};

const std::string kZeros(kPage, '\0');

TEST_F(RestorePointsTest, EachDurableSyncIsARestorePoint) {
  const uint64_t created = kStart;
  const uint64_t t1 = Write("v", 0, Pattern(1, kPage));
  const uint64_t t2 = Write("v", kPage, Pattern(2, kPage));
  const uint64_t t3 = Write("v", 0, Pattern(3, kPage));
  Write("v", kPage, Pattern(4, kPage), /*sync=*/false);  // not durable: no point

  Result<RestoreWindow> w = store_->GetRestoreWindow("v");
  ASSERT_OK(w.status());
  EXPECT_EQ(w->earliest_us, created);
  EXPECT_EQ(w->latest_us, t3) << "writes after the last sync are not restorable";

  EXPECT_EQ(RestoredAt("v", created, "r0"), Pages(kZeros, kZeros));
  EXPECT_EQ(RestoredAt("v", t1, "r1"), Pages(Pattern(1, kPage), kZeros));
  EXPECT_EQ(RestoredAt("v", t2 - 1, "r1b"), Pages(Pattern(1, kPage), kZeros));
  EXPECT_EQ(RestoredAt("v", t2, "r2"), Pages(Pattern(1, kPage), Pattern(2, kPage)));
  EXPECT_EQ(RestoredAt("v", t3, "r3"), Pages(Pattern(3, kPage), Pattern(2, kPage)));
  Result<VolumeInfo> latest = store_->RestoreVolumeToTime("v", "latest", std::nullopt);
  ASSERT_OK(latest.status());
  EXPECT_EQ(Read("latest"), Pages(Pattern(3, kPage), Pattern(2, kPage)));
  // The source goes on as it was.
  EXPECT_EQ(Read("v"), Pages(Pattern(3, kPage), Pattern(4, kPage)));

  // A synced volume with nothing written since is restorable up to now.
  auto h = store_->OpenVolume("v");
  ASSERT_OK((*h)->Sync());
  clock_.Advance(10 * kSecond);
  EXPECT_EQ(store_->GetRestoreWindow("v")->latest_us, clock_.NowMicros());
}

TEST_F(RestorePointsTest, TimesOutsideTheWindowAreRefusedAndChangeNothing) {
  const uint64_t t1 = Write("v", 0, Pattern(1, kPage));
  const size_t volumes = store_->ListVolumes().size();
  Result<VolumeInfo> early = store_->RestoreVolumeToTime("v", "early", kStart - 1);
  EXPECT_ERROR_NAME(early, errors::kInvalidRestoreTime);
  EXPECT_NE(early.status().message().find("restore window of volume 'v'"), std::string::npos)
      << early.status().message();
  EXPECT_NE(early.status().message().find(FormatRfc3339(kStart)), std::string::npos);
  EXPECT_ERROR_NAME(store_->RestoreVolumeToTime("v", "late", t1 + 5 * kSecond),
                    errors::kInvalidRestoreTime);
  EXPECT_ERROR_NAME(store_->RestoreVolumeToTime("nope", "x", t1), errors::kVolumeNotFound);
  EXPECT_ERROR_NAME(store_->RestoreVolumeToTime("v", "v", t1), errors::kVolumeAlreadyExists);
  EXPECT_FALSE(store_->RestoreVolumeToTime("v", "bad--name", t1).ok());
  EXPECT_EQ(store_->ListVolumes().size(), volumes);
}

TEST_F(RestorePointsTest, PointsSurviveAReopenAndACrash) {
  const uint64_t t1 = Write("v", 0, Pattern(1, kPage));
  Reopen();  // clean: the points went into MetaDb with the final checkpoint
  const uint64_t t2 = Write("v", 0, Pattern(2, kPage));
  store_.reset();
  // A crash after two more syncs: their points are only in the log.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    StoreOptions o = Options();
    o.checkpoint_entries = 1 << 20;
    auto s = Store::Open(dir_, o);
    if (!s.ok()) _exit(3);
    for (uint64_t seed : {3, 4}) {
      clock_.Advance(kSecond);
      auto h = (*s)->OpenVolume("v");
      if (!h.ok() || !(*h)->Write(0, Pattern(seed, kPage)).ok() || !(*h)->Sync().ok()) _exit(4);
    }
    _exit(0);  // no final checkpoint
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  const uint64_t t3 = t2 + kSecond, t4 = t2 + 2 * kSecond;
  clock_.Advance(2 * kSecond);
  Reopen();
  EXPECT_EQ(RestoredAt("v", t1, "r1").substr(0, kPage), Pattern(1, kPage));
  EXPECT_EQ(RestoredAt("v", t2, "r2").substr(0, kPage), Pattern(2, kPage));
  EXPECT_EQ(RestoredAt("v", t3, "r3").substr(0, kPage), Pattern(3, kPage));
  EXPECT_EQ(RestoredAt("v", t4, "r4").substr(0, kPage), Pattern(4, kPage));
  // The volume's epoch moved past every point: new writes do not change them.
  const uint64_t t5 = Write("v", 0, Pattern(5, kPage));
  EXPECT_EQ(Read("r4").substr(0, kPage), Pattern(4, kPage));
  EXPECT_EQ(RestoredAt("v", t5, "r5").substr(0, kPage), Pattern(5, kPage));
  Reopen();
  EXPECT_EQ(RestoredAt("v", t3, "r3b").substr(0, kPage), Pattern(3, kPage));
}

TEST_F(RestorePointsTest, HistoryLeavesTheWindowAndGcFreesIt) {
  Write("v", 0, Pattern(1, 64 * kPage));
  const uint64_t t2 = Write("v", 0, Pattern(2, 64 * kPage));
  Result<VolumeUsage> u = store_->GetVolumeUsage("v");
  ASSERT_OK(u.status());
  // The first write is read only by the window now.
  EXPECT_GE(u->backup_storage_bytes, 64 * kPage);
  EXPECT_LT(u->backup_storage_bytes, 66 * kPage);

  clock_.Advance(kDay);
  const uint64_t t3 = Write("v", 0, Pattern(3, 64 * kPage));
  const uint64_t live_before = store_->GetUsage().live_bytes;
  Result<RestoreWindow> w = store_->GetRestoreWindow("v");
  ASSERT_OK(w.status());
  EXPECT_EQ(w->earliest_us, t3 - kDay);
  EXPECT_ERROR_NAME(store_->RestoreVolumeToTime("v", "gone", t2 - kSecond),
                    errors::kInvalidRestoreTime);
  // The start of the window still shows the image then (the point of t2).
  EXPECT_EQ(RestoredAt("v", w->earliest_us, "start"), Pattern(2, 2 * kPage));
  ASSERT_OK(store_->DeleteVolume("start"));
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_LT(store_->GetUsage().live_bytes, live_before) << "the first write left the window";
  u = store_->GetVolumeUsage("v");
  EXPECT_GE(u->backup_storage_bytes, 64 * kPage);  // the second one, until t3 + 1 day
  EXPECT_LT(u->backup_storage_bytes, 66 * kPage);

  // A longer retention does not bring back what went: the window starts at the oldest point
  // kept, the one that showed the image at its start.
  ASSERT_OK(store_->SetBackupPolicy("v", BackupPolicy{3, store_->GetVolume("v")->backup.window})
                .status());
  EXPECT_EQ(store_->GetRestoreWindow("v")->earliest_us, t2);
  EXPECT_ERROR_NAME(store_->RestoreVolumeToTime("v", "gone", t2 - 1), errors::kInvalidRestoreTime);
}

TEST_F(RestorePointsTest, AClonesWindowStartsWhenItWasMade) {
  const uint64_t t1 = Write("v", 0, Pattern(1, kPage));
  clock_.Advance(kSecond);
  ASSERT_OK(store_->CloneVolume("v", "c").status());
  const uint64_t made = clock_.NowMicros();
  const uint64_t t2 = Write("c", kPage, Pattern(2, kPage));
  Write("v", 0, Pattern(3, kPage));
  Result<VolumeInfo> before = store_->RestoreVolumeToTime("c", "early", t1);
  EXPECT_ERROR_NAME(before, errors::kInvalidRestoreTime);
  EXPECT_NE(before.status().message().find("clone's window starts when it was created"),
            std::string::npos)
      << before.status().message();
  EXPECT_EQ(store_->GetRestoreWindow("c")->earliest_us, made);
  EXPECT_EQ(RestoredAt("c", made, "c0"), Pages(Pattern(1, kPage), kZeros));
  EXPECT_EQ(RestoredAt("c", t2, "c2"), Pages(Pattern(1, kPage), Pattern(2, kPage)));
  // The source, with clones (and restores of them) around, restores to before the clone.
  EXPECT_EQ(RestoredAt("v", t1, "v1"), Pages(Pattern(1, kPage), kZeros));
  // A restore of a restore, to a time before the first restore was made.
  const uint64_t t4 = Write("v1", kPage, Pattern(4, kPage));
  EXPECT_EQ(RestoredAt("v1", t4, "v1b"), Pages(Pattern(1, kPage), Pattern(4, kPage)));
  EXPECT_EQ(RestoredAt("v", kStart, "v0"), Pages(kZeros, kZeros));
  // A clone whose source is gone still restores (it reads the source's pages it kept).
  ASSERT_OK(store_->DeleteVolume("v"));
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_EQ(RestoredAt("c", t2, "c2b"), Pages(Pattern(1, kPage), Pattern(2, kPage)));
  EXPECT_EQ(RestoredAt("c", made, "c0b"), Pages(Pattern(1, kPage), kZeros));
}

TEST_F(RestorePointsTest, ALowerRetentionShortensTheWindowAtOnce) {
  ASSERT_OK(store_->SetBackupPolicy("v", BackupPolicy{3, store_->GetVolume("v")->backup.window})
                .status());
  const uint64_t t1 = Write("v", 0, Pattern(1, 64 * kPage));
  clock_.Advance(kDay);
  Write("v", 0, Pattern(2, 64 * kPage));
  clock_.Advance(kDay);
  const uint64_t t3 = Write("v", 0, Pattern(3, 64 * kPage));
  EXPECT_EQ(RestoredAt("v", t1, "old").substr(0, kPage), Pattern(1, kPage));
  ASSERT_OK(store_->DeleteVolume("old"));
  EXPECT_GE(store_->GetVolumeUsage("v")->backup_storage_bytes, 128 * kPage);  // 1 and 2
  ASSERT_OK(store_->SetBackupPolicy("v", BackupPolicy{1, store_->GetVolume("v")->backup.window})
                .status());
  Result<RestoreWindow> w = store_->GetRestoreWindow("v");
  ASSERT_OK(w.status());
  EXPECT_EQ(w->earliest_us, clock_.NowMicros() - kDay);
  EXPECT_ERROR_NAME(store_->RestoreVolumeToTime("v", "old", t1), errors::kInvalidRestoreTime);
  const uint64_t live = store_->GetUsage().live_bytes;
  ASSERT_OK(store_->CollectGarbage());  // what the daemon's GC thread runs at once
  EXPECT_LT(store_->GetUsage().live_bytes, live);
  // The second write is what the window's start shows: it stays, the first went.
  const uint64_t backup = store_->GetVolumeUsage("v")->backup_storage_bytes;
  EXPECT_GE(backup, 64 * kPage);
  EXPECT_LT(backup, 66 * kPage);
  EXPECT_EQ(RestoredAt("v", w->earliest_us, "start").substr(0, kPage), Pattern(2, kPage));
  EXPECT_EQ(RestoredAt("v", t3, "new").substr(0, kPage), Pattern(3, kPage));
}

TEST_F(RestorePointsTest, ADeletedVolumeKeepsItsWindowOnlyWithRetainedBackups) {
  const uint64_t t1 = Write("v", 0, Pattern(1, kPage));
  ASSERT_OK(store_->CreateAutomatedSnapshot("v", "auto:v-2027-01-15-08-00").status());
  Write("v", 0, Pattern(2, kPage));
  ASSERT_OK(store_->DeleteVolume("v"));  // its automated snapshot stays: retained
  Result<RestoreWindow> w = store_->GetRestoreWindow("v");
  ASSERT_OK(w.status());
  clock_.Advance(kSecond);
  EXPECT_LT(w->latest_us, clock_.NowMicros()) << "a deleted volume's window ends";
  EXPECT_EQ(RestoredAt("v", t1, "back").substr(0, kPage), Pattern(1, kPage));
  Reopen();
  EXPECT_OK(store_->GetRestoreWindow("v").status());

  VolumeOptions o;
  o.size_bytes = 1 << 20;
  ASSERT_OK(store_->CreateVolume("w", o).status());
  const uint64_t w1 = Write("w", 0, Pattern(1, kPage));
  ASSERT_OK(store_->CloneVolume("w", "w-clone").status());
  ASSERT_OK(store_->DeleteVolume("w"));  // hidden for its clone, but no backups retained
  EXPECT_ERROR_NAME(store_->RestoreVolumeToTime("w", "w-back", w1), errors::kVolumeNotFound);
  // The window goes with the last retained backup, though the volume stays, hidden, for the
  // volume restored from it.
  ASSERT_OK(store_->DeleteSnapshot("auto:v-2027-01-15-08-00"));
  EXPECT_ERROR_NAME(store_->GetRestoreWindow("v"), errors::kVolumeNotFound);
  EXPECT_EQ(Read("back").substr(0, kPage), Pattern(1, kPage));
}

TEST_F(RestorePointsTest, AVersion3StoreIsUpgradedWhenOpened) {
  store_.reset();
  const std::string format_file = dir_ + "/FORMAT";
  auto text = ReadFileToString(Env::Default(), format_file);
  ASSERT_OK(text.status());
  const std::string v4 = "\"format_version\": 4";
  const size_t at = text->find(v4);
  ASSERT_NE(at, std::string::npos) << *text;
  std::string v3 = *text;
  v3.replace(at, v4.size(), "\"format_version\": 3");
  ASSERT_OK(WriteFileAtomically(Env::Default(), format_file, v3));
  Reopen();
  EXPECT_EQ(store_->info().format_version, 4u);
  EXPECT_NE(ReadFileToString(Env::Default(), format_file)->find(v4), std::string::npos);
  // A version it cannot read is refused, and left as it is.
  store_.reset();
  std::string v2 = *text;
  v2.replace(at, v4.size(), "\"format_version\": 2");
  ASSERT_OK(WriteFileAtomically(Env::Default(), format_file, v2));
  EXPECT_EQ(Store::Open(dir_, Options()).status().code(), Status::Code::kNotSupported);
  EXPECT_EQ(*ReadFileToString(Env::Default(), format_file), v2);
}

TEST_F(RestorePointsTest, OffMakesNoPoints) {
  store_.reset();
  StoreOptions o = Options();
  o.restore_points = false;
  auto s = Store::Open(dir_, o);
  ASSERT_OK(s.status());
  store_ = std::move(s).value();
  Write("v", 0, Pattern(1, kPage));
  Write("v", 0, Pattern(2, kPage));
  // The window ends where the last point was made: the volume's creation.
  EXPECT_EQ(store_->GetRestoreWindow("v")->latest_us, kStart);
  EXPECT_EQ(store_->GetVolumeUsage("v")->backup_storage_bytes, 0u);
}

}  // namespace
}  // namespace clonefs::store
