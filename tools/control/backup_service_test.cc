// Automated backups: the schedule (windows, catch-up, retention, retained backups) run on a
// fake clock, and the commands that set policies, delete volumes and list snapshots by type.
#include "tools/control/backup_service.h"

#include <gtest/gtest.h>

#include "tests/testing/fake_clock_env.h"
#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using ::clonefs::testing::FakeClockEnv;
using nlohmann::json;

constexpr uint64_t kMinute = uint64_t{60} * 1000 * 1000;
constexpr uint64_t kHour = 60 * kMinute;
constexpr uint64_t kDay = 24 * kHour;
constexpr uint64_t kDec7 = uint64_t{1796601600} * 1000 * 1000;  // 2026-12-07 00:00 UTC

store::BackupWindow Window(const char* text) { return *store::ParseBackupWindow(text); }

TEST(BackupSchedule, LatestWindowStartIsTodaysOnceItBeganElseYesterdays) {
  const store::BackupWindow w = Window("03:00-03:30");
  EXPECT_EQ(LatestWindowStart(w, kDec7 + 3 * kHour), kDec7 + 3 * kHour);
  EXPECT_EQ(LatestWindowStart(w, kDec7 + 3 * kHour - 1), kDec7 - kDay + 3 * kHour);
  EXPECT_EQ(LatestWindowStart(w, kDec7 + 23 * kHour), kDec7 + 3 * kHour);
  // Across midnight: the window that began at 23:45 yesterday is still the latest at 00:10.
  const store::BackupWindow late = Window("23:45-00:15");
  EXPECT_EQ(LatestWindowStart(late, kDec7 + 10 * kMinute), kDec7 - 15 * kMinute);
}

TEST(BackupSchedule, AVolumeIsOwedTheWindowsThatBeganAfterItWasCreated) {
  store::VolumeInfo v;
  v.backup.window = Window("03:00-03:30");
  v.create_time_us = kDec7 + 3 * kHour + kMinute;  // created inside today's window
  EXPECT_FALSE(BackupDue(v, 0, kDec7 + 3 * kHour + 2 * kMinute));
  EXPECT_TRUE(BackupDue(v, 0, kDec7 + kDay + 3 * kHour));
  EXPECT_FALSE(BackupDue(v, kDec7 + kDay + 3 * kHour, kDec7 + kDay + 4 * kHour));
  v.create_time_us = kDec7;
  EXPECT_TRUE(BackupDue(v, 0, kDec7 + 3 * kHour));
  // Missed windows are made up once, not once per day missed.
  EXPECT_TRUE(BackupDue(v, 0, kDec7 + 5 * kDay));
}

// A store on a fake clock starting 2026-12-07 00:00 UTC, with a service that runs on request.
class BackupServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    ASSERT_OK(store::Store::Create(dir_, "us-east-1", &clock_));
    store::StoreOptions o;
    o.env = &clock_;
    o.background_threads = false;
    o.cache_bytes = 32ull << 20;
    Result<std::unique_ptr<store::Store>> s = store::Store::Open(dir_, o);
    ASSERT_OK(s.status());
    store_ = std::move(s).value();
    BackupServiceOptions bo;
    bo.background = false;
    service_ = std::make_unique<BackupService>(store_.get(), &clock_, bo);
  }
  void Create(const std::string& name, uint32_t days, const char* window) {
    store::VolumeOptions o;
    o.size_bytes = 1 << 20;
    o.backup_retention_days = days;
    o.backup_window = Window(window);
    ASSERT_OK(store_->CreateVolume(name, o).status());
  }
  // The names of the automated snapshots, sorted.
  std::vector<std::string> Automated() {
    std::vector<std::string> out;
    for (const store::SnapshotInfo& s : store_->ListSnapshots()) {
      if (s.type == store::SnapshotType::kAutomated) out.push_back(s.name);
    }
    return out;
  }
  void At(uint64_t t) { clock_.Advance(t - clock_.NowMicros()); }

  ::clonefs::testing::TempDir tmp_;
  FakeClockEnv clock_{kDec7};
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<BackupService> service_;
};

