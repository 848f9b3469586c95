#include "store/meta/catalog_codec.h"

#include <nlohmann/json.hpp>

#include "base/coding.h"
#include "crypto/aead.h"
#include "crypto/hex.h"

namespace clonefs::store {

using json = nlohmann::json;

namespace {

// Tags as [{"Key": K, "Value": V}, ...]; a record without "tags" (written before volumes had
// tags) has none.
json TagsToJson(const Tags& tags) {
  json out = json::array();
  for (const auto& [k, v] : tags) out.push_back({{"Key", k}, {"Value", v}});
  return out;
}

Tags TagsFromJson(const json& record) {
  Tags out;
  for (const auto& t : record.value("tags", json::array())) {
    out.emplace_back(t.at("Key").get<std::string>(), t.at("Value").get<std::string>());
  }
  return out;
}

}  // namespace

std::string EncodeVolume(const VolumeInfo& v) {
  json j = {{"id", v.id},
            {"name", v.name},
            {"size", v.size_bytes},
            {"page_size", v.page_size},
            {"compression", std::string(CompressionName(v.compression))},
            {"create_time_us", v.create_time_us},
            {"epoch", v.epoch},
            {"lineage", v.lineage_id},
            {"parent_id", v.parent_id},
            {"parent_epoch", v.parent_epoch},
            {"source_snapshot", v.source_snapshot},
            {"status", std::string(VolumeStatusName(v.status))},
            {"encrypted", v.encrypted}};
  if (v.encrypted) j["kms_key_id"] = v.kms_key_id;
  if (!v.tags.empty()) j["tags"] = TagsToJson(v.tags);
  j["backup_retention_days"] = v.backup.retention_days;
  j["backup_window"] = FormatBackupWindow(v.backup.window);
  return j.dump();
}

Result<VolumeInfo> DecodeVolume(std::string_view data) {
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("bad volume record");
  try {
    VolumeInfo v;
    v.id = j.at("id").get<uint64_t>();
    v.name = j.at("name").get<std::string>();
    v.size_bytes = j.at("size").get<uint64_t>();
    v.page_size = j.at("page_size").get<uint32_t>();
    CLONEFS_ASSIGN_OR_RETURN(v.compression,
                             ParseCompression(j.at("compression").get<std::string>()));
    v.create_time_us = j.at("create_time_us").get<uint64_t>();
    v.epoch = j.at("epoch").get<uint64_t>();
    v.lineage_id = j.at("lineage").get<uint64_t>();
    v.parent_id = j.value("parent_id", uint64_t{0});
    v.parent_epoch = j.value("parent_epoch", uint64_t{0});
    v.source_snapshot = j.value("source_snapshot", "");
    CLONEFS_ASSIGN_OR_RETURN(v.status, ParseVolumeStatus(j.value("status", "available")));
    v.encrypted = j.value("encrypted", false);
    v.kms_key_id = j.value("kms_key_id", "");
    if (v.encrypted && v.kms_key_id.empty()) {
      return Status::Corruption("bad volume record: encrypted without a KMS key");
    }
    v.tags = TagsFromJson(j);
    v.backup.retention_days = j.value("backup_retention_days", kDefaultBackupRetentionDays);
    Status valid = ValidateBackupRetention(v.backup.retention_days);
    if (!valid.ok()) return Status::Corruption("bad volume record: " + valid.message());
    v.backup.window = DefaultBackupWindow(v.id);
    if (j.contains("backup_window")) {
      Result<BackupWindow> w = ParseBackupWindow(j.at("backup_window").get<std::string>());
      if (!w.ok()) return Status::Corruption("bad volume record: " + w.status().message());
      v.backup.window = *w;
    }
    return v;
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("bad volume record: ") + e.what());
  }
}

std::string EncodeSnapshot(const SnapshotInfo& s) {
  json j = {{"id", s.id},
            {"name", s.name},
            {"volume_id", s.volume_id},
            {"volume_name", s.volume_name},
            {"lineage", s.lineage_id},
            {"epoch", s.epoch},
            {"size", s.size_bytes},
            {"page_size", s.page_size},
            {"compression", std::string(CompressionName(s.compression))},
            {"create_time_us", s.create_time_us},
            {"type", std::string(SnapshotTypeName(s.type))},
            {"status", std::string(SnapshotStatusName(s.status))},
            {"tags", TagsToJson(s.tags)}};
  if (!s.source_snapshot_arn.empty()) j["source_snapshot_arn"] = s.source_snapshot_arn;
  if (!s.source_identity.empty()) j["source_identity"] = s.source_identity;
  if (s.backup_retention_days != 0) j["backup_retention_days"] = s.backup_retention_days;
  return j.dump();
}

