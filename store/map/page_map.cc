#include "store/map/page_map.h"

#include <bit>
#include <mutex>

#include "base/coding.h"
#include "store/meta/keys.h"

namespace clonefs::store {
namespace {

constexpr uint64_t kVisitChunkPages = 1 << 16;
constexpr size_t kMapValueSize = 21;
static_assert(kMapBlockPages <= 16, "the present mask is 16 bits");

void EncodeMapValue(const MapValue& v, std::string* out) {
  char b[kMapValueSize];
  PutLE64(b, v.seq);
  PutLE32(b + 8, v.loc.segment);
  PutLE32(b + 12, v.loc.offset);
  PutLE32(b + 16, v.loc.length);
  b[20] = v.tombstone ? 1 : 0;
  out->append(b, kMapValueSize);
}

void DecodeMapValue(const char* p, MapValue* v) {
  v->seq = GetLE64(p);
  v->loc.segment = GetLE32(p + 8);
  v->loc.offset = GetLE32(p + 12);
  v->loc.length = GetLE32(p + 16);
  v->tombstone = p[20] != 0;
}

size_t SlotOf(uint64_t page) { return static_cast<size_t>(page % kMapBlockPages); }

bool SameBlock(const MapKey& a, const MapKey& b) {
  return a.lineage == b.lineage && a.page / kMapBlockPages == b.page / kMapBlockPages &&
         a.epoch == b.epoch && a.volume == b.volume;
}

// Finds stored map blocks by key with one iterator. Lookups mostly ascend (a write's pages, a
// checkpoint's blocks), and then a few Next() calls are much cheaper than a Seek or a Get.
class StoredBlockCursor {
 public:
  explicit StoredBlockCursor(MetaDb* db) : it_(db->NewIterator()) {}

  // The block stored at exactly `key`, if any.
  Result<std::optional<MapBlock>> Find(const std::string& key) {
    constexpr int kMaxSteps = 8;
    int steps = 0;
    while (positioned_ && key >= last_ && it_->Valid() && it_->key() < key && steps < kMaxSteps) {
      it_->Next();
      ++steps;
    }
    if (!positioned_ || key < last_ || !it_->Valid() || it_->key() < key) {
      it_->Seek(key);
      positioned_ = true;
    }
    last_ = key;
    if (!it_->Valid()) {
      CLONEFS_RETURN_IF_ERROR(it_->status());
      return std::optional<MapBlock>();
    }
    if (it_->key() != key) return std::optional<MapBlock>();
    MapBlock b;
    if (!DecodeMapBlock(it_->value(), &b)) return Status::Corruption("bad page map block");
    return std::optional(b);
  }

 private:
  std::unique_ptr<MetaIterator> it_;
  bool positioned_ = false;
  std::string last_;
};

// Merges the per-page candidates of an older layer into `best` (from newer layers): the largest
// epoch wins; on a tie the newer layer wins.
using Versions = std::vector<std::pair<uint64_t, PageVersion>>;

void MergeInto(Versions* best, const Versions& older) {
  if (older.empty()) return;
  if (best->empty()) {
    best->assign(older.begin(), older.end());
    return;
  }
  // Reused: a visit of a large range merges megabytes per chunk, and fresh buffers that size
  // cost a page fault per 4 KiB every time.
  thread_local Versions merged;
  merged.clear();
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

std::string MapDbKey(const MapKey& key) {
  std::string k = keys::MapPrefix(key.lineage);
  AppendBE64(&k, key.page / kMapBlockPages);
  AppendBE64(&k, ~key.epoch);
  AppendBE64(&k, key.volume);
  return k;
}

bool DecodeMapDbKey(std::string_view key, MapKey* k) {
  if (key.size() != 33 || key[0] != keys::kMap) return false;
  k->lineage = GetBE64(key.data() + 1);
  k->page = GetBE64(key.data() + 9) * kMapBlockPages;
  k->epoch = ~GetBE64(key.data() + 17);
  k->volume = GetBE64(key.data() + 25);
  return true;
}

void MapBlock::Set(size_t slot, const std::optional<MapValue>& v) {
  const auto bit = static_cast<uint16_t>(1u << slot);
  if (v) {
    present |= bit;
    slots[slot] = *v;
  } else {
    present &= static_cast<uint16_t>(~bit);
    slots[slot] = MapValue{};
  }
}

// The present mask (LE16), then each present slot's value in slot order.
std::string EncodeMapBlock(const MapBlock& b) {
  std::string s(2, '\0');
  s[0] = static_cast<char>(b.present & 0xFF);
  s[1] = static_cast<char>(b.present >> 8);
  for (size_t i = 0; i < kMapBlockPages; ++i) {
    if (b.present >> i & 1) EncodeMapValue(b.slots[i], &s);
  }
  return s;
}

bool DecodeMapBlock(std::string_view data, MapBlock* b) {
  if (data.size() < 2) return false;
  b->present =
      static_cast<uint16_t>(static_cast<uint8_t>(data[0]) | static_cast<uint8_t>(data[1]) << 8);
  if (data.size() != 2 + static_cast<size_t>(std::popcount(b->present)) * kMapValueSize) {
    return false;
  }
  const char* p = data.data() + 2;
  for (size_t i = 0; i < kMapBlockPages; ++i) {
    b->slots[i] = MapValue{};
    if (b->present >> i & 1) {
      DecodeMapValue(p, &b->slots[i]);
      p += kMapValueSize;
    }
  }
  return true;
}

Result<std::optional<MapValue>> PageMap::GetExact(const MapKey& key) const {
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (auto it = overlay_.find(key); it != overlay_.end()) return std::optional(it->second);
    if (auto it = frozen_.find(key); it != frozen_.end()) return std::optional(it->second);
  }
  return GetStored(key);
}

Result<std::optional<MapValue>> PageMap::GetStored(const MapKey& key) const {
  CLONEFS_ASSIGN_OR_RETURN(auto stored, db_->Get(MapDbKey(key)));
  if (!stored) return std::optional<MapValue>();
  MapBlock b;
  if (!DecodeMapBlock(*stored, &b)) return Status::Corruption("bad page map block");
  return b.Get(SlotOf(key.page));
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
  // did not hold this key (callers keep Freeze() out while they Put); a checkpoint that
  // rewrites the key's block changes only other slots of it.
  return GetStored(key);
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
      CLONEFS_ASSIGN_OR_RETURN((*replaced)[i], GetStored(entries[i].first));
    }
    return Status::OK();
  }
  StoredBlockCursor cursor(db_);
  const MapKey* block_of = nullptr;  // an entry of the block in `block`
  std::optional<MapBlock> block;
  for (size_t i : stored) {
    const MapKey& k = entries[i].first;
    if (block_of == nullptr || !SameBlock(*block_of, k)) {
      CLONEFS_ASSIGN_OR_RETURN(block, cursor.Find(MapDbKey(k)));
      block_of = &k;
    }
    if (block) (*replaced)[i] = block->Get(SlotOf(k.page));
  }
  return Status::OK();
}

