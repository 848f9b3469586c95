#include "store/backup_policy.h"

#include <cstdio>
#include <ctime>

#include "store/types.h"

namespace clonefs::store {

Status ValidateBackupRetention(uint64_t days) {
  if (days >= 1 && days <= kMaxBackupRetentionDays) return Status::OK();
  return Status::InvalidArgument("backup retention period " + std::to_string(days) +
                                 " must be from 1 to 35 days");
}

namespace {

// "hh24:mi" -> minute of the day.
Result<uint32_t> ParseClock(std::string_view t, std::string_view whole) {
  auto digit = [&](size_t i) { return t[i] >= '0' && t[i] <= '9'; };
  if (t.size() != 5 || t[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    return Status::InvalidArgument("backup window '" + std::string(whole) +
                                   "' must be hh24:mi-hh24:mi in UTC, such as 03:00-03:30");
  }
  const uint32_t h = (t[0] - '0') * 10 + (t[1] - '0');
  const uint32_t m = (t[3] - '0') * 10 + (t[4] - '0');
  if (h > 23 || m > 59) {
    return Status::InvalidArgument("backup window '" + std::string(whole) + "': " + std::string(t) +
                                   " is not a time of day");
  }
  return h * 60 + m;
}

std::string Clock(uint32_t minute) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%02u:%02u", (minute / 60) % 100, minute % 60);
  return buf;
}

}  // namespace

Result<BackupWindow> ParseBackupWindow(std::string_view text) {
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    return Status::InvalidArgument("backup window '" + std::string(text) +
                                   "' must be hh24:mi-hh24:mi in UTC, such as 03:00-03:30");
  }
  BackupWindow w;
  CLONEFS_ASSIGN_OR_RETURN(w.start_minute, ParseClock(text.substr(0, dash), text));
  CLONEFS_ASSIGN_OR_RETURN(w.end_minute, ParseClock(text.substr(dash + 1), text));
  if (w.minutes() < kMinBackupWindowMinutes) {
    return Status::InvalidArgument("backup window '" + std::string(text) + "' is " +
                                   std::to_string(w.minutes()) +
                                   " minutes long; it must be at least 30");
  }
  return w;
}

std::string FormatBackupWindow(const BackupWindow& w) {
  return Clock(w.start_minute) + "-" + Clock(w.end_minute);
}

BackupWindow DefaultBackupWindow(uint64_t volume_id) {
  // splitmix64's finaliser: consecutive ids land far apart in the block.
  uint64_t z = volume_id + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  constexpr uint32_t kBlockStart = 3 * 60;
  constexpr uint32_t kBlockMinutes = 8 * 60;
  const auto start =
      kBlockStart + static_cast<uint32_t>(z % (kBlockMinutes - kMinBackupWindowMinutes + 1));
  return BackupWindow{start, start + kMinBackupWindowMinutes};
}

std::string AutomatedSnapshotName(std::string_view volume, uint64_t time_us) {
  const auto secs = static_cast<time_t>(time_us / 1000000);
  struct tm t {};
  gmtime_r(&secs, &t);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "-%04d-%02d-%02d-%02d-%02d", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min);
  std::string name(kAutomatedSnapshotPrefix);
  name += volume;
  name += stamp;
  return name;
}

bool IsAutomatedSnapshotName(std::string_view typed) {
  constexpr std::string_view kStamp = "-YYYY-MM-DD-HH-MM";
  if (typed.substr(0, kAutomatedSnapshotPrefix.size()) != kAutomatedSnapshotPrefix) return false;
  std::string_view rest = typed.substr(kAutomatedSnapshotPrefix.size());
  if (rest.size() <= kStamp.size()) return false;
  const std::string_view stamp = rest.substr(rest.size() - kStamp.size());
  for (size_t i = 0; i < kStamp.size(); ++i) {
    const bool digit = stamp[i] >= '0' && stamp[i] <= '9';
    if (kStamp[i] == '-' ? stamp[i] != '-' : !digit) return false;
  }
  // The volume's name is a typed name of up to 63 characters, so this one may be longer.
  return ValidateName(rest.substr(0, rest.size() - kStamp.size()), "volume").ok();
}

Status ValidateSnapshotName(std::string_view typed) {
  if (IsAutomatedSnapshotName(typed)) return Status::OK();
  return ValidateName(typed, "snapshot");
}

}  // namespace clonefs::store
