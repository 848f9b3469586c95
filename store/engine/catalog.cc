#include "store/engine/catalog.h"

#include <algorithm>

#include "base/coding.h"
#include "store/meta/catalog_codec.h"
#include "store/meta/keys.h"

namespace clonefs::store {
namespace {

std::string BE64(uint64_t v) {
  std::string s;
  AppendBE64(&s, v);
  return s;
}

Result<uint64_t> ReadCounter(MetaDb& db, std::string_view key, const char* what) {
  CLONEFS_ASSIGN_OR_RETURN(auto raw, db.Get(key));
  if (!raw || raw->size() != 8) return Status::Corruption(std::string("missing ") + what);
  return GetBE64(raw->data());
}

}  // namespace

void Catalog::Reservation::PutCounters(MetaBatch* batch) const {
  batch->Put(keys::kNextVolumeId, BE64(next_volume_id_));
  batch->Put(keys::kNextEpoch, BE64(next_epoch_));
  batch->Put(keys::kNextSnapshotId, BE64(next_snapshot_id_));
}

Status Catalog::Load(MetaDb& db) {
  // Ids grow, so a parent is always loaded before its clones and their ancestors resolve.
  CLONEFS_RETURN_IF_ERROR(
      keys::ScanPrefix(db, keys::VolumePrefix(), [&](std::string_view, std::string_view value) {
        CLONEFS_ASSIGN_OR_RETURN(VolumeInfo v, DecodeVolume(value));
        auto state = std::make_shared<VolumeState>(v);
        if (v.parent_id != 0) state->ancestors = AncestorsOf(v.parent_id, v.parent_epoch);
        // An import the store stopped in the middle of is as good as deleted (OpenAndRecover
        // purges it).
        if (v.status == VolumeStatus::kDeleted || v.status == VolumeStatus::kImporting) {
          state->deleted = true;
        } else {
          by_name_[v.name] = state;
        }
        by_id_[v.id] = state;
        return Status::OK();
      }));
  CLONEFS_ASSIGN_OR_RETURN(counters_.next_volume_id_,
                           ReadCounter(db, keys::kNextVolumeId, "next volume id"));
  CLONEFS_ASSIGN_OR_RETURN(counters_.next_epoch_,
                           ReadCounter(db, keys::kNextEpoch, "epoch counter"));
  // Stores made before snapshots had no snapshot counter; the snapshots themselves bound it.
  CLONEFS_ASSIGN_OR_RETURN(auto next_snapshot, db.Get(keys::kNextSnapshotId));
  if (next_snapshot && next_snapshot->size() == 8) {
    counters_.next_snapshot_id_ = GetBE64(next_snapshot->data());
  }
  // Restore points, oldest first per volume. A volume's epoch may have moved past its record's
  // by restore points since (they are not written into the volume record).
  CLONEFS_RETURN_IF_ERROR(keys::ScanPrefix(
      db, keys::RestorePointPrefix(), [&](std::string_view key, std::string_view value) {
        if (key.size() != 17) return Status::Corruption("bad restore point key");
        auto vol = by_id_.find(GetBE64(key.data() + 1));
        if (vol == by_id_.end()) return Status::OK();  // its volume went in the same batch
        uint64_t next_epoch = 0;
        CLONEFS_ASSIGN_OR_RETURN(RestorePoint p,
                                 DecodeRestorePoint(value, GetBE64(key.data() + 9), &next_epoch));
        VolumeState& v = *vol->second;
        v.points.push_back(p);
        if (next_epoch > v.epoch) {
          v.epoch = next_epoch;
          v.info.epoch = next_epoch;
        }
        EpochUsed(next_epoch);
        return Status::OK();
      }));
  return keys::ScanPrefix(
      db, keys::SnapshotPrefix(), [&](std::string_view, std::string_view value) {
        CLONEFS_ASSIGN_OR_RETURN(SnapshotInfo s, DecodeSnapshot(value));
        auto vol = by_id_.find(s.volume_id);
        if (vol == by_id_.end())
          return Status::Corruption("snapshot " + s.name + " lost its volume");
        snapshots_[s.name] = std::make_shared<SnapshotState>(s, vol->second);
        counters_.next_snapshot_id_ = std::max(counters_.next_snapshot_id_, s.id + 1);
        return Status::OK();
      });
}

std::shared_ptr<VolumeState> Catalog::Volume(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::shared_ptr<VolumeState> Catalog::VolumeById(uint64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::shared_ptr<SnapshotState> Catalog::Snapshot(const std::string& name) const {
  auto it = snapshots_.find(name);
  return it == snapshots_.end() ? nullptr : it->second;
}

void Catalog::AddVolume(std::shared_ptr<VolumeState> vol) {
  by_name_[vol->info.name] = vol;
  by_id_[vol->info.id] = std::move(vol);
}

void Catalog::RenameVolume(const std::string& name, const std::string& new_name) {
  auto node = by_name_.extract(name);
  node.key() = new_name;
  by_name_.insert(std::move(node));
}

void Catalog::AddHiddenVolume(std::shared_ptr<VolumeState> vol) {
  by_id_[vol->info.id] = std::move(vol);
}

void Catalog::AddSnapshot(std::shared_ptr<SnapshotState> snap) {
  std::string name = snap->info.name;
  snapshots_[name] = std::move(snap);
}

std::vector<VolumeInfo> Catalog::ForgetUnneeded(uint64_t volume_id) {
  std::vector<VolumeInfo> forgotten;
  while (volume_id != 0) {
    auto it = by_id_.find(volume_id);
    if (it == by_id_.end() || !it->second->deleted || HasDependents(volume_id)) break;
    forgotten.push_back(it->second->info);
    by_id_.erase(it);
    volume_id = forgotten.back().parent_id;
  }
  return forgotten;
}

Ancestors Catalog::AncestorsOf(uint64_t parent_id, uint64_t parent_epoch) const {
  Ancestors chain = {{parent_id, parent_epoch}};
  auto it = by_id_.find(parent_id);
  if (it != by_id_.end()) {
    chain.insert(chain.end(), it->second->ancestors.begin(), it->second->ancestors.end());
  }
  return chain;
}

bool Catalog::HasDependents(uint64_t volume_id) const {
  for (const auto& [id, v] : by_id_) {
    if (v->info.parent_id == volume_id) return true;
  }
  for (const auto& [name, s] : snapshots_) {
    if (s->info.volume_id == volume_id) return true;
  }
  for (const auto& [id, s] : pinned_) {
    if (s->info.volume_id == volume_id) return true;
  }
  return false;
}

int Catalog::ClonesInLineage(uint64_t lineage_id) const {
  int n = 0;
  for (const auto& [id, v] : by_id_) {
    n += v->info.lineage_id == lineage_id && v->info.parent_id != 0;
  }
  return n;
}

}  // namespace clonefs::store
