// FileHandleBudget: keeps the open handles of many files near a limit.
//
// A store of 100 GiB has 1,600 segment files of 64 MiB; holding a handle to each (two, once
// read) would run a daemon started with the common soft limit of 1,024 descriptors out of
// them, and grow without bound with the data written. So a file opens its handles on first
// use and registers with a budget; when more than `limit` handles are open, the budget closes
// those not used for longest, by a clock: a holder whose handles were used since the last look
// is spared once (its "used" mark is cleared), one whose handles were not is asked to close
// them. A closed handle reopens on its next use. A handle in use when it is closed stays open
// until that use ends, so the descriptors open at once are at most `limit` plus the calls in
// flight. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>

namespace clonefs::store {

class FileHandleBudget {
 public:
  // Something that holds open handles, such as one segment file.
  class Holder {
   public:
    virtual ~Holder() = default;
    // Closes its handles if none was used since the last call (which clears that mark);
    // returns how many it closed. Called with the budget's lock held: it must not call back.
    virtual size_t CloseIfIdle() = 0;
  };

  explicit FileHandleBudget(size_t limit) : limit_(limit < 2 ? 2 : limit) {}

  void Add(Holder* holder);
  // After Remove returns, the budget no longer calls `holder`; `still_open` of its handles
  // are given back.
  void Remove(Holder* holder, size_t still_open);
  // A holder opened one handle. Past the limit, idle handles are closed until a quarter of
  // the budget is free again, so that sweeps are rare.
  void Opened();

  size_t limit() const { return limit_; }
  // Handles open now, as counted (in-flight uses of closed ones are not).
  size_t open() const;

 private:
  void Sweep();

  const size_t limit_;
  std::atomic<int64_t> open_{0};
  mutable std::mutex mu_;
  std::set<Holder*> holders_;  // GUARDED_BY(mu_)
  Holder* hand_ = nullptr;     // GUARDED_BY(mu_): where the clock looks next
};

}  // namespace clonefs::store
