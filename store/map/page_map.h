// PageMap: the versioned map (lineage, page, epoch, volume) -> where that page version's
// record lives.
//
// A lineage is a root volume and every clone made from it (clones of clones included). All
// versions of one page across a lineage sit next to each other, newest epoch first, and epochs
// come from one store-wide counter, so a clone's own writes always have larger epochs than
// anything it inherits. A reader is described by a ReadView: for itself and each ancestor, the
// newest epoch it may see. The first version in key order that the view sees is the one it
// reads, whatever the clone depth: one seek, not a walk up the chain. A tombstone means "zeros".
//
// Three layers, newest first: an in-memory overlay that takes every new entry, a frozen
// overlay being written out by a checkpoint, and the entries checkpointed into MetaDb. The
// segment log is the write-ahead log of the overlays (see store/engine/checkpoint.cc), so the
// overlays need no WAL of their own. Thread-safe; lookups share a lock, puts take it
// exclusively for a few map operations.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "store/log/location.h"
#include "store/meta/meta_db.h"

namespace clonefs::store {

struct MapKey {
  uint64_t lineage = 0;
  uint64_t page = 0;
  uint64_t epoch = 0;
  uint64_t volume = 0;
};

// What one reader can see: (volume, newest visible epoch) for the reader and each ancestor.
struct ReadView {
  uint64_t lineage = 0;
  std::vector<std::pair<uint64_t, uint64_t>> chain;
  // When set, only versions written after this epoch are seen: a view of what a volume wrote
  // between two of its snapshots (epochs start at 1, so 0 hides nothing).
  uint64_t newer_than = 0;
  bool Sees(uint64_t volume, uint64_t epoch) const {
    if (epoch <= newer_than) return false;
    for (const auto& [v, max_epoch] : chain) {
      if (v == volume) return epoch <= max_epoch;
    }
    return false;
  }
};

struct MapValue {
  uint64_t seq = 0;    // the record's sequence number (its identity, kept by GC relocation)
  RecordLocation loc;  // unused for tombstones
  bool tombstone = false;
  bool operator==(const MapValue&) const = default;
};

struct PageVersion {
  uint64_t epoch = 0;
  uint64_t volume = 0;  // the volume that wrote it (the reader or an ancestor)
  MapValue value;
};

struct MapKeyLess {
  bool operator()(const MapKey& a, const MapKey& b) const {
    if (a.lineage != b.lineage) return a.lineage < b.lineage;
    if (a.page != b.page) return a.page < b.page;
    if (a.epoch != b.epoch) return a.epoch > b.epoch;  // newest first, like the MetaDb key
    return a.volume < b.volume;
  }
};

// Checkpointed entries are grouped into map blocks: the entries of kMapBlockPages consecutive
// pages (aligned) written by one volume in one epoch share one MetaDb entry. A sequential
// write of 1 MiB then costs 16 metadata entries instead of 256, in the checkpoint and in every
// lookup of what a write replaces; a reader still sees per-page versions.
constexpr uint64_t kMapBlockPages = 16;
constexpr uint16_t kAllSlots = (1u << kMapBlockPages) - 1;  // a present mask with every page

// One stored map block: slot s holds the entry of page (first page of the block) + s.
struct MapBlock {
  uint16_t present = 0;  // bit s set: slot s holds an entry
  std::array<MapValue, kMapBlockPages> slots;

  std::optional<MapValue> Get(size_t slot) const {
    if (!(present >> slot & 1)) return std::nullopt;
    return slots[slot];
  }
  void Set(size_t slot, const std::optional<MapValue>& v);
};

// MetaDb key of the map block holding `k`'s page: 'm' lineage block ~epoch volume, big-endian,
// so that one block's versions across a lineage sort newest first.
std::string MapDbKey(const MapKey& k);
// Decodes a map block key; k->page is the block's first page.
bool DecodeMapDbKey(std::string_view key, MapKey* k);
std::string EncodeMapBlock(const MapBlock& b);
bool DecodeMapBlock(std::string_view data, MapBlock* b);

class PageMap {
 public:
  explicit PageMap(MetaDb* db) : db_(db) {}

