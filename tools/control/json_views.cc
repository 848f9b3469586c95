#include "tools/control/json_views.h"

#include <cstdio>
#include <ctime>

#include "store/access/arn.h"
#include "store/access/store_names.h"
#include "store/keys/key_service.h"
#include "tools/control/sizes.h"

namespace clonefs::control {

std::string JsonToString(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

namespace {

// The ARN of the resource the store knows as `store_name`: its owner's account, its typed name.
std::string OwnedArn(const store::StoreInfo& store, std::string_view type,
                     const std::string& store_name) {
  access::OwnedName owned = access::SplitStoreName(store.account_id, store_name);
  return access::FormatArn(store.region, owned.account, type, owned.name);
}

std::string Typed(const store::StoreInfo& store, const std::string& store_name) {
  return access::SplitStoreName(store.account_id, store_name).name;
}

}  // namespace

std::string VolumeArn(const store::StoreInfo& store, const std::string& name) {
  return OwnedArn(store, access::kVolumeType, name);
}

std::string SnapshotArn(const store::StoreInfo& store, const std::string& name) {
  return OwnedArn(store, access::kSnapshotType, name);
}

std::string KeyArn(store::Store& store, const std::string& key_id) {
  Result<std::string> arn = store.keys().key_store()->KeyArn(key_id);
  if (arn.ok()) return *arn;
  return access::FormatArn(store.info().region, store.info().account_id, access::kKeyType, key_id);
}

std::string IsoTime(uint64_t micros) {
  const std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  const unsigned millis = static_cast<unsigned>((micros / 1000) % 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03uZ", buf, millis);
  return out;
}

nlohmann::json TagListToJson(const store::Tags& tags) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, value] : tags) out.push_back({{"Key", key}, {"Value", value}});
  return out;
}

nlohmann::json VolumeToJson(store::Store& st, const store::VolumeInfo& volume,
                            const std::string& source_volume) {
  const store::StoreInfo& store = st.info();
  nlohmann::json j = {
      {"VolumeIdentifier", Typed(store, volume.name)},
      {"VolumeArn", VolumeArn(store, volume.name)},
      {"VolumeId", volume.id},
      {"Status", std::string(store::VolumeStatusName(volume.status))},
      {"SizeBytes", volume.size_bytes},
      {"AllocatedStorage", GibRoundedUp(volume.size_bytes)},
      {"PageSize", volume.page_size},
      {"Compression", std::string(store::CompressionName(volume.compression))},
      {"VolumeCreateTime", IsoTime(volume.create_time_us)},
      {"Epoch", volume.epoch},
      {"CloneGroupId", volume.lineage_id},
      {"StorageEncrypted", volume.encrypted},
      {"TagList", TagListToJson(volume.tags)},
      {"BackupRetentionPeriod", volume.backup.retention_days},
      {"PreferredBackupWindow", store::FormatBackupWindow(volume.backup.window)},
  };
  if (volume.encrypted) j["KmsKeyId"] = KeyArn(st, volume.kms_key_id);
  // To the microsecond, so that a time shown can be given back to restore-to-time as it is.
  if (Result<store::RestoreWindow> w = st.GetRestoreWindow(volume.name); w.ok()) {
    j["EarliestRestorableTime"] = store::FormatRfc3339(w->earliest_us);
    j["LatestRestorableTime"] = store::FormatRfc3339(w->latest_us);
  }
  if (volume.parent_id != 0 && !source_volume.empty()) {
    j["SourceVolumeIdentifier"] = Typed(store, source_volume);
  }
  if (!volume.source_snapshot.empty()) {
    j["SourceSnapshotIdentifier"] = Typed(store, volume.source_snapshot);
  }
  return j;
}

