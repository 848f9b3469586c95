// The regions a host knows (region name -> store directory); ARNs name them
// (store/access/arn.h).
//
// The list comes from $CLONEFS_REGIONS when set — either a file in the format below, or the
// entries themselves, "us-east-1=/srv/a,eu-west-1=/srv/b" — else from /etc/clonefs/regions.conf:
//
//   # region     store directory
//   us-east-1    /var/lib/clonefs/us-east-1
//   eu-west-1 =  /var/lib/clonefs/eu-west-1
//
// Pure functions apart from reading that file; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace clonefs::control {

inline constexpr char kRegionsFile[] = "/etc/clonefs/regions.conf";

struct RegionMap {
  std::map<std::string, std::string> dirs;  // region -> store directory
  std::string origin;                       // where the list came from, for messages
};

// Parses the text of a regions file (or an inline list). InvalidArgument naming the line.
Result<RegionMap> ParseRegions(std::string_view text, const std::string& origin);
// $CLONEFS_REGIONS, else /etc/clonefs/regions.conf; an empty map when neither exists.
Result<RegionMap> LoadRegions();

}  // namespace clonefs::control