void PageMap::CollectLayer(const Layer& layer, const ReadView& view, uint64_t first, uint64_t end,
                           std::vector<std::pair<uint64_t, PageVersion>>* out) {
  auto it = layer.lower_bound(MapKey{view.lineage, first, UINT64_MAX, 0});
  for (; it != layer.end() && it->first.lineage == view.lineage && it->first.page < end; ++it) {
    const MapKey& k = it->first;
    if (!out->empty() && out->back().first == k.page) continue;  // page decided
    if (view.Sees(k.volume, k.epoch)) {
      out->emplace_back(k.page, PageVersion{k.epoch, k.volume, it->second});
    }
  }
}

std::unique_ptr<MetaIterator> PageMap::TakeIterator(uint64_t generation) const {
  {
    std::lock_guard<std::mutex> l(pool_mu_);
    while (!pool_.empty()) {
      PooledIterator p = std::move(pool_.back());
      pool_.pop_back();
      if (p.generation == generation) return std::move(p.it);
    }
  }
  return db_->NewIterator();
}

void PageMap::ReturnIterator(uint64_t generation, std::unique_ptr<MetaIterator> it) const {
  constexpr size_t kMaxPooled = 16;  // about one per FUSE worker
  std::lock_guard<std::mutex> l(pool_mu_);
  if (pool_.size() < kMaxPooled) pool_.push_back({generation, std::move(it)});
}

Status PageMap::CollectStored(const ReadView& view, uint64_t first, uint64_t end,
                              uint64_t generation,
                              std::vector<std::pair<uint64_t, PageVersion>>* out) const {
  // A block's versions come newest first; each page takes the first visible one holding it.
  uint64_t block_start = UINT64_MAX;
  uint16_t decided = 0;
  std::array<PageVersion, kMapBlockPages> chosen;
  auto emit = [&] {
    for (size_t s = 0; s < kMapBlockPages; ++s) {
      const uint64_t page = block_start + s;
      if ((decided >> s & 1) && page >= first && page < end) out->emplace_back(page, chosen[s]);
    }
    decided = 0;
  };
  std::unique_ptr<MetaIterator> it = TakeIterator(generation);
  for (it->Seek(MapDbKey(MapKey{view.lineage, first, UINT64_MAX, 0})); it->Valid(); it->Next()) {
    MapKey k;
    if (!DecodeMapDbKey(it->key(), &k) || k.lineage != view.lineage || k.page >= end) break;
    if (k.page != block_start) {
      if (block_start != UINT64_MAX) emit();
      block_start = k.page;
    }
    if (decided == kAllSlots || !view.Sees(k.volume, k.epoch)) continue;
    MapBlock b;
    if (!DecodeMapBlock(it->value(), &b)) return Status::Corruption("bad page map block");
    const uint16_t fresh = b.present & static_cast<uint16_t>(~decided);
    for (size_t s = 0; s < kMapBlockPages; ++s) {
      if (fresh >> s & 1) chosen[s] = PageVersion{k.epoch, k.volume, b.slots[s]};
    }
    decided |= fresh;
  }
  if (block_start != UINT64_MAX) emit();
  Status status = it->status();
  if (status.ok()) ReturnIterator(generation, std::move(it));
  return status;
}

