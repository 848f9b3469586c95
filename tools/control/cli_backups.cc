#include "tools/control/cli_backups.h"

namespace clonefs::control {
namespace {

// Adds the policy options to `command`; answers with its --backup-retention-period.
CLI::Option* AddPolicyOptions(CLI::App* command, BackupCliOptions& o, bool create) {
  CLI::Option* days = command->add_option(
      "--backup-retention-period", o.retention_days,
      create ? "Days automated snapshots are kept: 1-35 (default 1)"
             : "Days automated snapshots are kept: 1-35 (a shorter period frees at once)");
  days->type_name("DAYS");
  command
      ->add_option("--preferred-backup-window", o.window,
                   "Daily UTC window for the automated snapshot, hh24:mi-hh24:mi, 30 minutes or "
                   "more" +
                       std::string(create ? " (default: one chosen for the volume)" : ""))
      ->type_name("WINDOW");
  return days;
}

}  // namespace

void DefineBackupOptions(CLI::App& app, BackupCliOptions& o) {
  CLI::App* volume = app.get_subcommand("volume");
  o.create_retention = AddPolicyOptions(volume->get_subcommand("create"), o, /*create=*/true);
  o.modify_retention = AddPolicyOptions(volume->get_subcommand("modify"), o, /*create=*/false);
  CLI::App* del = volume->get_subcommand("delete");
  del->add_option("--final-snapshot", o.final_snapshot,
                  "Take this manual snapshot first (kept after the volume is gone)")
      ->type_name("SNAPSHOT");
  del->add_flag("--retain-automated-backups", o.retain_automated,
                "Keep its automated snapshots until their retention ends");
  app.get_subcommand("snapshot")
      ->get_subcommand("list")
      ->add_option("--snapshot-type", o.snapshot_type, "Only snapshots of this type")
      ->check(CLI::IsMember({"manual", "automated", "shared", "public"}));
}

void DefineRestoreTimeOptions(CLI::App& command, BackupCliOptions& o) {
  CLI::Option* at =
      command
          .add_option("--restore-time", o.restore_time,
                      "UTC time to restore to, RFC 3339 (2026-12-07T14:05:09Z); the image is the "
                      "one of the last durable sync at or before it")
          ->type_name("TIME");
  CLI::Option* latest = command.add_flag("--use-latest-restorable-time", o.use_latest,
                                         "Restore to the latest restorable time");
  at->excludes(latest);
}

void BackupArgs(const std::string& c, const BackupCliOptions& o, nlohmann::json* args) {
  if (c == "volume.create" || c == "volume.modify") {
    CLI::Option* days = c == "volume.create" ? o.create_retention : o.modify_retention;
    if (days != nullptr && days->count() > 0) (*args)["backup_retention_period"] = o.retention_days;
    if (!o.window.empty()) (*args)["preferred_backup_window"] = o.window;
  }
  if (c == "volume.delete") {
    if (!o.final_snapshot.empty()) (*args)["final_snapshot"] = o.final_snapshot;
    if (o.retain_automated) (*args)["retain_automated_backups"] = true;
  }
  if (c == "snapshot.list" && !o.snapshot_type.empty()) (*args)["snapshot_type"] = o.snapshot_type;
  if (c == "volume.restore_to_time") {
    if (!o.restore_time.empty()) (*args)["restore_time"] = o.restore_time;
    if (o.use_latest) (*args)["use_latest_restorable_time"] = true;
  }
}

}  // namespace clonefs::control
