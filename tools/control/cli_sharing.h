// clonectl's sharing commands (docs/CLI.md, "Sharing"): `snapshot attribute modify|show`,
// `share create|list|delete|principals` and `invitation list|accept|reject`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace clonefs::control {

struct SharingCliOptions {
  std::string name;       // the snapshot, share or invitation acted on
  std::string attribute;  // `snapshot attribute modify --attribute restore`
  std::vector<std::string> add, remove;
  std::string resource;  // `share create|principals --resource VOLUME`
  std::vector<std::string> principals;
  std::string status;  // `invitation list --status`
};

// Makes subcommand `name` of `parent` that selects control command `command`.
using LeafMaker = std::function<CLI::App*(CLI::App* parent, const std::string& name,
                                          const std::string& help, const std::string& command)>;

// Adds the commands to `app` (and `attribute` under its existing `snapshot` command).
void DefineSharingCommands(CLI::App& app, SharingCliOptions& o, const LeafMaker& leaf);

// Fills the request arguments of sharing command `command`; false for any other command.
bool SharingArgs(const std::string& command, const SharingCliOptions& o, nlohmann::json* args);

}  // namespace clonefs::control
