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

std::string FormatRfc3339(uint64_t time_us) {
  const auto secs = static_cast<std::time_t>(time_us / 1000000);
  unsigned frac = static_cast<unsigned>(time_us % 1000000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    char digits[16];
    std::snprintf(digits, sizeof(digits), ".%06u", frac);
    std::string f = digits;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

Result<uint64_t> ParseRfc3339(std::string_view text) {
  const auto bad = [&] {
    std::string m = "'";
    m += text;
    m += "' is not an RFC 3339 time (like 2026-12-07T14:05:09Z)";
    return Status::InvalidArgument(m);
  };
  size_t i = 0;
  const auto number = [&](size_t digits, int* out) {
    if (i + digits > text.size()) return false;
    int v = 0;
    for (size_t k = 0; k < digits; ++k) {
      const char c = text[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += digits;
    *out = v;
    return true;
  };
  const auto expect = [&](std::string_view chars) {
    if (i >= text.size() || chars.find(text[i]) == std::string_view::npos) return false;
    ++i;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!number(4, &year) || !expect("-") || !number(2, &month) || !expect("-") || !number(2, &day) ||
      !expect("Tt ") || !number(2, &hour) || !expect(":") || !number(2, &minute) || !expect(":") ||
      !number(2, &second)) {
    return bad();
  }
  uint64_t micros = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t digits = 0;
    uint64_t scale = 100000;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (digits < 6) micros += static_cast<uint64_t>(text[i] - '0') * scale;
      scale /= 10;
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 9) return bad();
  }
  int64_t offset_s = 0;
  if (expect("Zz")) {
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    const int sign = text[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!number(2, &oh) || !expect(":") || !number(2, &om) || oh > 23 || om > 59) return bad();
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return bad();
  }
  if (i != text.size() || year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 ||
      minute > 59 || second > 60) {
    return bad();
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return bad();
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t secs = static_cast<int64_t>(::timegm(&tm)) - offset_s;
  if (secs < 0) return bad();
  return static_cast<uint64_t>(secs) * 1000000 + micros;
}

}  // namespace clonefs::store
