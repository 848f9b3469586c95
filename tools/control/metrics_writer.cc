#include "tools/control/metrics_writer.h"

#include <spdlog/spdlog.h>

#include "tools/control/store_stats.h"

namespace clonefs::control {

MetricsWriter::MetricsWriter(store::Store* store, std::string path, uint64_t interval_us)
    : store_(store), path_(std::move(path)), interval_us_(interval_us) {
  WriteOnce();
  thread_ = std::thread([this] { Loop(); });
}

MetricsWriter::~MetricsWriter() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  WriteOnce();
}

void MetricsWriter::WriteOnce() {
  Status s = WriteFileAtomically(Env::Default(), path_, StoreStatsToPrometheus(store_->GetStats()));
  if (!s.ok()) spdlog::warn("metrics: cannot write {}: {}", path_, s.ToString());
}

void MetricsWriter::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    Env::Default()->WaitFor(cv_, l, interval_us_, [this] { return stopping_; });
    if (stopping_) break;
    l.unlock();
    WriteOnce();
    l.lock();
  }
}

}  // namespace clonefs::control
