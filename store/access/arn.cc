#include "store/access/arn.h"

#include <array>
#include <vector>

#include "base/error_names.h"
#include "store/access/account_id.h"

namespace clonefs::access {
namespace {

constexpr std::array<std::string_view, 5> kTypes = {kVolumeType, kSnapshotType, kKeyType,
                                                    kResourceShareType, kInvitationType};

Status Bad(std::string_view text, std::string_view why) {
  std::string message = "'";
  message += text;
  message += "' is not a valid ARN (";
  message += why;
  message += ")";
  return errors::InvalidParameterValue(std::move(message));
}

}  // namespace

bool LooksLikeArn(std::string_view text) { return text.substr(0, 4) == "arn:"; }

Result<Arn> ParseArn(std::string_view text, std::string_view want_type) {
  const std::string shape = "expected arn:clonefs:REGION:ACCOUNT:" +
                            (want_type.empty() ? std::string("TYPE") : std::string(want_type)) +
                            ":NAME";
  std::vector<std::string> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    const size_t colon = text.find(':', start);
    if (colon == std::string_view::npos) return Bad(text, shape);
    parts.emplace_back(text.substr(start, colon - start));
    start = colon + 1;
  }
  parts.emplace_back(text.substr(start));
  if (parts[0] != "arn" || parts[1] != "clonefs") return Bad(text, shape);
  if (parts[2].empty()) return Bad(text, "the region is empty; " + shape);
  if (Status s = ValidateAccountId(parts[3]); !s.ok()) return Bad(text, s.message());
  bool known = false;
  for (std::string_view t : kTypes) known = known || parts[4] == t;
  if (!known) return Bad(text, "unknown resource type '" + parts[4] + "'");
  if (!want_type.empty() && parts[4] != want_type) {
    return Bad(text, "it names a " + parts[4] + ", not a " + std::string(want_type));
  }
  if (parts[5].empty()) return Bad(text, "the name is empty; " + shape);
  return Arn{parts[2], parts[3], parts[4], parts[5]};
}

std::string FormatArn(const Arn& arn) {
  return FormatArn(arn.region, arn.account, arn.type, arn.name);
}

std::string FormatArn(std::string_view region, std::string_view account, std::string_view type,
                      std::string_view name) {
  std::string out = "arn:clonefs:";
  for (std::string_view part : {region, account, type}) {
    out += part;
    out += ':';
  }
  out += name;
  return out;
}

}  // namespace clonefs::access
