#include "tools/control/cli_output.h"

#include <algorithm>
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

void PrintVolume(std::ostream& out, const json& v) {
  PrintFields(out, {{"Volume", Str(v, "VolumeIdentifier")},
                    {"ARN", Str(v, "VolumeArn")},
                    {"Id", Str(v, "VolumeId")},
                    {"Status", Str(v, "Status")},
                    {"Size", Size(v, "SizeBytes") + " (" + Str(v, "SizeBytes") + " bytes)"},
                    {"Page size", Size(v, "PageSize")},
                    {"Compression", Str(v, "Compression")},
                    {"Created", Str(v, "VolumeCreateTime")},
                    {"Epoch", Str(v, "Epoch")}});
}

void PrintVolumeList(std::ostream& out, const json& result) {
  const json& volumes = result.at("Volumes");
  if (volumes.empty()) {
    out << "No volumes.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "SIZE", "PAGE", "COMPRESSION", "STATUS", "CREATED"}};
  for (const json& v : volumes) {
    rows.push_back({Str(v, "VolumeIdentifier"), Size(v, "SizeBytes"), Size(v, "PageSize"),
                    Str(v, "Compression"), Str(v, "Status"), Str(v, "VolumeCreateTime")});
  }
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
  std::vector<std::vector<std::string>> rows = {{"NAME", "SIZE", "MAPPED", "STORED"}};
  for (const json& u : usages) {
    rows.push_back({Str(u, "VolumeIdentifier"), Size(u, "LogicalBytes"),
                    Size(u, "MappedBytes") + " (" + Str(u, "MappedPages") + " pages)",
                    Size(u, "StoredBytes")});
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

void PrintHuman(std::ostream& real_out, std::string_view command, const json& result) {
  std::ostringstream out;  // rendered whole, so a surprise midway prints no half table
  try {
    if (command == "volume.create" || command == "volume.show" || command == "volume.resize") {
      PrintVolume(out, result);
    } else if (command == "volume.delete") {
      out << "Deleted volume '" << Str(result, "VolumeIdentifier") << "'.\n";
    } else if (command == "volume.list") {
      PrintVolumeList(out, result);
    } else if (command == "volume.usage") {
      PrintUsage(out, result);
    } else if (command == "store.info") {
      PrintStoreInfo(out, result);
    } else if (command == "store.usage") {
      PrintStoreUsage(out, result);
    } else if (command == "store.gc") {
      PrintGc(out, result);
    } else if (command == "store.sync") {
      out << "Store synced.\n";
    } else if (command == "init") {
      PrintInit(out, result);
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