Result<SnapshotInfo> DecodeSnapshot(std::string_view data) {
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("bad snapshot record");
  try {
    SnapshotInfo s;
    s.id = j.at("id").get<uint64_t>();
    s.name = j.at("name").get<std::string>();
    s.volume_id = j.at("volume_id").get<uint64_t>();
    s.volume_name = j.at("volume_name").get<std::string>();
    s.lineage_id = j.at("lineage").get<uint64_t>();
    s.epoch = j.at("epoch").get<uint64_t>();
    s.size_bytes = j.at("size").get<uint64_t>();
    s.page_size = j.at("page_size").get<uint32_t>();
    CLONEFS_ASSIGN_OR_RETURN(s.compression,
                             ParseCompression(j.at("compression").get<std::string>()));
    s.create_time_us = j.at("create_time_us").get<uint64_t>();
    CLONEFS_ASSIGN_OR_RETURN(s.type, ParseSnapshotType(j.value("type", "manual")));
    CLONEFS_ASSIGN_OR_RETURN(s.status, ParseSnapshotStatus(j.value("status", "available")));
    s.tags = TagsFromJson(j);
    s.source_snapshot_arn = j.value("source_snapshot_arn", "");
    s.source_identity = j.value("source_identity", "");
    s.backup_retention_days = j.value("backup_retention_days", 0u);
    return s;
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("bad snapshot record: ") + e.what());
  }
}

std::string EncodeCheckpoint(const CheckpointState& c) {
  std::string s;
  AppendBE32(&s, c.position.segment);
  AppendBE64(&s, c.position.offset);
  AppendBE64(&s, c.next_seq);
  return s;
}

Result<CheckpointState> DecodeCheckpoint(std::string_view data) {
  if (data.size() != 20) return Status::Corruption("bad checkpoint record");
  CheckpointState c;
  c.position.segment = GetBE32(data.data());
  c.position.offset = GetBE64(data.data() + 4);
  c.next_seq = GetBE64(data.data() + 12);
  return c;
}

std::string EncodeStoreInfo(const StoreInfo& info) {
  json j = {{"format", "clonefs-store"},
            {"format_version", info.format_version},
            {"region", info.region},
            {"account_id", info.account_id},
            {"store_uuid", info.store_uuid}};
  return j.dump(2) + "\n";
}

std::string EncodeRestorePoint(const RestorePoint& p, uint64_t next_epoch) {
  std::string out;
  AppendBE64(&out, p.time_us);
  AppendBE64(&out, next_epoch);
  AppendBE64(&out, p.size_bytes);
  return out;
}

Result<RestorePoint> DecodeRestorePoint(std::string_view data, uint64_t epoch,
                                        uint64_t* next_epoch) {
  if (data.size() != 24) return Status::Corruption("restore point record has the wrong size");
  RestorePoint p;
  p.time_us = GetBE64(data.data());
  *next_epoch = GetBE64(data.data() + 8);
  p.size_bytes = GetBE64(data.data() + 16);
  p.epoch = epoch;
  if (*next_epoch <= epoch) return Status::Corruption("restore point with a bad next epoch");
  return p;
}

Result<StoreInfo> DecodeStoreInfo(std::string_view data) {
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != "clonefs-store") {
    return Status::Corruption("FORMAT file is not a clonefs store description");
  }
  StoreInfo info;
  info.format_version = j.value("format_version", 0u);
  info.region = j.value("region", "");
  info.account_id = j.value("account_id", "");
  info.store_uuid = j.value("store_uuid", "");
  if (info.format_version < kOldestUpgradableFormat || info.format_version > kFormatVersion) {
    return Status::NotSupported("store format version " + std::to_string(info.format_version) +
                                " is not supported (this build reads version " +
                                std::to_string(kFormatVersion) + ")");
  }
  auto uuid = crypto::HexDecode(info.store_uuid);
  if (info.store_uuid.size() != 32 || !uuid) {
    return Status::Corruption("FORMAT file has no valid store_uuid");
  }
  return info;
}

Result<std::string> NewStoreUuid() {
  std::string bytes(16, '\0');
  CLONEFS_RETURN_IF_ERROR(crypto::RandomBytes(bytes.data(), bytes.size()));
  return crypto::HexEncode(bytes);
}

}  // namespace clonefs::store
