// ScaledClockEnv: an Env whose wall clock starts at a chosen time and runs `rate` times faster
// than the real one, so that a running daemon lives through days of backup windows and
// retention in minutes (the daemon's clock_start= and clock_rate= options, for tests). Its
// monotonic clock and waits are the real ones: checkpoints and other timers keep their pace.
// Files go to the wrapped Env. Thread-safe.
#pragma once

#include "base/env.h"

namespace clonefs {

class ScaledClockEnv final : public EnvWrapper {
 public:
  ScaledClockEnv(Env* target, uint64_t start_us, uint64_t rate)
      : EnvWrapper(target), start_us_(start_us), rate_(rate), origin_(target->MonotonicMicros()) {}

  uint64_t NowMicros() override {
    return start_us_ + (target()->MonotonicMicros() - origin_) * rate_;
  }

 private:
  const uint64_t start_us_;
  const uint64_t rate_;
  const uint64_t origin_;
};

}  // namespace clonefs
