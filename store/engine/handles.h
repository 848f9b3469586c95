// Handles onto a volume or a snapshot, as Store::OpenVolume / OpenSnapshot return them. Each
// counts itself in the state's open_handles while it lives (delete refuses while any is open).
#pragma once

#include <memory>

#include "store/engine/state.h"
#include "store/store.h"

namespace clonefs::store {

class StoreImpl;

std::shared_ptr<VolumeHandle> NewVolumeHandle(StoreImpl* store, std::shared_ptr<VolumeState> vol);
std::shared_ptr<VolumeHandle> NewSnapshotHandle(StoreImpl* store,
                                                std::shared_ptr<SnapshotState> snap);

}  // namespace clonefs::store
