// Resource names: arn:clonefs:REGION:ACCOUNT:TYPE:NAME, where ACCOUNT is the account that owns
// the resource and NAME its name as that account typed it. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace clonefs::access {

// The resource types an ARN may name.
inline constexpr std::string_view kVolumeType = "volume";
inline constexpr std::string_view kSnapshotType = "snapshot";
inline constexpr std::string_view kKeyType = "key";
inline constexpr std::string_view kResourceShareType = "resource-share";
inline constexpr std::string_view kInvitationType = "resource-share-invitation";

struct Arn {
  std::string region;
  std::string account;
  std::string type;
  std::string name;
};

// True when `text` starts with "arn:": then it is meant as an ARN (and must parse as one).
bool LooksLikeArn(std::string_view text);

// Parses an ARN. InvalidParameterValue naming the problem: not six ':'-separated fields, not
// "arn:clonefs:", an empty region or name, a malformed account id, an unknown type, or (when
// `want_type` is given) a type other than it. Purely syntactic: says nothing of whether the
// resource exists.
Result<Arn> ParseArn(std::string_view text, std::string_view want_type = {});

std::string FormatArn(const Arn& arn);
// The same from its parts.
std::string FormatArn(std::string_view region, std::string_view account, std::string_view type,
                      std::string_view name);

}  // namespace clonefs::access
