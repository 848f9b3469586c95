#include "tools/control/store_stats.h"

#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

#include "tools/control/json_views.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

double Seconds(uint64_t micros) { return static_cast<double>(micros) / 1e6; }

double UptimeSeconds(const store::StoreStats& s) {
  return s.now_us > s.open_time_us ? Seconds(s.now_us - s.open_time_us) : 0.0;
}

json OpJson(const store::OpStats& op, double uptime) {
  return {{"Count", op.count},
          {"Bytes", op.bytes},
          {"Errors", op.errors},
          {"AverageIops", uptime > 0 ? static_cast<double>(op.count) / uptime : 0.0},
          {"LatencyMicros",
           {{"P50", op.p50_us},
            {"P90", op.p90_us},
            {"P99", op.p99_us},
            {"P999", op.p999_us},
            {"Max", op.max_us}}}};
}

double HitRate(const store::StoreStats& s) {
  const uint64_t lookups = s.cache_hits + s.cache_misses;
  return lookups == 0 ? 0.0 : static_cast<double>(s.cache_hits) / static_cast<double>(lookups);
}

// Appends one metric family: HELP, TYPE and its samples ("" labels: a single sample).
class Exposition {
 public:
  void Family(const std::string& name, const char* type, const char* help,
              const std::vector<std::pair<std::string, double>>& samples) {
    text_ += "# HELP clonefs_" + name + " " + help + "\n";
    text_ += "# TYPE clonefs_" + name + " " + type + "\n";
    for (const auto& [labels, value] : samples) {
      // Counts exactly (doubles hold integers to 2^53); fractions to nine digits.
      char number[64];
      const bool whole = value == std::floor(value) && std::fabs(value) < 9e15;
      std::snprintf(number, sizeof(number), whole ? "%.0f" : "%.9g", value);
      text_ += "clonefs_" + name + labels + " " + number + "\n";
    }
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace

json StoreStatsToJson(const store::StoreStats& s) {
  const double uptime = UptimeSeconds(s);
  json j = StoreUsageToJson(s.usage);
  j["UptimeSeconds"] = uptime;
  j["Reads"] = OpJson(s.reads, uptime);
  j["Writes"] = OpJson(s.writes, uptime);
  j["Discards"] = OpJson(s.discards, uptime);
  j["Syncs"] = OpJson(s.syncs, uptime);
  j["CacheHits"] = s.cache_hits;
  j["CacheMisses"] = s.cache_misses;
  j["CacheHitRate"] = HitRate(s);
  j["Gc"] = {{"Passes", s.gc_passes},
             {"SegmentsDeleted", s.gc_segments_deleted},
             {"BytesReclaimed", s.gc_bytes_reclaimed},
             {"LastPassTime", s.gc_last_pass_us == 0 ? json() : json(IsoTime(s.gc_last_pass_us))}};
  j["Checkpoints"] = s.checkpoints;
  j["VolumeCount"] = s.volumes;
  j["SnapshotCount"] = s.snapshots;
  return j;
}

std::string StoreStatsToPrometheus(const store::StoreStats& s) {
  Exposition e;
  const std::pair<const char*, const store::OpStats*> ops[] = {
      {"read", &s.reads}, {"write", &s.writes}, {"discard", &s.discards}, {"sync", &s.syncs}};
  auto per_op = [&](auto value) {
    std::vector<std::pair<std::string, double>> samples;
    for (const auto& [op, stats] : ops) {
      samples.emplace_back(std::string("{op=\"") + op + "\"}", value(*stats));
    }
    return samples;
  };
  e.Family("ops_total", "counter", "Volume I/O calls since the store was opened.",
           per_op([](const store::OpStats& o) { return static_cast<double>(o.count); }));
  e.Family("bytes_total", "counter", "Bytes read, written or discarded since open.",
           per_op([](const store::OpStats& o) { return static_cast<double>(o.bytes); }));
  e.Family("errors_total", "counter", "Volume I/O calls that failed since open.",
           per_op([](const store::OpStats& o) { return static_cast<double>(o.errors); }));
  std::vector<std::pair<std::string, double>> quantiles;
  for (const auto& [op, o] : ops) {
    const std::pair<const char*, uint64_t> qs[] = {
        {"0.5", o->p50_us}, {"0.9", o->p90_us}, {"0.99", o->p99_us}, {"0.999", o->p999_us}};
    for (const auto& [q, us] : qs) {
      quantiles.emplace_back(std::string("{op=\"") + op + "\",quantile=\"" + q + "\"}",
                             Seconds(us));
    }
  }
  e.Family("latency_seconds", "gauge",
           "Latency quantiles of volume I/O since open (upper bounds of power-of-two buckets).",
           quantiles);
  struct Single {
    const char* name;
    const char* type;
    const char* help;
    double value;
  };
  auto n = [](uint64_t v) { return static_cast<double>(v); };
  const Single singles[] = {
      {"uptime_seconds", "gauge", "Seconds since the store was opened.", UptimeSeconds(s)},
      {"segments", "gauge", "Segment files in the store.", n(s.usage.segment_count)},
      {"segment_bytes", "gauge", "Bytes in segment files.", n(s.usage.segment_bytes)},
      {"live_bytes", "gauge", "Bytes of records something can still read.", n(s.usage.live_bytes)},
      {"garbage_bytes", "gauge", "Bytes garbage collection can reclaim.", n(s.usage.garbage_bytes)},
      {"cache_hits_total", "counter", "Metadata lookups the block cache answered.",
       n(s.cache_hits)},
      {"cache_misses_total", "counter", "Metadata lookups that read the disk.", n(s.cache_misses)},
      {"gc_passes_total", "counter", "Garbage-collection passes.", n(s.gc_passes)},
      {"gc_segments_deleted_total", "counter", "Segments garbage collection deleted.",
       n(s.gc_segments_deleted)},
      {"gc_reclaimed_bytes_total", "counter", "Segment bytes garbage collection gave back.",
       n(s.gc_bytes_reclaimed)},
      {"checkpoints_total", "counter", "Page-map checkpoints written.", n(s.checkpoints)},
      {"volumes", "gauge",
       "Volumes (not those deleted and kept only for their snapshots or clones).", n(s.volumes)},
      {"snapshots", "gauge", "Snapshots.", n(s.snapshots)},
  };
  for (const Single& one : singles) e.Family(one.name, one.type, one.help, {{"", one.value}});
  return e.take();
}

}  // namespace clonefs::control
