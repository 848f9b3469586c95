// MetricsWriter: the daemon's metrics= option. Every interval it replaces a file with the
// store's figures in the Prometheus text format (control/store_stats.h), atomically, so that
// node_exporter's textfile collector (or anything reading it) never sees half a file.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "base/env.h"
#include "store/store.h"

namespace clonefs::control {

class MetricsWriter {
 public:
  // Writes the file once now and then every `interval_us`. REQUIRES: `store` outlives it.
  MetricsWriter(store::Store* store, std::string path, uint64_t interval_us);
  ~MetricsWriter();  // writes the file a last time
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

 private:
  void WriteOnce();
  void Loop();

  store::Store* const store_;
  const std::string path_;
  const uint64_t interval_us_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace clonefs::control