TEST_F(BackupServiceTest, OneSnapshotADayInTheWindowKeptForTheRetentionPeriod) {
  Create("db", 2, "03:00-03:30");
  At(kDec7 + 2 * kHour + 59 * kMinute);
  EXPECT_EQ(service_->RunOnce().taken, 0u);
  At(kDec7 + 3 * kHour + kMinute);
  EXPECT_EQ(service_->RunOnce().taken, 1u);
  EXPECT_EQ(service_->RunOnce().taken, 0u);  // once a day
  EXPECT_EQ(Automated(), std::vector<std::string>{"auto:db-2026-12-07-03-01"});
  Result<store::SnapshotInfo> s = store_->GetSnapshot("auto:db-2026-12-07-03-01");
  ASSERT_OK(s.status());
  EXPECT_EQ(s->create_time_us, kDec7 + 3 * kHour + kMinute);
  At(kDec7 + kDay + 3 * kHour + 5 * kMinute);
  EXPECT_EQ(service_->RunOnce().taken, 1u);
  // Two days after the first: it goes, as the third is taken.
  At(kDec7 + 2 * kDay + 3 * kHour + kMinute);
  BackupPass pass = service_->RunOnce();
  EXPECT_EQ(pass.taken, 1u);
  EXPECT_EQ(pass.expired, 1u);
  EXPECT_EQ(Automated(),
            (std::vector<std::string>{"auto:db-2026-12-08-03-05", "auto:db-2026-12-09-03-01"}));
}

TEST_F(BackupServiceTest, AMissedWindowIsMadeUpOnceAndALowerRetentionFreesAtOnce) {
  Create("db", 7, "03:00-03:30");
  At(kDec7 + 3 * kHour + 10 * kMinute);
  EXPECT_EQ(service_->RunOnce().taken, 1u);
  At(kDec7 + 4 * kDay + 12 * kHour);  // the daemon was down for three windows
  EXPECT_EQ(service_->RunOnce().taken, 1u);
  EXPECT_EQ(service_->RunOnce().taken, 0u);
  EXPECT_EQ(Automated().size(), 2u);
  store::BackupPolicy p = store_->GetVolume("db")->backup;
  p.retention_days = 1;
  ASSERT_OK(store_->SetBackupPolicy("db", p).status());
  EXPECT_EQ(service_->RunOnce().expired, 1u);
  EXPECT_EQ(Automated(), std::vector<std::string>{"auto:db-2026-12-11-12-00"});
}

TEST_F(BackupServiceTest, BackupsOfADeletedVolumeExpireWithTheRetentionTheyWereTakenWith) {
  Create("db", 3, "03:00-03:30");
  At(kDec7 + 3 * kHour);
  EXPECT_EQ(service_->RunOnce().taken, 1u);
  ASSERT_OK(store_->DeleteVolume("db"));  // kept hidden while the snapshot reads it
  At(kDec7 + 3 * kDay + 3 * kHour - 1);
  EXPECT_EQ(service_->RunOnce().expired, 0u);
  EXPECT_EQ(Automated().size(), 1u);
  At(kDec7 + 3 * kDay + 3 * kHour);
  BackupPass pass = service_->RunOnce();
  EXPECT_EQ(pass.expired, 1u);
  EXPECT_EQ(pass.taken, 0u);
  EXPECT_TRUE(Automated().empty());
}

