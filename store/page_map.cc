#include "store/page_map.h"

#include <mutex>

#include "store/coding.h"

namespace clonefs::store {
namespace {

constexpr uint64_t kVisitChunkPages = 1 << 16;
constexpr size_t kMapValueSize = 21;

// Merges the per-page candidates of an older layer into `best` (from newer layers): the largest
// epoch wins; on a tie the newer layer wins.
void MergeInto(std::vector<std::pair<uint64_t, PageVersion>>* best,
               const std::vector<std::pair<uint64_t, PageVersion>>& older) {
  std::vector<std::pair<uint64_t, PageVersion>> merged;
  merged.reserve(best->size() + older.size());
  size_t i = 0, j = 0;
  while (i < best->size() || j < older.size()) {
    if (j == older.size() || (i < best->size() && (*best)[i].first < older[j].first)) {
      merged.push_back((*best)[i++]);
    } else if (i == best->size() || older[j].first < (*best)[i].first) {
      merged.push_back(older[j++]);
    } else {
      merged.push_back(older[j].second.epoch > (*best)[i].second.epoch ? older[j] : (*best)[i]);
      ++i;
      ++j;
    }
  }
  best->swap(merged);
}

}  // namespace

std::string MapDbPrefix(uint64_t lineage) {
  std::string k(1, 'm');
  AppendBE64(&k, lineage);
  return k;
}

std::string MapDbKey(const MapKey& key) {
  std::string k = MapDbPrefix(key.lineage);
  AppendBE64(&k, key.page);
  AppendBE64(&k, ~key.epoch);
  AppendBE64(&k, key.volume);
  return k;
}

bool DecodeMapDbKey(std::string_view key, MapKey* k) {
  if (key.size() != 33 || key[0] != 'm') return false;
  k->lineage = GetBE64(key.data() + 1);
  k->page = GetBE64(key.data() + 9);
  k->epoch = ~GetBE64(key.data() + 17);
  k->volume = GetBE64(key.data() + 25);
  return true;
}

std::string EncodeMapValue(const MapValue& v) {
  std::string s(kMapValueSize, '\0');
  PutLE64(s.data(), v.seq);
  PutLE32(s.data() + 8, v.loc.segment);
  PutLE32(s.data() + 12, v.loc.offset);
  PutLE32(s.data() + 16, v.loc.length);
  s[20] = v.tombstone ? 1 : 0;
  return s;
}

bool DecodeMapValue(std::string_view data, MapValue* v) {
  if (data.size() != kMapValueSize) return false;
  v->seq = GetLE64(data.data());
  v->loc.segment = GetLE32(data.data() + 8);
  v->loc.offset = GetLE32(data.data() + 12);
  v->loc.length = GetLE32(data.data() + 16);
  v->tombstone = data[20] != 0;
  return true;
}

Result<std::optional<MapValue>> PageMap::GetExact(const MapKey& key) const {
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (auto it = overlay_.find(key); it != overlay_.end()) return std::optional(it->second);
    if (auto it = frozen_.find(key); it != frozen_.end()) return std::optional(it->second);
  }
  CLONEFS_ASSIGN_OR_RETURN(auto stored, db_->Get(MapDbKey(key)));
  if (!stored) return std::optional<MapValue>();
  MapValue v;
  if (!DecodeMapValue(*stored, &v)) return Status::Corruption("bad page map entry");
  return std::optional(v);
}

Result<std::optional<MapValue>> PageMap::Put(const MapKey& key, const MapValue& value) {
  std::optional<MapValue> old;
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    auto [it, inserted] = overlay_.try_emplace(key, value);
    if (!inserted) {
      old = it->second;
      it->second = value;
      return old;
    }
    if (auto f = frozen_.find(key); f != frozen_.end()) return std::optional(f->second);
  }
  // Not in memory: the replaced entry, if any, is the checkpointed one. It cannot change under
  // us: only a checkpoint writes map entries to MetaDb, and it writes the frozen layer, which
  // did not hold this key (callers keep Freeze() out while they Put).
  CLONEFS_ASSIGN_OR_RETURN(auto stored, db_->Get(MapDbKey(key)));
  if (!stored) return std::optional<MapValue>();
  MapValue v;
  if (!DecodeMapValue(*stored, &v)) return Status::Corruption("bad page map entry");
  return std::optional(v);
}

