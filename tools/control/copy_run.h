// One snapshot copy: the checks made when it is accepted (PlanCopy) and the copy itself
// (ExecuteCopy), for CopyService and for clonectl's direct mode.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "store/store.h"
#include "tools/control/copy_service.h"

namespace clonefs::control {

struct CopyPlan {
  CopyRequest request;
  std::string source_arn;
  std::string source_region;  // empty: this region
  std::string source_dir;     // the other region's store directory
  std::string source_name;
  store::SnapshotInfo source;  // as described when planned (size, encryption, tags)
  // A source of this store, pinned from the moment the copy is accepted: deleting it while
  // the copy waits or runs does not take the pages it copies. (Another region's source is
  // pinned there while its stream is written.)
  std::shared_ptr<store::SnapshotPin> pin;
  std::string kms_key;  // the target's key; empty for an unencrypted copy
  store::Tags tags;     // the target's tags
};

// Everything that can be refused before any byte moves: the target name (Aurora's rules),
// the source (exists, available, in a known region), the encryption rules and the key.
// `target_taken` says whether a copy in progress holds a name.
Result<CopyPlan> PlanCopy(store::Store* store, const CopyRequest& request,
                          const std::function<bool(const std::string&)>& target_taken);

// Copies. `progress(done, total)` is called now and then (pages), `cancelled` polled between
// chunks. Nothing of the target is visible unless it returns OK.
Result<store::SnapshotInfo> ExecuteCopy(store::Store* store, const CopyPlan& plan,
                                        const std::function<void(uint64_t, uint64_t)>& progress,
                                        const std::function<bool()>& cancelled);

}  // namespace clonefs::control
