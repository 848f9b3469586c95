// Tags: key-value pairs attached to a volume, a snapshot or a KMS key, with Aurora's rules
// (docs/CLI.md, "Tags"). The one place those rules are checked, whatever path a tag comes in
// by: creation (--tag), `tag add`, a copy's --copy-tags, an import. Pure functions;
// thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace clonefs::tags {

// A resource's tags in the order they were first given: (key, value) pairs, no key twice.
using TagList = std::vector<std::pair<std::string, std::string>>;

inline constexpr size_t kMaxTagsPerResource = 50;
inline constexpr size_t kMaxKeyChars = 128;    // Unicode characters, not bytes
inline constexpr size_t kMaxValueChars = 256;  // may be 0

// InvalidParameterValue naming what is wrong unless `key` is 1-128 characters of valid UTF-8,
// each a Unicode letter, digit or white space or one of _ . : / = + - @, and does not start
// with a reserved prefix (aws:, rds:, clonefs:, in any case).
Status CheckKey(std::string_view key);
// The same for a value of tag `key`: 0-256 such characters.
Status CheckValue(std::string_view key, std::string_view value);

// OK when every tag passes CheckKey/CheckValue, no key is given twice, and there are at most
// 50 (TagQuotaPerResourceExceeded otherwise). What a new resource's tags must pass.
Status CheckTags(const TagList& tags);

// `current` with `added` applied: a key already there takes its new value in place, new keys
// follow in the order given. `added` must pass CheckTags (apart from its count) and the result
// may hold at most 50 tags (TagQuotaPerResourceExceeded, naming how many there would be).
// Tags already in `current` are kept as they are, unchecked.
Result<TagList> AddTags(const TagList& current, const TagList& added);

// `current` without the tags whose keys are in `keys` (each must pass CheckKey; a key that is
// not there is no error).
Result<TagList> RemoveTags(const TagList& current, const std::vector<std::string>& keys);

}  // namespace clonefs::tags
