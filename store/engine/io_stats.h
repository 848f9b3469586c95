// Counters of the store's volume I/O and background work, for Store::GetStats: lock-free
// (relaxed atomics), so that counting costs a few nanoseconds on the data path.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

#include "store/store.h"

namespace clonefs::store {

// Latencies in power-of-two buckets of microseconds: bucket i holds [2^(i-1), 2^i) (bucket 0:
// under 1 µs). A percentile is reported as its bucket's upper bound, so within 2x.
class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = 40;  // up to 2^39 µs: about six days

  void Record(uint64_t micros) {
    const size_t b = std::min<size_t>(std::bit_width(micros), kBuckets - 1);
    buckets_[b].fetch_add(1, std::memory_order_relaxed);
    uint64_t seen = max_.load(std::memory_order_relaxed);
    while (micros > seen && !max_.compare_exchange_weak(seen, micros, std::memory_order_relaxed)) {
    }
  }
  // The upper bound of the bucket holding the `fraction` (0..1) quantile; 0 with no samples.
  uint64_t Quantile(double fraction) const {
    std::array<uint64_t, kBuckets> counts{};
    uint64_t total = 0;
    for (size_t i = 0; i < kBuckets; ++i) total += counts[i] = buckets_[i].load();
    if (total == 0) return 0;
    const auto rank = static_cast<uint64_t>(fraction * static_cast<double>(total - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts[i];
      if (seen >= rank) return std::min<uint64_t>(uint64_t{1} << i, max());
    }
    return max();
  }
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> max_{0};
};

struct OpCounters {
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> errors{0};
  LatencyHistogram latency;

  void Record(uint64_t n, uint64_t micros, bool ok) {
    count.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(n, std::memory_order_relaxed);
    if (!ok) errors.fetch_add(1, std::memory_order_relaxed);
    latency.Record(micros);
  }
  OpStats Snapshot() const {
    return OpStats{count.load(),
                   bytes.load(),
                   errors.load(),
                   latency.Quantile(0.50),
                   latency.Quantile(0.90),
                   latency.Quantile(0.99),
                   latency.Quantile(0.999),
                   latency.max()};
  }
};

struct IoStats {
  OpCounters reads, writes, discards, syncs;
  std::atomic<uint64_t> gc_passes{0};
  std::atomic<uint64_t> gc_segments_deleted{0};
  std::atomic<uint64_t> gc_bytes_reclaimed{0};
  std::atomic<uint64_t> gc_last_pass_us{0};  // wall time of the last pass's end
  std::atomic<uint64_t> checkpoints{0};
};

}  // namespace clonefs::store
