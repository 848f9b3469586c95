// The store's two background threads. Their timers run on the Env's monotonic clock, so tests
// drive them with a fake clock (tests/testing/fake_clock_env.h).
#include <spdlog/spdlog.h>

#include "store/engine/store_impl.h"

namespace clonefs::store {
namespace {

constexpr uint64_t kSecond = 1000000;                   // in Env microseconds
constexpr uint64_t kWriteBackInterval = 1 * kSecond;    // buffered records go to disk
constexpr uint64_t kCheckpointInterval = 30 * kSecond;  // a small overlay is checkpointed
constexpr uint64_t kGcInterval = 60 * kSecond;          // garbage is looked at
// Writes no one synced become a restore point after this long (ext4 commits every 5 s, so a
// mounted filesystem syncs at least as often): the latest restorable time stays this close.
constexpr uint64_t kRestorePointLag = 5 * kSecond;
constexpr uint64_t kTrimInterval = 60 * kSecond;  // restore points leave their windows

}  // namespace

void StoreImpl::BackgroundLoop() {
  uint64_t last_checkpoint = env()->MonotonicMicros();
  uint64_t last_trim = last_checkpoint;
  LogPosition last_tail = log_->Tail();
  std::unique_lock<std::mutex> l(bg_mu_);
  while (!stopping_) {
    env()->WaitFor(bg_cv_, l, kWriteBackInterval,
                   [&] { return stopping_ || checkpoint_wanted_.load(); });
    if (stopping_) break;
    checkpoint_wanted_ = false;
    l.unlock();
    const uint64_t now = env()->MonotonicMicros();
    // Buffered records older than a second go to disk, as the kernel would write back dirty
    // pages; a failure is logged by the log and retried on the next round.
    log_->Flush().IgnoreError();
    // A second without appends: the write buffer's spare chunks go back to the system.
    const LogPosition tail = log_->Tail();
    if (tail == last_tail) log_->ReleaseSpareMemory();
    last_tail = tail;
    if (options_.restore_points && now - last_sync_us_.load() > kRestorePointLag) {
      bool dirty;
      {
        std::lock_guard<std::mutex> m(misc_mu_);
        dirty = !dirty_volumes_.empty();
      }
      if (dirty) {
        Status s = Sync();
        if (!s.ok()) spdlog::warn("store {}: background sync: {}", dir_, s.ToString());
      }
    }
    if (now - last_trim > kTrimInterval) {
      TrimAllRestorePoints();
      last_trim = now;
    }
    const size_t pending = map_->overlay_size();
    if (pending >= options_.checkpoint_entries ||
        (pending > 0 && now - last_checkpoint > kCheckpointInterval)) {
      if (Checkpoint().ok()) last_checkpoint = now;
    }
    l.lock();
  }
}

// On its own thread: a GC pass (scans, copies, file deletions) takes seconds, and checkpoints
// must go on meanwhile, or writers would have to run them.
void StoreImpl::GcLoop() {
  std::unique_lock<std::mutex> l(bg_mu_);
  while (!stopping_) {
    env()->WaitFor(gc_cv_, l, kGcInterval, [&] { return stopping_ || gc_requested_; });
    gc_requested_ = false;
    if (stopping_) break;
    l.unlock();
    StoreUsage u = GetUsage();
    // Restore points that left a window may have been all that read many versions: only a
    // pass finds them (they count as live until then).
    if (history_gc_wanted_.exchange(false) ||
        (u.garbage_bytes > options_.segment_bytes && u.garbage_bytes * 4 > u.segment_bytes)) {
      Status s = CollectGarbage();
      if (!s.ok()) spdlog::warn("store {}: background GC: {}", dir_, s.ToString());
    }
    l.lock();
  }
}

}  // namespace clonefs::store
