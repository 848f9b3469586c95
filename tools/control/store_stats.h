// The store's I/O, cache and GC figures (Store::GetStats) as `clonectl store stats --json`
// shows them and as a Prometheus text-format metrics file (the daemon's metrics= option).
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "store/store.h"

namespace clonefs::control {

// {"UptimeSeconds", "Reads"|"Writes"|"Discards"|"Syncs": {"Count","Bytes","Errors",
//  "AverageIops","LatencyMicros": {"P50","P90","P99","P999","Max"}}, "CacheHits",
//  "CacheMisses", "CacheHitRate", "Gc": {"Passes","SegmentsDeleted","BytesReclaimed",
//  "LastPassTime"}, "Checkpoints", "VolumeCount", "SnapshotCount", plus StoreUsageToJson's}.
nlohmann::json StoreStatsToJson(const store::StoreStats& stats);

// The same figures in the Prometheus text exposition format (version 0.0.4), every name
// prefixed clonefs_, with HELP and TYPE lines.
std::string StoreStatsToPrometheus(const store::StoreStats& stats);

}  // namespace clonefs::control
