#include "tools/control/cli_output.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <sstream>
#include <utility>

#include "tools/control/json_views.h"
#include "tools/control/sizes.h"

namespace clonefs::control {
namespace {

using nlohmann::json;
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string Str(const json& j, const char* key) {
  const json& v = j.at(key);
  return v.is_string() ? v.get<std::string>() : JsonToString(v);
}
uint64_t Num(const json& j, const char* key) { return j.at(key).get<uint64_t>(); }
std::string Size(const json& j, const char* key) { return FormatSize(Num(j, key)); }

void PrintFields(std::ostream& out, const Fields& fields) {
  size_t width = 0;
  for (const auto& f : fields) width = std::max(width, f.first.size() + 1);
  for (const auto& f : fields) {
    out << f.first << ':' << std::string(width - f.first.size() + 1, ' ') << f.second << '\n';
  }
}

std::string TagsText(const json& s) {
  std::string text;
  for (const json& tag : s.at("TagList")) {
    if (!text.empty()) text += ", ";
    text += Str(tag, "Key") + "=" + Str(tag, "Value");
  }
  return text.empty() ? "-" : text;
}

void PrintVolume(std::ostream& out, const json& v) {
  Fields fields = {{"Volume", Str(v, "VolumeIdentifier")},
                   {"ARN", Str(v, "VolumeArn")},
                   {"Id", Str(v, "VolumeId")},
                   {"Status", Str(v, "Status")},
                   {"Size", Size(v, "SizeBytes") + " (" + Str(v, "SizeBytes") + " bytes)"},
                   {"Page size", Size(v, "PageSize")},
                   {"Compression", Str(v, "Compression")},
                   {"Created", Str(v, "VolumeCreateTime")},
                   {"Epoch", Str(v, "Epoch")}};
  if (v.contains("CloneGroupId")) fields.emplace_back("Clone group", Str(v, "CloneGroupId"));
  if (v.contains("StorageEncrypted")) {
    fields.emplace_back("Encrypted", v.value("StorageEncrypted", false) ? "yes" : "no");
  }
  if (v.contains("KmsKeyId")) fields.emplace_back("KMS key", Str(v, "KmsKeyId"));
  if (v.contains("BackupRetentionPeriod")) {
    fields.emplace_back("Backups", Str(v, "BackupRetentionPeriod") + " day(s), window " +
                                       Str(v, "PreferredBackupWindow") + " UTC");
  }
  if (v.contains("EarliestRestorableTime")) {
    fields.emplace_back("Restorable",
                        Str(v, "EarliestRestorableTime") + " to " + Str(v, "LatestRestorableTime"));
  }
  if (v.contains("SourceVolumeIdentifier")) {
    fields.emplace_back("Source volume", Str(v, "SourceVolumeIdentifier"));
  }
  if (v.contains("SourceSnapshotIdentifier")) {
    fields.emplace_back("Source snapshot", Str(v, "SourceSnapshotIdentifier"));
  }
  if (v.contains("TagList")) fields.emplace_back("Tags", TagsText(v));
  PrintFields(out, fields);
}

void PrintSnapshot(std::ostream& out, const json& s) {
  PrintFields(out, {{"Snapshot", Str(s, "SnapshotIdentifier")},
                    {"ARN", Str(s, "SnapshotArn")},
                    {"Volume", Str(s, "VolumeIdentifier")},
                    {"Type", Str(s, "SnapshotType")},
                    {"Status", Str(s, "Status")},
                    {"Size", Size(s, "SizeBytes") + " (" + Str(s, "SizeBytes") + " bytes)"},
                    {"Page size", Size(s, "PageSize")},
                    {"Compression", Str(s, "Compression")},
                    {"Created", Str(s, "SnapshotCreateTime")},
                    {"Encrypted", s.value("StorageEncrypted", false) ? "yes" : "no"},
                    {"KMS key", s.contains("KmsKeyId") ? Str(s, "KmsKeyId") : "-"},
                    {"Tags", TagsText(s)}});
}

std::string AliasesText(const json& k) {
  std::string text;
  for (const json& a : k.at("Aliases")) {
    if (!text.empty()) text += ", ";
    text += a.get<std::string>();
  }
  return text.empty() ? "-" : text;
}

void PrintKey(std::ostream& out, const json& k) {
  Fields fields = {
      {"Key", Str(k, "KeyId")},
      {"ARN", Str(k, "Arn")},
      {"Aliases", AliasesText(k)},
      {"State", Str(k, "KeyState")},
      {"Manager", Str(k, "KeyManager")},
      {"Spec", Str(k, "KeySpec")},
      {"Description", k.at("Description").get<std::string>().empty() ? "-" : Str(k, "Description")},
      {"Created", Str(k, "CreationDate")},
      {"Version", Str(k, "PrimaryKeyVersion") + " of " + Str(k, "KeyVersionCount")}};
  if (k.contains("DeletionDate")) fields.emplace_back("Deletion date", Str(k, "DeletionDate"));
  PrintFields(out, fields);
}

// The PEM itself, or where `clonectl key get-public-key --out` saved it.
void PrintPublicKey(std::ostream& out, const json& r) {
  if (r.contains("PublicKeyFile")) {
    out << "Wrote the " << Str(r, "KeySpec") << " public key of " << Str(r, "KeyId") << " to "
        << Str(r, "PublicKeyFile") << ".\n";
    return;
  }
  const std::string pem = Str(r, "PublicKey");
  out << pem;
  if (pem.empty() || pem.back() != '\n') out << '\n';
}

void PrintKeyList(std::ostream& out, const json& result) {
  const json& keys = result.at("Keys");
  if (keys.empty()) {
    out << "No keys.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"KEY", "ALIASES", "STATE", "CREATED"}};
  for (const json& k : keys) {
    rows.push_back({Str(k, "KeyId"), AliasesText(k), Str(k, "KeyState"), Str(k, "CreationDate")});
  }
  PrintTable(out, rows);
}

void PrintSnapshotList(std::ostream& out, const json& result) {
  const json& snapshots = result.at("Snapshots");
  if (snapshots.empty()) {
    out << "No snapshots.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VOLUME", "SIZE", "STATUS", "CREATED", "TAGS"}};
  for (const json& s : snapshots) {
    rows.push_back({Str(s, "SnapshotIdentifier"), Str(s, "VolumeIdentifier"), Size(s, "SizeBytes"),
                    Str(s, "Status"), Str(s, "SnapshotCreateTime"), TagsText(s)});
  }
  PrintTable(out, rows);
}

void PrintVolumeList(std::ostream& out, const json& result) {
  const json& volumes = result.at("Volumes");
  if (volumes.empty()) {
    out << "No volumes.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "SIZE", "PAGE", "COMPRESSION", "ENCRYPTED", "STATUS", "CREATED"}};
  for (const json& v : volumes) {
    // Another account's volume shared with the caller shows only what a clone inherits.
    const bool shared = v.value("Shared", false);
    rows.push_back({Str(v, "VolumeIdentifier"), Size(v, "SizeBytes"), Size(v, "PageSize"),
                    Str(v, "Compression"), v.value("StorageEncrypted", false) ? "yes" : "no",
                    shared ? "shared by " + Str(v, "OwnerAccountId") : Str(v, "Status"),
                    shared ? "-" : Str(v, "VolumeCreateTime")});
  }
  PrintTable(out, rows);
}

// `tag list` (and what `tag add` and `tag remove` leave): KEY  VALUE, in the order given.
void PrintTagList(std::ostream& out, const json& result) {
  const json& tags = result.at("TagList");
  if (tags.empty()) {
    out << "No tags.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"KEY", "VALUE"}};
  for (const json& t : tags) rows.push_back({Str(t, "Key"), Str(t, "Value")});
  PrintTable(out, rows);
}

void PrintUsage(std::ostream& out, const json& result) {
  std::vector<json> usages;
  if (result.contains("VolumeUsages")) {
    for (const json& u : result.at("VolumeUsages")) usages.push_back(u);
    if (usages.empty()) {
      out << "No volumes.\n";
      return;
    }
  } else {
    usages.push_back(result);
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "SIZE", "MAPPED", "STORED", "BACKUP"}};
  for (const json& u : usages) {
    rows.push_back({Str(u, "VolumeIdentifier"), Size(u, "LogicalBytes"),
                    Size(u, "MappedBytes") + " (" + Str(u, "MappedPages") + " pages)",
                    Size(u, "StoredBytes"), Size(u, "BackupStorageBytes")});
  }
  PrintTable(out, rows);
}

void PrintStoreInfo(std::ostream& out, const json& r) {
  PrintFields(out, {{"Directory", Str(r, "StoreDirectory")},
                    {"Region", Str(r, "Region")},
                    {"Account", Str(r, "AccountId")},
                    {"Format version", Str(r, "FormatVersion")}});
}

void PrintStoreUsage(std::ostream& out, const json& r) {
  PrintFields(out, {{"Volumes", Str(r, "VolumeCount")},
                    {"Segments", Str(r, "SegmentCount") + " (" + Size(r, "SegmentBytes") + ")"},
                    {"Live", Size(r, "LiveBytes")},
                    {"Garbage", Size(r, "GarbageBytes")}});
}

// One I/O row of `store stats`: calls, bytes, average IOPS and latency quantiles.
std::vector<std::string> OpRow(const char* name, const json& op) {
  const json& l = op.at("LatencyMicros");
  char iops[32];
  std::snprintf(iops, sizeof(iops), "%.1f", op.value("AverageIops", 0.0));
  return {name,           Str(op, "Count"), Size(op, "Bytes"), iops, Str(l, "P50"), Str(l, "P99"),
          Str(l, "P999"), Str(l, "Max"),    Str(op, "Errors")};
}

void PrintStoreStats(std::ostream& out, const json& r) {
  char rate[32];
  std::snprintf(rate, sizeof(rate), "%.1f%%", 100.0 * r.value("CacheHitRate", 0.0));
  const json& gc = r.at("Gc");
  PrintFields(out,
              {{"Uptime", Str(r, "UptimeSeconds") + " s"},
               {"Volumes", Str(r, "VolumeCount")},
               {"Snapshots", Str(r, "SnapshotCount")},
               {"Segments", Str(r, "SegmentCount") + " (" + Size(r, "SegmentBytes") + ", " +
                                Size(r, "GarbageBytes") + " garbage)"},
               {"Cache hit rate", std::string(rate) + " (" + Str(r, "CacheHits") + " hits, " +
                                      Str(r, "CacheMisses") + " misses)"},
               {"GC", Str(gc, "Passes") + " passes, " + Str(gc, "SegmentsDeleted") +
                          " segments deleted, " + Size(gc, "BytesReclaimed") + " reclaimed, last " +
                          (gc.at("LastPassTime").is_null() ? "never" : Str(gc, "LastPassTime"))},
               {"Checkpoints", Str(r, "Checkpoints")}});
  out << "\n";
  PrintTable(out,
             {{"OP", "COUNT", "BYTES", "IOPS", "P50_US", "P99_US", "P999_US", "MAX_US", "ERRORS"},
              OpRow("read", r.at("Reads")),
              OpRow("write", r.at("Writes")),
              OpRow("discard", r.at("Discards")),
              OpRow("sync", r.at("Syncs"))});
}

void PrintGc(std::ostream& out, const json& r) {
  const json& before = r.at("Before");
  const json& after = r.at("After");
  out << "Garbage collection reclaimed " << Size(r, "ReclaimedBytes") << " (segments "
      << Str(before, "SegmentCount") << " -> " << Str(after, "SegmentCount") << ", "
      << Size(before, "SegmentBytes") << " -> " << Size(after, "SegmentBytes") << ").\n";
}

void PrintInit(std::ostream& out, const json& r) {
  out << "Initialized store " << Str(r, "StoreDirectory") << " (region " << Str(r, "Region");
  if (r.contains("AccountId")) out << ", account " << Str(r, "AccountId");
  out << ").\n";
  if (r.contains("KeyFile")) {
    out << (r.value("KeyFileCreated", false) ? "Created key file " : "Using key file ")
        << Str(r, "KeyFile") << ": keep it safe and apart from the store's backups.\n";
  } else if (r.contains("RootSecret")) {
    out << "Its keys are protected by the passphrase.\n";
  }
}

std::string UsersText(const json& a) {
  std::string text;
  for (const json& u : a.at("Users")) {
    if (!text.empty()) text += ", ";
    text += Str(u, "UserName") + " (uid " + Str(u, "Uid") + ")";
  }
  return text.empty() ? "-" : text;
}

void PrintAccount(std::ostream& out, const json& a) {
  PrintFields(out, {{"Account", Str(a, "AccountId")},
                    {"Users", UsersText(a)},
                    {"Created", Str(a, "CreationTime")}});
}

void PrintAccountList(std::ostream& out, const json& result) {
  const json& accounts = result.at("Accounts");
  if (accounts.empty()) {
    out << "No accounts.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"ACCOUNT", "USERS", "CREATED"}};
  for (const json& a : accounts) {
    rows.push_back({Str(a, "AccountId"), UsersText(a), Str(a, "CreationTime")});
  }
  PrintTable(out, rows);
}

void PrintSnapshotAttributes(std::ostream& out, const json& result) {
  const json& r = result.at("SnapshotAttributesResult");
  for (const json& a : r.at("SnapshotAttributes")) {
    std::string values;
    for (const json& v : a.at("AttributeValues")) {
      values += (values.empty() ? "" : ", ") + v.get<std::string>();
    }
    out << Str(r, "SnapshotIdentifier") << ' ' << Str(a, "AttributeName") << ": "
        << (values.empty() ? "(no other account)" : values) << '\n';
  }
}

void PrintShares(std::ostream& out, const json& shares) {
  if (shares.empty()) {
    out << "No resource shares.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "RESOURCE", "CREATED", "ARN"}};
  for (const json& s : shares) {
    rows.push_back({Str(s, "Name"), s.at("ResourceArns").at(0).get<std::string>(),
                    Str(s, "CreationTime"), Str(s, "ResourceShareArn")});
  }
  PrintTable(out, rows);
}

void PrintPrincipals(std::ostream& out, const json& result) {
  const json& principals = result.at("Principals");
  if (principals.empty()) {
    out << "Shared with no account.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"ACCOUNT", "STATUS", "SHARE", "SINCE"}};
  for (const json& p : principals) {
    rows.push_back(
        {Str(p, "Id"), Str(p, "Status"), Str(p, "ResourceShareName"), Str(p, "LastUpdatedTime")});
  }
  PrintTable(out, rows);
}

void PrintInvitations(std::ostream& out, const json& invitations) {
  if (invitations.empty()) {
    out << "No invitations.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"INVITATION", "SHARE", "FROM", "STATUS", "SENT"}};
  for (const json& i : invitations) {
    rows.push_back({Str(i, "ResourceShareInvitationArn"), Str(i, "ResourceShareName"),
                    Str(i, "SenderAccountId"), Str(i, "Status"), Str(i, "InvitationTimestamp")});
  }
  PrintTable(out, rows);
}

}  // namespace

void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

std::string FormatProgressBar(std::string_view label, uint64_t done, uint64_t total, size_t width) {
  done = std::min(done, total);
  // In 1/1000ths, without overflowing for any 64-bit total.
  const uint64_t permille =
      total == 0 ? 1000 : static_cast<uint64_t>(static_cast<long double>(done) * 1000 / total);
  const size_t filled = static_cast<size_t>(permille * width / 1000);
  char percent[8];
  std::snprintf(percent, sizeof(percent), "%3u%%", static_cast<unsigned>(permille / 10));
  std::string line(label);
  line += " [" + std::string(filled, '#') + std::string(width - filled, '-') + "] ";
  line += percent;
  line += "  " + FormatSize(done) + " / " + FormatSize(total);
  return line;
}

void PrintHuman(std::ostream& real_out, std::string_view command, const json& result) {
  std::ostringstream out;  // rendered whole, so a surprise midway prints no half table
  try {
    if (command == "volume.create" || command == "volume.show" || command == "volume.resize" ||
        command == "volume.modify" || command == "volume.clone" || command == "volume.restore" ||
        command == "volume.restore_to_time" || command == "volume.rekey") {
      PrintVolume(out, result);
    } else if (command == "volume.delete") {
      out << "Deleted volume '" << Str(result, "VolumeIdentifier") << "'.\n";
    } else if (command == "volume.list") {
      PrintVolumeList(out, result);
    } else if (command == "volume.usage") {
      PrintUsage(out, result);
    } else if (command == "snapshot.create" || command == "snapshot.show" ||
               command == "snapshot.copy" || command == "snapshot.import") {
      PrintSnapshot(out, result);
    } else if (command == "snapshot.delete") {
      out << "Deleted snapshot '" << Str(result, "SnapshotIdentifier") << "'.\n";
    } else if (command == "snapshot.list") {
      PrintSnapshotList(out, result);
    } else if (command == "store.info") {
      PrintStoreInfo(out, result);
    } else if (command == "store.stats") {
      PrintStoreStats(out, result);
    } else if (command == "store.usage") {
      PrintStoreUsage(out, result);
    } else if (command == "store.gc") {
      PrintGc(out, result);
    } else if (command == "store.sync") {
      out << "Store synced.\n";
    } else if (command == "init") {
      PrintInit(out, result);
    } else if (command == "key.list") {
      PrintKeyList(out, result);
    } else if (command == "key.policy_get" || command == "key.policy_put") {
      out << Str(result, "Policy") << '\n';
    } else if (command == "key.get_public_key") {
      PrintPublicKey(out, result);
    } else if (command.rfind("key.", 0) == 0) {
      PrintKey(out, result);
    } else if (command == "account.create" || command == "account.show") {
      PrintAccount(out, result);
    } else if (command == "account.list") {
      PrintAccountList(out, result);
    } else if (command.rfind("snapshot.attribute.", 0) == 0) {
      PrintSnapshotAttributes(out, result);
    } else if (command == "share.create") {
      PrintShares(out, json::array({result.at("ResourceShare")}));
    } else if (command == "share.list") {
      PrintShares(out, result.at("ResourceShares"));
    } else if (command == "share.delete") {
      out << "Deleted the resource share.\n";
    } else if (command == "share.principals") {
      PrintPrincipals(out, result);
    } else if (command == "invitation.list") {
      PrintInvitations(out, result.at("ResourceShareInvitations"));
    } else if (command.rfind("tag.", 0) == 0) {
      PrintTagList(out, result);
    } else if (command == "invitation.accept" || command == "invitation.reject") {
      PrintInvitations(out, json::array({result.at("ResourceShareInvitation")}));
    } else {
      out << JsonToString(result, 2) << '\n';
    }
  } catch (const std::exception&) {
    real_out << JsonToString(result, 2) << '\n';  // a result shape this clonectl does not know
    return;
  }
  real_out << out.str();
}

}  // namespace clonefs::control
