#include "tools/control/regions.h"

#include <cstdlib>
#include <sstream>

#include "base/env.h"
#include "base/error_names.h"

namespace clonefs::control {
namespace {

std::string Trim(std::string_view s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string_view::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r");
  return std::string(s.substr(a, b - a + 1));
}

Status AddEntry(RegionMap* map, std::string_view entry, const std::string& where) {
  std::string line = Trim(entry);
  if (line.empty() || line[0] == '#') return Status::OK();
  std::string region, dir;
  const size_t eq = line.find('=');
  if (eq != std::string::npos) {
    region = Trim(std::string_view(line).substr(0, eq));
    dir = Trim(std::string_view(line).substr(eq + 1));
  } else {
    std::istringstream in(line);
    in >> region >> dir;
    std::string extra;
    if (in >> extra) dir.clear();
  }
  if (region.empty() || dir.empty() || dir[0] != '/') {
    return errors::InvalidParameterValue(where + ": '" + line +
                                         "' is not 'REGION /absolute/store/directory'");
  }
  if (!map->dirs.emplace(region, dir).second) {
    return errors::InvalidParameterValue(where + ": region '" + region + "' is listed twice");
  }
  return Status::OK();
}

}  // namespace

Result<RegionMap> ParseRegions(std::string_view text, const std::string& origin) {
  RegionMap map;
  map.origin = origin;
  const bool inline_list =
      text.find('\n') == std::string_view::npos && text.find('=') != std::string_view::npos;
  const char sep = inline_list ? ',' : '\n';
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t end = text.find(sep);
    std::string_view entry = text.substr(0, end);
    ++line_no;
    CLONEFS_RETURN_IF_ERROR(
        AddEntry(&map, entry, inline_list ? origin : origin + " line " + std::to_string(line_no)));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return map;
}

Result<RegionMap> LoadRegions() {
  Env* env = Env::Default();
  const char* var = std::getenv("CLONEFS_REGIONS");
  if (var != nullptr && *var != '\0') {
    std::string value = var;
    if (value.find('=') != std::string::npos) return ParseRegions(value, "$CLONEFS_REGIONS");
    CLONEFS_ASSIGN_OR_RETURN(std::string text, ReadFileToString(env, value));
    return ParseRegions(text, value);
  }
  auto text = ReadFileToString(env, kRegionsFile);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return RegionMap{{}, kRegionsFile};
    return text.status();
  }
  return ParseRegions(*text, kRegionsFile);
}

}  // namespace clonefs::control
