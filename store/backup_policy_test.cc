// Backup policy values: Aurora's limits on retention and windows, and automated snapshot names.
#include "store/backup_policy.h"

#include <gtest/gtest.h>

#include <set>

#include "store/types.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

TEST(BackupPolicy, RetentionIsOneToThirtyFiveDays) {
  EXPECT_FALSE(ValidateBackupRetention(0).ok());
  EXPECT_OK(ValidateBackupRetention(1));
  EXPECT_OK(ValidateBackupRetention(35));
  Status s = ValidateBackupRetention(36);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("1 to 35"), std::string::npos) << s.message();
}

TEST(BackupPolicy, WindowsParseAndPrint) {
  Result<BackupWindow> w = ParseBackupWindow("03:15-03:45");
  ASSERT_OK(w.status());
  EXPECT_EQ(w->start_minute, 3u * 60 + 15);
  EXPECT_EQ(w->minutes(), 30u);
  EXPECT_EQ(FormatBackupWindow(*w), "03:15-03:45");
  Result<BackupWindow> midnight = ParseBackupWindow("23:45-00:30");
  ASSERT_OK(midnight.status());
  EXPECT_EQ(midnight->minutes(), 45u);
}

TEST(BackupPolicy, BadWindowsSayWhy) {
  for (const char* bad : {"", "03:00", "3:00-3:30", "03:00-03:29", "24:00-00:30", "03:60-04:30",
                          "03:00-03:00", "0a:00-03:30", "03:00--03:30"}) {
    Result<BackupWindow> w = ParseBackupWindow(bad);
    EXPECT_EQ(w.status().code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseBackupWindow("03:00-03:10").status().message().find("at least 30"),
            std::string::npos);
}

TEST(BackupPolicy, DefaultWindowsAreThirtyMinutesInTheBlockAndSpread) {
  std::set<uint32_t> starts;
  for (uint64_t id = 1; id <= 200; ++id) {
    const BackupWindow w = DefaultBackupWindow(id);
    EXPECT_EQ(w.minutes(), 30u);
    EXPECT_GE(w.start_minute, 3u * 60);
    EXPECT_LE(w.end_minute, 11u * 60);
    EXPECT_EQ(DefaultBackupWindow(id), w);  // stable
    starts.insert(w.start_minute);
  }
  EXPECT_GT(starts.size(), 100u);
}

TEST(BackupPolicy, AutomatedNamesAreUtcStampedAndNoManualNameCanTakeThem) {
  // 2026-12-07 03:14:59 UTC.
  const uint64_t t = uint64_t{1796613299} * 1000000;
  const std::string name = AutomatedSnapshotName("db1", t);
  EXPECT_EQ(name, "auto:db1-2026-12-07-03-14");
  EXPECT_TRUE(IsAutomatedSnapshotName(name));
  EXPECT_OK(ValidateSnapshotName(name));
  EXPECT_FALSE(ValidateName(name, "snapshot").ok());
  const std::string longest = AutomatedSnapshotName(std::string(63, 'a'), t);
  EXPECT_TRUE(IsAutomatedSnapshotName(longest));
  for (const char* bad :
       {"auto:", "auto:db1", "auto:db1-2026-12-07-03-1x", "auto:-2026-12-07-03-14",
        "auto:1db-2026-12-07-03-14", "manual:db1-2026-12-07-03-14"}) {
    EXPECT_FALSE(IsAutomatedSnapshotName(bad)) << bad;
    EXPECT_FALSE(ValidateSnapshotName(bad).ok()) << bad;
  }
  EXPECT_OK(ValidateAutomatedSnapshotStoreName("123456789012.auto:db1-2026-12-07-03-14"));
  EXPECT_FALSE(ValidateAutomatedSnapshotStoreName("123456789012.db1").ok());
  EXPECT_EQ(AccountOfStoreName("123456789012.auto:db1-2026-12-07-03-14"), "123456789012");
  EXPECT_EQ(AccountOfStoreName("auto:db1-2026-12-07-03-14"), "");
  EXPECT_EQ(AccountOfStoreName("import:123456789012.x"), "123456789012");
}

}  // namespace
}  // namespace clonefs::store