nlohmann::json SnapshotToJson(store::Store& st, const store::SnapshotInfo& snapshot) {
  const store::StoreInfo& store = st.info();
  nlohmann::json j = {
      {"SnapshotIdentifier", Typed(store, snapshot.name)},
      {"SnapshotArn", SnapshotArn(store, snapshot.name)},
      {"VolumeIdentifier", Typed(store, snapshot.volume_name)},
      {"SnapshotType", std::string(store::SnapshotTypeName(snapshot.type))},
      {"Status", std::string(store::SnapshotStatusName(snapshot.status))},
      {"SnapshotCreateTime", IsoTime(snapshot.create_time_us)},
      {"AllocatedStorage", GibRoundedUp(snapshot.size_bytes)},
      {"SizeBytes", snapshot.size_bytes},
      {"PageSize", snapshot.page_size},
      {"Compression", std::string(store::CompressionName(snapshot.compression))},
      {"StorageEncrypted", snapshot.encrypted},
      {"PercentProgress", 100},
      {"TagList", TagListToJson(snapshot.tags)},
  };
  if (snapshot.encrypted) j["KmsKeyId"] = KeyArn(st, snapshot.kms_key_id);
  if (!snapshot.source_snapshot_arn.empty()) j["SourceSnapshotArn"] = snapshot.source_snapshot_arn;
  // A retained automated backup (its volume deleted with --retain-automated-backups) shows the
  // window its volume can still be restored to, as Aurora's DBClusterAutomatedBackup does.
  if (snapshot.type == store::SnapshotType::kAutomated &&
      !st.GetVolumeById(snapshot.volume_id).ok()) {
    if (Result<store::RestoreWindow> w = st.GetRestoreWindowById(snapshot.volume_id); w.ok()) {
      j["BackupStatus"] = "retained";
      j["RestoreWindow"] = {{"EarliestTime", store::FormatRfc3339(w->earliest_us)},
                            {"LatestTime", store::FormatRfc3339(w->latest_us)}};
    }
  }
  return j;
}

nlohmann::json VolumeUsageToJson(const store::VolumeInfo& volume, const store::VolumeUsage& usage) {
  return {
      {"VolumeIdentifier", volume.name},
      {"LogicalBytes", usage.logical_bytes},
      {"MappedPages", usage.mapped_pages},
      {"MappedBytes", usage.mapped_pages * volume.page_size},
      {"StoredBytes", usage.stored_bytes},
      {"OwnedPages", usage.owned_pages},
      {"OwnedBytes", usage.owned_bytes},
      {"SharedPages", usage.shared_pages},
      {"SharedBytes", usage.shared_bytes},
      {"AttributedBytes", usage.attributed_bytes},
      {"BackupStorageBytes", usage.backup_storage_bytes},
  };
}

nlohmann::json StoreInfoToJson(const store::StoreInfo& info) {
  return {
      {"StoreDirectory", info.dir},
      {"Region", info.region},
      {"AccountId", info.account_id},
      {"FormatVersion", info.format_version},
  };
}

nlohmann::json KeyToJson(const crypto::KeyMetadata& key) {
  nlohmann::json aliases = nlohmann::json::array();
  for (const std::string& a : key.aliases) aliases.push_back("alias/" + a);
  nlohmann::json j = {
      {"KeyId", key.key_id},
      {"Arn", key.arn},
      {"AccountId", key.owner},
      {"Aliases", std::move(aliases)},
      {"Description", key.description},
      {"KeyState", std::string(crypto::KeyStateName(key.state))},
      {"Enabled", key.state == crypto::KeyState::kEnabled},
      {"KeyManager", key.is_default ? "AWS" : "CUSTOMER"},
      {"KeySpec", key.key_spec},
      {"KeyUsage", key.key_usage},
      {"CreationDate", IsoTime(key.creation_date_us)},
      {"PrimaryKeyVersion", key.primary_version},
      {"KeyVersionCount", key.versions.size()},
  };
  if (key.state == crypto::KeyState::kPendingDeletion) {
    j["DeletionDate"] = IsoTime(key.deletion_date_us);
  }
  return j;
}

nlohmann::json AccountToJson(const access::Account& account) {
  nlohmann::json users = nlohmann::json::array();
  for (const access::AccountUser& u : account.users) {
    users.push_back({{"UserName", u.name}, {"Uid", u.uid}});
  }
  return {
      {"AccountId", account.id},
      {"Users", std::move(users)},
      {"CreationTime", IsoTime(account.creation_time_us)},
  };
}

nlohmann::json StoreUsageToJson(const store::StoreUsage& usage) {
  return {
      {"SegmentCount", usage.segment_count},
      {"SegmentBytes", usage.segment_bytes},
      {"LiveBytes", usage.live_bytes},
      {"GarbageBytes", usage.garbage_bytes},
  };
}

}  // namespace clonefs::control
