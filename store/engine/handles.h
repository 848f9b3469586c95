// Handles onto a volume or a snapshot, as Store::OpenVolume / OpenSnapshot return them. Each
// counts itself in the state's open_handles while it lives (delete refuses while any is open).
// A SnapshotPin reads like a snapshot handle but counts in `pins` instead (delete goes ahead).
#pragma once

#include <memory>

#include "store/engine/state.h"
#include "store/store.h"

namespace clonefs::store {

class StoreImpl;

std::shared_ptr<VolumeHandle> NewVolumeHandle(StoreImpl* store, std::shared_ptr<VolumeState> vol);
std::shared_ptr<VolumeHandle> NewSnapshotHandle(StoreImpl* store,
                                                std::shared_ptr<SnapshotState> snap);
// `info`: the snapshot as GetSnapshot shows it (with its volume's encryption).
// REQUIRES: catalog_mu_ held (the pin counts itself in snap->pins).
std::unique_ptr<SnapshotPin> NewSnapshotPin(StoreImpl* store, std::shared_ptr<SnapshotState> snap,
                                            SnapshotInfo info);
// The state a pin made by NewSnapshotPin holds; null for any other SnapshotPin.
const std::shared_ptr<SnapshotState>* PinnedState(const SnapshotPin& pin);

}  // namespace clonefs::store
