#include "base/tags.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <optional>
#include <set>

#include "base/error_names.h"

namespace clonefs::tags {
namespace {

constexpr std::string_view kReservedPrefixes[] = {"aws:", "rds:", "clonefs:"};
constexpr std::string_view kAllowedPunctuation = "_.:/=+-@";

// The code points of `s`, or nullopt when it is not valid UTF-8 (overlong forms, surrogates
// and values past U+10FFFF included).
std::optional<std::vector<char32_t>> DecodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xE  ? 3
                     : (c >> 3) == 0x1E ? 4
                                        : 0;
    if (n == 0 || i + n > s.size()) return std::nullopt;
    char32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3F);
    }
    constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    out.push_back(cp);
    i += n;
  }
  return out;
}

// The C.UTF-8 locale's character classes: Unicode's, whatever the process locale is. Null
// where that locale is missing: then only ASCII letters and digits count.
locale_t UnicodeLocale() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return loc;
}

// Aurora's [\p{L}\p{Z}\p{N}_.:/=+\-@]: a letter, a separator (space), a digit or number, or
// one of the punctuation characters it allows. Tabs and newlines are not separators.
bool Allowed(char32_t cp) {
  if (cp < 0x80) {
    const char c = static_cast<char>(cp);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
           kAllowedPunctuation.find(c) != std::string_view::npos;
  }
  const locale_t loc = UnicodeLocale();
  if (loc == static_cast<locale_t>(0)) return false;
  const auto wc = static_cast<wint_t>(cp);
  if (cp == 0x85) return false;  // NEXT LINE: a control character, not a separator
  return iswalnum_l(wc, loc) != 0 || iswblank_l(wc, loc) != 0 || iswspace_l(wc, loc) != 0;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// `what` is "tag key 'K'" or "the value of tag 'K'".
Status CheckText(std::string_view text, const std::string& what, size_t min_chars,
                 size_t max_chars) {
  const std::optional<std::vector<char32_t>> cps = DecodeUtf8(text);
  if (!cps) return errors::InvalidParameterValue(what + " is not valid UTF-8");
  if (cps->size() < min_chars || cps->size() > max_chars) {
    std::string message = what;
    message += " must be ";
    message += std::to_string(min_chars);
    message += " to ";
    message += std::to_string(max_chars);
    message += " characters long, not ";
    message += std::to_string(cps->size());
    return errors::InvalidParameterValue(std::move(message));
  }
  for (char32_t cp : *cps) {
    if (!Allowed(cp)) {
      std::string message = what;
      message += " may contain only Unicode letters, digits, white space and _ . : / = + - @";
      return errors::InvalidParameterValue(std::move(message));
    }
  }
  const std::string lower = Lower(text.substr(0, 8));
  for (std::string_view prefix : kReservedPrefixes) {
    if (lower.rfind(prefix, 0) == 0) {
      std::string message = what;
      message += " must not start with '";
      message += prefix;
      message += "': the prefixes aws:, rds: and clonefs: are reserved";
      return errors::InvalidParameterValue(std::move(message));
    }
  }
  return Status::OK();
}

std::string Quoted(std::string_view key) {
  std::string q = "'";
  q += key;
  q += "'";
  return q;
}

Status QuotaExceeded(size_t count) {
  std::string message = "a resource may have at most ";
  message += std::to_string(kMaxTagsPerResource);
  message += " tags; this would give it ";
  message += std::to_string(count);
  return errors::Named(errors::kTagQuotaPerResourceExceeded,
                       Status::QuotaExceeded(std::move(message)));
}

// Every tag well formed and no key twice; the count is the caller's to check.
Status CheckEach(const TagList& tags) {
  std::set<std::string_view> keys;
  for (const auto& [key, value] : tags) {
    CLONEFS_RETURN_IF_ERROR(CheckKey(key));
    CLONEFS_RETURN_IF_ERROR(CheckValue(key, value));
    if (!keys.insert(key).second) {
      std::string message = "tag key ";
      message += Quoted(key);
      message += " is given more than once";
      return errors::InvalidParameterValue(std::move(message));
    }
  }
  return Status::OK();
}

}  // namespace

Status CheckKey(std::string_view key) {
  std::string what = "tag key ";
  what += Quoted(key);
  return CheckText(key, what, 1, kMaxKeyChars);
}

Status CheckValue(std::string_view key, std::string_view value) {
  std::string what = "the value of tag ";
  what += Quoted(key);
  return CheckText(value, what, 0, kMaxValueChars);
}

Status CheckTags(const TagList& tags) {
  CLONEFS_RETURN_IF_ERROR(CheckEach(tags));
  if (tags.size() > kMaxTagsPerResource) return QuotaExceeded(tags.size());
  return Status::OK();
}

Result<TagList> AddTags(const TagList& current, const TagList& added) {
  CLONEFS_RETURN_IF_ERROR(CheckEach(added));
  TagList out = current;
  for (const auto& [key, value] : added) {
    auto same = std::find_if(out.begin(), out.end(),
                             [&key = key](const auto& t) { return t.first == key; });
    if (same != out.end()) {
      same->second = value;
    } else {
      out.emplace_back(key, value);
    }
  }
  if (out.size() > kMaxTagsPerResource && out.size() > current.size()) {
    return QuotaExceeded(out.size());
  }
  return out;
}

Result<TagList> RemoveTags(const TagList& current, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) CLONEFS_RETURN_IF_ERROR(CheckKey(key));
  TagList out;
  for (const auto& tag : current) {
    if (std::find(keys.begin(), keys.end(), tag.first) == keys.end()) out.push_back(tag);
  }
  return out;
}

}  // namespace clonefs::tags
