#include "tests/testing/fake_clock_env.h"

#include <chrono>

namespace clonefs::testing {

void FakeClockEnv::WaitFor(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                           uint64_t micros, const std::function<bool()>& wake) {
  const uint64_t deadline = monotonic_us_.load() + micros;
  while (!wake() && monotonic_us_.load() < deadline) {
    cv.wait_for(lock, std::chrono::milliseconds(5));
  }
}

}  // namespace clonefs::testing
