// FakeClockEnv: an Env whose wall clock and monotonic clock move only when the test says so,
// so that timers (checkpoints, GC, key deletion windows, backups) run days in milliseconds.
// Files go to the wrapped Env. Thread-safe.
#pragma once

#include <atomic>

#include "base/env.h"

namespace clonefs::testing {

class FakeClockEnv final : public EnvWrapper {
 public:
  // Starts at wall time `now_us` (microseconds since the Unix epoch).
  explicit FakeClockEnv(uint64_t now_us, Env* target = Env::Default())
      : EnvWrapper(target), wall_us_(now_us) {}

  // Moves both clocks forward; waits whose time has come return within a few milliseconds.
  void Advance(uint64_t us) {
    wall_us_ += us;
    monotonic_us_ += us;
  }

  uint64_t NowMicros() override { return wall_us_; }
  uint64_t MonotonicMicros() override { return monotonic_us_; }
  // Returns once `wake()` is true or the fake clock has moved `micros` on. The fake time is
  // looked at every few real milliseconds, so Advance() needs no handle on the waiters.
  void WaitFor(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, uint64_t micros,
               const std::function<bool()>& wake) override;

 private:
  std::atomic<uint64_t> wall_us_;
  std::atomic<uint64_t> monotonic_us_{0};
};

}  // namespace clonefs::testing