TEST_F(BackupServiceTest, AccountsGetTheirOwnNamesAndAnOpenSnapshotWaits) {
  Create("111111111111.db", 1, "03:00-03:30");
  At(kDec7 + 3 * kHour);
  EXPECT_EQ(service_->RunOnce().taken, 1u);
  const std::string name = "111111111111.auto:db-2026-12-07-03-00";
  EXPECT_EQ(Automated(), std::vector<std::string>{name});
  Result<std::shared_ptr<store::VolumeHandle>> open = store_->OpenSnapshot(name);
  ASSERT_OK(open.status());
  At(kDec7 + kDay + 3 * kHour + 30 * kMinute);
  BackupPass pass = service_->RunOnce();
  EXPECT_EQ(pass.taken, 1u);
  EXPECT_EQ(pass.failed, 1u);  // past its retention, but in use: it waits
  EXPECT_EQ(Automated().size(), 2u);
  open->reset();
  EXPECT_EQ(service_->RunOnce().expired, 1u);
}

// The commands, through the dispatcher (no daemon: automated snapshots made by hand).
class BackupCommands : public testing::DispatcherTest {};

TEST_F(BackupCommands, PoliciesAtCreateAndModifyAndBadOnesChangeNothing) {
  json v = Ok("volume.create", {{"name", "db"},
                                {"size", "1M"},
                                {"backup_retention_period", 7},
                                {"preferred_backup_window", "23:45-00:30"}});
  EXPECT_EQ(v["BackupRetentionPeriod"], 7);
  EXPECT_EQ(v["PreferredBackupWindow"], "23:45-00:30");
  json plain = Ok("volume.create", {{"name", "plain"}, {"size", "1M"}});
  EXPECT_EQ(plain["BackupRetentionPeriod"], 1);
  EXPECT_EQ(plain["PreferredBackupWindow"].get<std::string>().size(), 11u);
  for (const json& bad :
       {json{{"backup_retention_period", 0}}, json{{"backup_retention_period", 36}},
        json{{"preferred_backup_window", "03:00-03:10"}},
        json{{"preferred_backup_window", "3am"}}}) {
    json args = bad;
    args["name"] = "other";
    args["size"] = "1M";
    EXPECT_EQ(Err("volume.create", args), "InvalidParameterValue") << bad.dump();
    json mod = bad;
    mod["name"] = "db";
    EXPECT_EQ(Err("volume.modify", mod), "InvalidParameterValue") << bad.dump();
  }
  EXPECT_EQ(Err("volume.show", {{"name", "other"}}), "VolumeNotFound");
  json m = Ok("volume.modify", {{"name", "db"}, {"backup_retention_period", 35}});
  EXPECT_EQ(m["BackupRetentionPeriod"], 35);
  EXPECT_EQ(m["PreferredBackupWindow"], "23:45-00:30");  // untouched
  m = Ok("volume.modify", {{"name", "db"}, {"preferred_backup_window", "04:00-05:00"}});
  EXPECT_EQ(m["BackupRetentionPeriod"], 35);
  EXPECT_EQ(m["PreferredBackupWindow"], "04:00-05:00");
  EXPECT_EQ(Err("volume.modify", {{"name", "db"}}), "InvalidParameterCombination");
  // A refused rename changes no policy either.
  EXPECT_EQ(
      Err("volume.modify", {{"name", "db"}, {"new_name", "plain"}, {"backup_retention_period", 2}}),
      "VolumeAlreadyExists");
  EXPECT_EQ(Ok("volume.show", {{"name", "db"}})["BackupRetentionPeriod"], 35);
}

