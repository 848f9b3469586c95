// Automated backups of a volume (Aurora's BackupRetentionPeriod and PreferredBackupWindow):
// how many days its automated snapshots are kept, and the daily UTC window in which the daemon
// takes one. Plain values and their text forms; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/status.h"

namespace clonefs::store {

inline constexpr uint32_t kDefaultBackupRetentionDays = 1;  // Aurora's default
inline constexpr uint32_t kMaxBackupRetentionDays = 35;
inline constexpr uint32_t kMinBackupWindowMinutes = 30;
inline constexpr uint32_t kMinutesPerDay = 24 * 60;

// A daily window in minutes of the UTC day. It may cross midnight (end < start): 23:45-00:15.
struct BackupWindow {
  uint32_t start_minute = 0;
  uint32_t end_minute = kMinBackupWindowMinutes;
  bool operator==(const BackupWindow&) const = default;
  uint32_t minutes() const { return (end_minute + kMinutesPerDay - start_minute) % kMinutesPerDay; }
};

struct BackupPolicy {
  uint32_t retention_days = kDefaultBackupRetentionDays;
  BackupWindow window;
  bool operator==(const BackupPolicy&) const = default;
};

// InvalidArgument unless 1 <= days <= 35.
Status ValidateBackupRetention(uint64_t days);
// "hh24:mi-hh24:mi" (UTC, at least 30 minutes long), else InvalidArgument saying why.
Result<BackupWindow> ParseBackupWindow(std::string_view text);
std::string FormatBackupWindow(const BackupWindow& w);  // "03:15-03:45"

// The window a volume gets when none is asked for: 30 minutes starting in the 8-hour block
// 03:00-11:00 UTC (Aurora picks one at random from a block per region), derived from the
// volume's id so that it is spread over the block and stays the same across restarts.
BackupWindow DefaultBackupWindow(uint64_t volume_id);

// Automated snapshots are named "auto:VOLUME-YYYY-MM-DD-HH-MM" (UTC): the prefix holds a ':',
// which no typed name may, so no manual snapshot can take such a name.
inline constexpr std::string_view kAutomatedSnapshotPrefix = "auto:";
std::string AutomatedSnapshotName(std::string_view volume, uint64_t time_us);
bool IsAutomatedSnapshotName(std::string_view typed);
// A typed snapshot name: a manual one (ValidateName) or an automated one.
Status ValidateSnapshotName(std::string_view typed);

// Times of point-in-time restore, in RFC 3339 (UTC): "2026-12-07T14:05:09.123456Z" (the
// fraction only as long as needed). Parse takes a date, 'T' or ' ', a time with an optional
// fraction of up to 9 digits (kept to the microsecond), and 'Z' or a +hh:mm / -hh:mm offset.
std::string FormatRfc3339(uint64_t time_us);
Result<uint64_t> ParseRfc3339(std::string_view text);

}  // namespace clonefs::store
