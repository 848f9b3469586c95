// store stats: the JSON shape, the Prometheus text format, and who may ask.
#include "tools/control/store_stats.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

store::StoreStats Sample() {
  store::StoreStats s;
  s.open_time_us = 1'000'000;
  s.now_us = 11'000'000;  // ten seconds up
  s.writes = store::OpStats{500, 500 * 4096, 2, 16, 32, 64, 128, 300};
  s.cache_hits = 3;
  s.cache_misses = 1;
  s.gc_passes = 4;
  return s;
}

TEST(StoreStats, JsonHasRatesQuantilesAndTheHitRate) {
  json j = StoreStatsToJson(Sample());
  EXPECT_DOUBLE_EQ(j["UptimeSeconds"].get<double>(), 10.0);
  EXPECT_EQ(j["Writes"]["Count"], 500);
  EXPECT_DOUBLE_EQ(j["Writes"]["AverageIops"].get<double>(), 50.0);
  EXPECT_EQ(j["Writes"]["LatencyMicros"]["P99"], 64);
  EXPECT_EQ(j["Writes"]["Errors"], 2);
  EXPECT_DOUBLE_EQ(j["CacheHitRate"].get<double>(), 0.75);
  EXPECT_EQ(j["Gc"]["Passes"], 4);
  EXPECT_TRUE(j["Gc"]["LastPassTime"].is_null());
  EXPECT_EQ(j["SegmentCount"], 0);
}

TEST(StoreStats, PrometheusTextIsWellFormed) {
  const std::string text = StoreStatsToPrometheus(Sample());
  std::istringstream in(text);
  std::string line;
  const std::regex sample(
      R"(clonefs_[a-z_]+(\{[a-z]+="[a-z0-9.]+"(,[a-z]+="[a-z0-9.]+")*\})? \S+)");
  const std::regex meta(R"(# (HELP|TYPE) clonefs_[a-z_]+ .+)");
  size_t samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, meta)) << line;
    } else {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
      ++samples;
    }
  }
  EXPECT_GT(samples, 20u);
  EXPECT_NE(text.find("clonefs_ops_total{op=\"write\"} 500\n"), std::string::npos) << text;
  EXPECT_NE(text.find("clonefs_latency_seconds{op=\"write\",quantile=\"0.99\"} 6.4e-05"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE clonefs_gc_passes_total counter"), std::string::npos);
}

class StoreStatsCommand : public testing::DispatcherTest {};

TEST_F(StoreStatsCommand, TheOwnerSeesTheStoresFigures) {
  Ok("volume.create", {{"name", "db"}, {"size", "1M"}});
  json s = Ok("store.stats");
  EXPECT_EQ(s["VolumeCount"], 1);
  EXPECT_TRUE(s["Reads"]["LatencyMicros"].contains("P999"));
  EXPECT_GE(s["UptimeSeconds"].get<double>(), 0.0);
}

}  // namespace
}  // namespace clonefs::control