TEST_F(BackupCommands, AutomatedSnapshotsAreListedByTypeAndKeptFromUsers) {
  Ok("volume.create", {{"name", "db"}, {"size", "1M"}});
  Ok("snapshot.create", {{"volume", "db"}, {"name", "mine"}});
  const std::string automated = "auto:db-2026-12-07-03-14";
  ASSERT_OK(store_->CreateAutomatedSnapshot("db", automated).status());
  json s = Ok("snapshot.show", {{"name", automated}});
  EXPECT_EQ(s["SnapshotType"], "automated");
  EXPECT_EQ(s["SnapshotArn"],
            "arn:clonefs:us-east-1:" + store_->info().account_id + ":snapshot:" + automated);
  EXPECT_EQ(Ok("snapshot.show", {{"name", s["SnapshotArn"]}})["SnapshotIdentifier"], automated);
  json only = Ok("snapshot.list", {{"snapshot_type", "automated"}})["Snapshots"];
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0]["SnapshotIdentifier"], automated);
  json manual = Ok("snapshot.list", {{"snapshot_type", "manual"}})["Snapshots"];
  ASSERT_EQ(manual.size(), 1u);
  EXPECT_EQ(manual[0]["SnapshotIdentifier"], "mine");
  EXPECT_EQ(Ok("snapshot.list")["Snapshots"].size(), 2u);
  EXPECT_EQ(Err("snapshot.list", {{"snapshot_type", "weekly"}}), "InvalidParameterValue");
  // Nobody names a manual snapshot like an automated one, deletes one or shares one.
  EXPECT_EQ(Err("snapshot.create", {{"volume", "db"}, {"name", "auto:db-2026-12-07-03-15"}}),
            "InvalidParameterValue");
  EXPECT_EQ(Err("snapshot.delete", {{"name", automated}}), "InvalidSnapshotState");
  EXPECT_EQ(Err("snapshot.attribute.modify",
                {{"name", automated}, {"attribute", "restore"}, {"add", {"210987654321"}}}),
            "InvalidSnapshotState");
  // It restores like any snapshot.
  EXPECT_EQ(Ok("volume.restore", {{"snapshot", automated}, {"name", "back"}})["SizeBytes"],
            1 << 20);
}

TEST_F(BackupCommands, DeleteTakesAFinalSnapshotAndTakesOrKeepsTheAutomatedOnes) {
  Ok("volume.create", {{"name", "a"}, {"size", "1M"}});
  Ok("volume.create", {{"name", "b"}, {"size", "1M"}});
  ASSERT_OK(store_->CreateAutomatedSnapshot("a", "auto:a-2026-12-07-03-00").status());
  ASSERT_OK(store_->CreateAutomatedSnapshot("b", "auto:b-2026-12-07-03-00").status());
  Ok("snapshot.create", {{"volume", "a"}, {"name", "taken"}});
  // A final snapshot whose name is taken: nothing happens.
  EXPECT_EQ(Err("volume.delete", {{"name", "a"}, {"final_snapshot", "taken"}}),
            "SnapshotAlreadyExists");
  EXPECT_EQ(Ok("volume.show", {{"name", "a"}})["Status"], "available");
  // In use: refused, and the final snapshot it took is gone again.
  {
    Result<std::shared_ptr<store::VolumeHandle>> h = store_->OpenVolume("a");
    ASSERT_OK(h.status());
    EXPECT_EQ(Err("volume.delete", {{"name", "a"}, {"final_snapshot", "last"}}),
              "InvalidVolumeState");
    EXPECT_EQ(Err("snapshot.show", {{"name", "last"}}), "SnapshotNotFound");
  }
  json gone = Ok("volume.delete", {{"name", "a"}, {"final_snapshot", "last"}});
  EXPECT_EQ(gone["Status"], "deleted");
  EXPECT_EQ(Ok("snapshot.show", {{"name", "last"}})["SnapshotType"], "manual");
  EXPECT_EQ(Err("snapshot.show", {{"name", "auto:a-2026-12-07-03-00"}}), "SnapshotNotFound");
  // Retained: listed still, and now its owner may delete it.
  Ok("volume.delete", {{"name", "b"}, {"retain_automated_backups", true}});
  json kept = Ok("snapshot.show", {{"name", "auto:b-2026-12-07-03-00"}});
  EXPECT_EQ(kept["VolumeIdentifier"], "b");
  EXPECT_EQ(Ok("snapshot.delete", {{"name", "auto:b-2026-12-07-03-00"}})["Status"], "deleted");
}

}  // namespace
}  // namespace clonefs::control
