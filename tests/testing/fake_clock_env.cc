#include "tests/testing/fake_clock_env.h"

#include <chrono>

namespace clonefs::testing {

void FakeClockEnv::WaitFor(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                           uint64_t micros) {
  const uint64_t deadline = monotonic_us_.load() + micros;
  while (monotonic_us_.load() < deadline) {
    // no_timeout: notified (or a spurious wake-up, which any caller must take anyway).
    if (cv.wait_for(lock, std::chrono::milliseconds(5)) == std::cv_status::no_timeout) return;
  }
}

}  // namespace clonefs::testing
