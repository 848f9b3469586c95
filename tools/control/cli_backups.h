// clonectl's options for automated backups (docs/CLI.md, "Automated backups"): the backup
// policy of `volume create|modify`, `volume delete --final-snapshot|--retain-automated-backups`,
// `snapshot list --snapshot-type` and the times of `volume restore-to-time`.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace clonefs::control {

struct BackupCliOptions {
  uint64_t retention_days = 0;
  // Given to `volume create` / `volume modify`? (0 is sent, for the daemon to refuse.)
  CLI::Option* create_retention = nullptr;
  CLI::Option* modify_retention = nullptr;
  std::string window;
  std::string final_snapshot;
  bool retain_automated = false;
  std::string snapshot_type;
  // `volume restore-to-time`.
  std::string restore_time;
  bool use_latest = false;
};

// Adds --restore-time and --use-latest-restorable-time to `volume restore-to-time`.
void DefineRestoreTimeOptions(CLI::App& command, BackupCliOptions& o);

// Adds the options to the existing `volume create|modify|delete` and `snapshot list`.
void DefineBackupOptions(CLI::App& app, BackupCliOptions& o);

// Adds the backup arguments of command `command` to `args`.
void BackupArgs(const std::string& command, const BackupCliOptions& o, nlohmann::json* args);

}  // namespace clonefs::control