Status PageMap::PutMany(const std::vector<Entry>& entries,
                        std::vector<std::optional<MapValue>>* replaced) {
  replaced->assign(entries.size(), std::nullopt);
  std::vector<size_t> stored;  // entries whose replaced value, if any, is in MetaDb
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    for (size_t i = 0; i < entries.size(); ++i) {
      auto [it, inserted] = overlay_.try_emplace(entries[i].first, entries[i].second);
      if (!inserted) {
        (*replaced)[i] = it->second;
        it->second = entries[i].second;
      } else if (auto f = frozen_.find(entries[i].first); f != frozen_.end()) {
        (*replaced)[i] = f->second;
      } else {
        stored.push_back(i);
      }
    }
  }
  if (stored.empty()) return Status::OK();
  // As in Put(): these MetaDb entries cannot change under us. A few entries (a small random
  // write) are cheaper as point lookups than as a scan, which costs an iterator.
  constexpr size_t kMaxPointLookups = 4;
  if (stored.size() <= kMaxPointLookups) {
    for (size_t i : stored) {
      CLONEFS_ASSIGN_OR_RETURN(auto raw, db_->Get(MapDbKey(entries[i].first)));
      if (!raw) continue;
      MapValue v;
      if (!DecodeMapValue(*raw, &v)) return Status::Corruption("bad page map entry");
      (*replaced)[i] = v;
    }
    return Status::OK();
  }
  // Keys ascend, so one iterator walks forward through them; a few Next() calls are much
  // cheaper than a Seek or a Get.
  constexpr int kMaxSteps = 8;
  auto it = db_->NewIterator();
  bool positioned = false;
  for (size_t i : stored) {
    const std::string target = MapDbKey(entries[i].first);
    int steps = 0;
    while (positioned && it->Valid() && it->key() < target && steps < kMaxSteps) {
      it->Next();
      ++steps;
    }
    if (!positioned || !it->Valid() || it->key() < target) {
      it->Seek(target);
      positioned = true;
    }
    if (!it->Valid()) break;  // nothing stored at or after this key: the rest are new too
    if (it->key() != target) continue;
    MapValue v;
    if (!DecodeMapValue(it->value(), &v)) return Status::Corruption("bad page map entry");
    (*replaced)[i] = v;
  }
  return it->status();
}

void PageMap::CollectLayer(const Layer& layer, const ReadView& view, uint64_t first,
                           uint64_t end, std::vector<std::pair<uint64_t, PageVersion>>* out) {
  auto it = layer.lower_bound(MapKey{view.lineage, first, UINT64_MAX, 0});
  for (; it != layer.end() && it->first.lineage == view.lineage && it->first.page < end; ++it) {
    const MapKey& k = it->first;
    if (!out->empty() && out->back().first == k.page) continue;  // page decided
    if (view.Sees(k.volume, k.epoch)) {
      out->emplace_back(k.page, PageVersion{k.epoch, k.volume, it->second});
    }
  }
}

Status PageMap::CollectStored(const ReadView& view, uint64_t first, uint64_t end,
                              std::vector<std::pair<uint64_t, PageVersion>>* out) const {
  auto it = db_->NewIterator();
  for (it->Seek(MapDbKey(MapKey{view.lineage, first, UINT64_MAX, 0})); it->Valid(); it->Next()) {
    MapKey k;
    if (!DecodeMapDbKey(it->key(), &k) || k.lineage != view.lineage || k.page >= end) break;
    if ((!out->empty() && out->back().first == k.page) || !view.Sees(k.volume, k.epoch)) {
      continue;
    }
    MapValue v;
    if (!DecodeMapValue(it->value(), &v)) return Status::Corruption("bad page map entry");
    out->emplace_back(k.page, PageVersion{k.epoch, k.volume, v});
  }
  return it->status();
}

Status PageMap::VisitRange(const ReadView& view, uint64_t first, uint64_t end,
                           const VersionVisitor& fn) const {
  std::vector<std::pair<uint64_t, PageVersion>> best, layer;
  for (uint64_t lo = first; lo < end; lo = std::min(end, lo + kVisitChunkPages)) {
    const uint64_t hi = std::min(end, lo + kVisitChunkPages);
    best.clear();
    {
      // Memory layers before MetaDb: a checkpoint moves entries frozen -> MetaDb, never back.
      std::shared_lock<std::shared_mutex> l(mu_);
      CollectLayer(overlay_, view, lo, hi, &best);
      layer.clear();
      CollectLayer(frozen_, view, lo, hi, &layer);
    }
    MergeInto(&best, layer);
    layer.clear();
    CLONEFS_RETURN_IF_ERROR(CollectStored(view, lo, hi, &layer));
    MergeInto(&best, layer);
    for (const auto& [page, version] : best) CLONEFS_RETURN_IF_ERROR(fn(page, version));
  }
  return Status::OK();
}

size_t PageMap::overlay_size() const {
  std::shared_lock<std::shared_mutex> l(mu_);
  return overlay_.size();
}

void PageMap::Freeze() {
  std::unique_lock<std::shared_mutex> l(mu_);
  frozen_.swap(overlay_);
  overlay_.clear();
}

void PageMap::ForEachFrozen(const std::function<void(const MapKey&, const MapValue&)>& fn) const {
  for (const auto& [k, v] : frozen_) fn(k, v);
}

void PageMap::DropFrozen() {
  std::unique_lock<std::shared_mutex> l(mu_);
  frozen_.clear();
}

void PageMap::Thaw() {
  std::unique_lock<std::shared_mutex> l(mu_);
  overlay_.merge(frozen_);  // keys already in the overlay are newer and stay; the rest move
  frozen_.clear();
}

Status PageMap::ForEachStored(uint64_t lineage,
                              const std::function<void(const MapKey&, const MapValue&)>& fn) const {
  auto it = db_->NewIterator();
  for (it->Seek(MapDbPrefix(lineage)); it->Valid(); it->Next()) {
    MapKey k;
    MapValue v;
    if (!DecodeMapDbKey(it->key(), &k) || k.lineage != lineage) break;
    if (!DecodeMapValue(it->value(), &v)) return Status::Corruption("bad page map entry");
    fn(k, v);
  }
  return it->status();
}

}  // namespace clonefs::store