  // The entry at exactly `key`, if any.
  Result<std::optional<MapValue>> GetExact(const MapKey& key) const;
  // Installs `value` at `key` in the overlay; returns what it replaced at exactly that key.
  Result<std::optional<MapValue>> Put(const MapKey& key, const MapValue& value);
  // Put() for many entries of one lineage, sorted by key (as a write of consecutive pages
  // produces them): (*replaced)[i] is what entries[i] replaced. Entries not in memory are
  // resolved with one MetaDb scan instead of a point lookup each.
  using Entry = std::pair<MapKey, MapValue>;
  Status PutMany(const std::vector<Entry>& entries, std::vector<std::optional<MapValue>>* replaced);

  // For pages [first, end), calls `fn(page, version)` in page order with the version `view`
  // reads, for every page where it sees one (tombstones included). Sparse: cost follows the
  // number of entries, not the length of the range.
  using VersionVisitor = std::function<Status(uint64_t page, const PageVersion&)>;
  Status VisitRange(const ReadView& view, uint64_t first, uint64_t end,
                    const VersionVisitor& fn) const;

  // Checkpoint support. REQUIRES: the caller keeps Put() callers out during Freeze().
  size_t overlay_size() const;
  // Entries in the frozen layer. REQUIRES: called by the checkpointer (as ForEachFrozen).
  size_t frozen_size() const { return frozen_.size(); }
  void Freeze();  // moves the overlay into the frozen layer (which must be empty)
  // Visits the frozen layer's entries without locking. REQUIRES: called by the checkpointer,
  // the only thread that changes the frozen layer (so `fn` may call back into the map).
  void ForEachFrozen(const std::function<void(const MapKey&, const MapValue&)>& fn) const;
  // After the frozen entries are durable in MetaDb. Every write of map entries to MetaDb must
  // be followed by it: it also retires the iterators that readers reuse (TakeIterator).
  void DropFrozen();
  void Thaw();  // a checkpoint failed: merge the frozen layer back under the overlay
  // Visits the checkpointed (MetaDb) entries of one lineage, page by page.
  Status ForEachStored(uint64_t lineage,
                       const std::function<void(const MapKey&, const MapValue&)>& fn) const;
  // Adds `changes` to `batch` as whole map blocks merged with what MetaDb holds: a value puts
  // the entry, nullopt deletes it; of two changes of one key the later wins. REQUIRES: the
  // caller is the only writer of map entries to MetaDb (the checkpointer), until `batch` is
  // written.
  using Change = std::pair<MapKey, std::optional<MapValue>>;
  Status StoreChanges(const std::vector<Change>& changes, MetaBatch* batch) const;

 private:
  using Layer = std::map<MapKey, MapValue, MapKeyLess>;

  // The version `view` reads per page of [first, end) in one in-memory layer, appended to `out`.
  static void CollectLayer(const Layer& layer, const ReadView& view, uint64_t first, uint64_t end,
                           std::vector<std::pair<uint64_t, PageVersion>>* out);
  // `generation`: generation_ read together with the memory layers (see below).
  Status CollectStored(const ReadView& view, uint64_t first, uint64_t end, uint64_t generation,
                       std::vector<std::pair<uint64_t, PageVersion>>* out) const;
  // MetaDb iterators for CollectStored, reused: creating one costs about as much as the seek
  // that a small read needs. An iterator sees MetaDb as of its creation, and map entries reach
  // MetaDb only by a checkpoint, which bumps generation_ when it drops the frozen layer (whose
  // entries a reader sees in memory until then); so an iterator created at generation g sees
  // every stored entry a reader that read g needs.
  std::unique_ptr<MetaIterator> TakeIterator(uint64_t generation) const;
  void ReturnIterator(uint64_t generation, std::unique_ptr<MetaIterator> it) const;
  // The checkpointed entry at exactly `key`, if any.
  Result<std::optional<MapValue>> GetStored(const MapKey& key) const;

  MetaDb* const db_;
  mutable std::shared_mutex mu_;
  Layer overlay_;            // GUARDED_BY(mu_)
  Layer frozen_;             // GUARDED_BY(mu_)
  uint64_t generation_ = 0;  // GUARDED_BY(mu_) checkpoints that reached MetaDb
  struct PooledIterator {
    uint64_t generation;
    std::unique_ptr<MetaIterator> it;
  };
  mutable std::mutex pool_mu_;
  mutable std::vector<PooledIterator> pool_;  // GUARDED_BY(pool_mu_)
};

}  // namespace clonefs::store
