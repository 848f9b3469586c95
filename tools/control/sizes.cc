#include "tools/control/sizes.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <limits>

namespace clonefs::control {
namespace {

struct Unit {
  std::string_view short_name;  // "k"
  std::string_view long_name;   // "kib"
  int shift;
};
constexpr std::array<Unit, 6> kUnits = {{{"b", "b", 0},
                                         {"k", "kib", 10},
                                         {"m", "mib", 20},
                                         {"g", "gib", 30},
                                         {"t", "tib", 40},
                                         {"p", "pib", 50}}};

std::string Lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Status Invalid(std::string_view what, std::string_view text, std::string_view why) {
  return Status::InvalidArgument("invalid " + std::string(what) + " '" + std::string(text) +
                                 "': " + std::string(why));
}

// The shift for a unit suffix, or -1.
int UnitShift(std::string_view suffix) {
  std::string s = Lower(suffix);
  if (s.empty()) return 0;
  for (const Unit& u : kUnits) {
    if (s == u.short_name || s == u.long_name) return u.shift;
  }
  return -1;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text, std::string_view what) {
  std::string_view s = Trim(text);
  if (s.empty()) return Invalid(what, text, "empty; expected a size such as 10G or 512MiB");
  if (s.front() == '-') return Invalid(what, text, "must not be negative");
  if (s.front() == '+') return Invalid(what, text, "expected digits, not a sign");

  size_t i = 0;
  uint64_t number = 0;
  bool overflow = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (number > (std::numeric_limits<uint64_t>::max() - digit) / 10) overflow = true;
    if (!overflow) number = number * 10 + digit;
    ++i;
  }
  if (i == 0) return Invalid(what, text, "expected a number such as 10G or 512MiB");
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    return Invalid(what, text, "must be a whole number (use a smaller unit, e.g. 1536M)");
  }
  std::string_view suffix = Trim(s.substr(i));
  const int shift = UnitShift(suffix);
  if (shift < 0) {
    std::string l = Lower(suffix);
    if (l.size() == 2 && l[1] == 'b' && UnitShift(l.substr(0, 1)) > 0) {
      return Invalid(what, text,
                     "ambiguous unit '" + std::string(suffix) + "'; use " +
                         std::string(1, static_cast<char>(std::toupper(l[0]))) + " or " +
                         std::string(1, static_cast<char>(std::toupper(l[0]))) + "iB");
    }
    return Invalid(
        what, text,
        "unknown unit '" + std::string(suffix) + "'; use B, K, M, G, T or P (or KiB..PiB)");
  }
  if (overflow || (shift > 0 && number > (std::numeric_limits<uint64_t>::max() >> shift))) {
    return Invalid(what, text, "too large");
  }
  const uint64_t bytes = number << shift;
  if (bytes == 0) return Invalid(what, text, "must be greater than zero");
  if (bytes % 512 != 0) return Invalid(what, text, "must be a multiple of 512 bytes");
  return bytes;
}

std::string FormatSize(uint64_t bytes) {
  static constexpr std::array<std::string_view, 7> kNames = {"B",   "KiB", "MiB", "GiB",
                                                             "TiB", "PiB", "EiB"};
  size_t unit = 0;
  while (unit + 1 < kNames.size() && bytes >= (uint64_t{1} << (10 * (unit + 1)))) ++unit;
  const uint64_t scale = uint64_t{1} << (10 * unit);
  if (bytes % scale == 0) return std::to_string(bytes / scale) + " " + std::string(kNames[unit]);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s",
                static_cast<double>(bytes) / static_cast<double>(scale),
                std::string(kNames[unit]).c_str());
  return buf;
}

uint64_t GibRoundedUp(uint64_t bytes) {
  constexpr uint64_t kGib = uint64_t{1} << 30;
  return bytes / kGib + (bytes % kGib != 0 ? 1 : 0);
}

}  // namespace clonefs::control