Status PageMap::VisitRange(const ReadView& view, uint64_t first, uint64_t end,
                           const VersionVisitor& fn) const {
  // This thread's buffers, kept between visits (see MergeInto); a visit made from inside a
  // visitor gets its own.
  thread_local Versions kept_best, kept_layer;
  thread_local int depth = 0;
  Versions own_best, own_layer;
  Versions& best = depth == 0 ? kept_best : own_best;
  Versions& layer = depth == 0 ? kept_layer : own_layer;
  ++depth;
  struct Leave {
    int& d;
    ~Leave() { --d; }
  } leave{depth};
  for (uint64_t lo = first; lo < end; lo = std::min(end, lo + kVisitChunkPages)) {
    const uint64_t hi = std::min(end, lo + kVisitChunkPages);
    best.clear();
    uint64_t generation;
    {
      // Memory layers before MetaDb: a checkpoint moves entries frozen -> MetaDb, never back.
      std::shared_lock<std::shared_mutex> l(mu_);
      CollectLayer(overlay_, view, lo, hi, &best);
      layer.clear();
      CollectLayer(frozen_, view, lo, hi, &layer);
      generation = generation_;
    }
    MergeInto(&best, layer);
    layer.clear();
    CLONEFS_RETURN_IF_ERROR(CollectStored(view, lo, hi, generation, &layer));
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
  Layer dropped;  // freed after the locks are released: tens of thousands of nodes
  std::vector<PooledIterator> stale;
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    dropped.swap(frozen_);
    ++generation_;  // the frozen entries are in MetaDb: older iterators do not see them
  }
  std::lock_guard<std::mutex> l(pool_mu_);
  stale.swap(pool_);
}

void PageMap::Thaw() {
  std::unique_lock<std::shared_mutex> l(mu_);
  overlay_.merge(frozen_);  // keys already in the overlay are newer and stay; the rest move
  frozen_.clear();
}

Status PageMap::ForEachStored(uint64_t lineage,
                              const std::function<void(const MapKey&, const MapValue&)>& fn) const {
  auto it = db_->NewIterator();
  for (it->Seek(keys::MapPrefix(lineage)); it->Valid(); it->Next()) {
    MapKey k;
    MapBlock b;
    if (!DecodeMapDbKey(it->key(), &k) || k.lineage != lineage) break;
    if (!DecodeMapBlock(it->value(), &b)) return Status::Corruption("bad page map block");
    for (size_t s = 0; s < kMapBlockPages; ++s) {
      if (b.present >> s & 1) fn(MapKey{lineage, k.page + s, k.epoch, k.volume}, b.slots[s]);
    }
  }
  return it->status();
}

Status PageMap::StoreChanges(const std::vector<Change>& changes, MetaBatch* batch) const {
  // Per block (in key order, as the cursor wants): the final state of each slot changed.
  struct Pending {
    uint16_t changed = 0;
    MapBlock result;  // the changed slots' final state
  };
  // Keyed by the block's first page: MapKeyLess then orders blocks as their MetaDb keys sort.
  std::map<MapKey, Pending, MapKeyLess> blocks;
  for (const auto& [key, value] : changes) {
    const uint64_t first = key.page - SlotOf(key.page);
    Pending& p = blocks[MapKey{key.lineage, first, key.epoch, key.volume}];
    const size_t slot = SlotOf(key.page);
    p.changed |= static_cast<uint16_t>(1u << slot);
    p.result.Set(slot, value);
  }
  StoredBlockCursor cursor(db_);
  for (auto& [block_key, p] : blocks) {
    const std::string key = MapDbKey(block_key);
    // A block whose every slot is put replaces the stored one whole: no need to read it.
    std::optional<MapBlock> stored;
    if (!(p.changed == kAllSlots && p.result.present == kAllSlots)) {
      CLONEFS_ASSIGN_OR_RETURN(stored, cursor.Find(key));
    }
    MapBlock merged = stored.value_or(MapBlock{});
    for (size_t s = 0; s < kMapBlockPages; ++s) {
      if (p.changed >> s & 1) merged.Set(s, p.result.Get(s));
    }
    if (merged.present != 0) {
      batch->Put(key, EncodeMapBlock(merged));
    } else if (stored) {
      batch->Delete(key);
    }
  }
  return Status::OK();
}

}  // namespace clonefs::store
