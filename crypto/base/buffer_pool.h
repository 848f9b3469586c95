// BufferPool: a bounded, thread-safe free list of byte buffers that outlives the operations
// using it. An export hands buffers of about 1 MiB between threads and frees them all when it
// ends; the allocator gives that memory back to the system, and the next export faults every
// page of it in again (about 3,000 page faults and a zero fill of each buffer, a third of the
// CPU an incremental export of 20 MiB takes). Buffers kept here keep their pages and their
// size, so a resize to the same size or less costs nothing.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace clonefs {

class BufferPool {
 public:
  // Keeps at most `max_buffers` buffers of at most `max_bytes` each.
  BufferPool(size_t max_buffers, size_t max_bytes)
      : max_buffers_(max_buffers), max_bytes_(max_bytes) {}

  // A kept buffer (whatever it held: the caller overwrites it), or an empty one.
  std::string Take();
  // Keeps `buffer` if there is room and it is neither too large nor too small to matter (a
  // moved-from string); frees it otherwise.
  void Give(std::string buffer);
  size_t kept() const;

  // The pool of page buffers shared by the scans of a process (RunReader, the exporter, the
  // importer):
  // 32 buffers of up to 2 MiB.
  static BufferPool& Pages();

 private:
  static constexpr size_t kMinBytes = 4096;
  const size_t max_buffers_;
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::vector<std::string> kept_;  // GUARDED_BY mu_
};

}  // namespace clonefs
