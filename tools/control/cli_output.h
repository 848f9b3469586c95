// Human-readable rendering of command results for clonectl (the --json output is the result
// itself). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace clonefs::control {

// Prints `result` of `command` ("volume.list", "init", ...) for people. Unknown commands and
// results missing expected fields fall back to pretty-printed JSON.
void PrintHuman(std::ostream& out, std::string_view command, const nlohmann::json& result);

// Left-aligned columns separated by two spaces; `rows` include the header row.
void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// One line of a progress bar, `width` cells wide:
// "LABEL [##########----------]  50%  512 MiB / 1 GiB". `done` is clamped to `total`.
std::string FormatProgressBar(std::string_view label, uint64_t done, uint64_t total,
                              size_t width = 30);

}  // namespace clonefs::control
