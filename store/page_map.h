// PageMap: the versioned map (volume, page, epoch) -> where that page version's record lives.
//
// Three layers, newest first: an in-memory overlay that takes every new entry, a frozen
// overlay being written out by a checkpoint, and the entries checkpointed into MetaDb. The
// segment log is the write-ahead log of the overlays (see store_impl.cc, "Checkpoints"), so the
// overlays need no WAL of their own.
//
// A read of a volume at epoch r sees, for each page, the entry with the largest epoch <= r; a
// tombstone entry means "zeros from this epoch on". Thread-safe; lookups share a lock, puts take
// it exclusively for a few map operations.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "store/meta_db.h"
#include "store/segment_log.h"

namespace clonefs::store {

struct MapKey {
  uint64_t volume = 0;
  uint64_t page = 0;
  uint64_t epoch = 0;
};

struct MapValue {
  uint64_t seq = 0;      // the record's sequence number (its identity, kept by GC relocation)
  RecordLocation loc;    // unused for tombstones
  bool tombstone = false;
  bool operator==(const MapValue&) const = default;
};

struct PageVersion {
  uint64_t epoch = 0;
  MapValue value;
};

// MetaDb key of a map entry: 'm' volume page ~epoch, big-endian, so that one page's versions
// sort newest first and a forward seek to (v, p, ~r) lands on the newest version <= r.
std::string MapDbKey(const MapKey& k);
std::string MapDbPrefix(uint64_t volume);  // all keys of one volume start with this
std::string EncodeMapValue(const MapValue& v);
bool DecodeMapDbKey(std::string_view key, MapKey* k);
bool DecodeMapValue(std::string_view data, MapValue* v);

class PageMap {
 public:
  explicit PageMap(MetaDb* db) : db_(db) {}

  // The entry at exactly `key`, if any.
  Result<std::optional<MapValue>> GetExact(const MapKey& key) const;
  // Installs `value` at `key` in the overlay; returns what it replaced at exactly that key.
  Result<std::optional<MapValue>> Put(const MapKey& key, const MapValue& value);

  // For pages [first, end) of `volume` at `epoch`, calls `fn(page, version)` in page order for
  // every page that has a version <= epoch (tombstones included). Sparse: cost follows the
  // number of entries, not the length of the range.
  using VersionVisitor = std::function<Status(uint64_t page, const PageVersion&)>;
  Status VisitRange(uint64_t volume, uint64_t epoch, uint64_t first, uint64_t end,
                    const VersionVisitor& fn) const;

  // Checkpoint support. REQUIRES: the caller keeps Put() callers out during Freeze().
  size_t overlay_size() const;
  void Freeze();  // moves the overlay into the frozen layer (which must be empty)
  // Visits the frozen layer's entries.
  void ForEachFrozen(const std::function<void(const MapKey&, const MapValue&)>& fn) const;
  void DropFrozen();  // after the frozen entries are durable in MetaDb
  void Thaw();        // a checkpoint failed: merge the frozen layer back under the overlay
  // Visits the checkpointed (MetaDb) entries of one volume.
  Status ForEachStored(uint64_t volume,
                       const std::function<void(const MapKey&, const MapValue&)>& fn) const;

 private:
  struct KeyLess {
    bool operator()(const MapKey& a, const MapKey& b) const {
      if (a.volume != b.volume) return a.volume < b.volume;
      if (a.page != b.page) return a.page < b.page;
      return a.epoch > b.epoch;  // newest first, like the MetaDb key
    }
  };
  using Layer = std::map<MapKey, MapValue, KeyLess>;

  // Newest version <= epoch per page of [first, end) in one in-memory layer, appended to `out`.
  static void CollectLayer(const Layer& layer, uint64_t volume, uint64_t epoch, uint64_t first,
                           uint64_t end, std::vector<std::pair<uint64_t, PageVersion>>* out);
  Status CollectStored(uint64_t volume, uint64_t epoch, uint64_t first, uint64_t end,
                       std::vector<std::pair<uint64_t, PageVersion>>* out) const;

  MetaDb* const db_;
  mutable std::shared_mutex mu_;
  Layer overlay_;  // GUARDED_BY(mu_)
  Layer frozen_;   // GUARDED_BY(mu_)
};

}  // namespace clonefs::store
