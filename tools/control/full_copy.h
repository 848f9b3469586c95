// Independent full copies: `volume clone --full-copy` and `volume restore --full-copy`.
//
// A full copy is a new root volume (its own clone lineage, so it does not count against the
// source's clone quota) holding the bytes of a source handle. It is created with the source's
// size, page size, compression and encryption (an encrypted source's copy is encrypted, under
// the source's KMS key or the one named; an unencrypted source's copy cannot be), filled in 1 MiB
// chunks (chunks that are all zeros are skipped, so holes stay holes) and synced. It takes time
// proportional to the source's size, unlike a copy-on-write clone. Thread-safe (it only uses the
// thread-safe Store).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/result.h"
#include "store/store.h"
#include "tools/control/commands.h"

namespace clonefs::control {

constexpr uint64_t kCopyChunkBytes = 1 << 20;
// Progress is reported at the start, at the end, and in between at most this often.
constexpr std::chrono::milliseconds kProgressInterval(100);

// Creates volume `name` (tagged `tags`) and copies `source` into it. `progress` (may be empty)
// hears (bytes done, source size); `cancelled` (may be empty) is polled between chunks. On any
// failure, or when cancelled (OperationCancelled), the new volume is deleted again before the
// error is returned, so a failed copy leaves nothing behind.
Result<store::VolumeInfo> FullCopy(store::Store* store, store::VolumeHandle& source,
                                   const std::string& name, const std::string& kms_key,
                                   const store::Tags& tags, const ProgressFn& progress,
                                   const CancelledFn& cancelled);

}  // namespace clonefs::control
