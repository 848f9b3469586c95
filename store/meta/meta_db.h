// MetaDb: the crash-safe ordered key-value store behind the catalog and page map.
//
// An interface, so that RocksDB appears in exactly one .cc file (rocks_meta_db.h) and a test or
// a second backend can bring its own (memory_meta_db.h). Keys are byte strings ordered
// bytewise; the key space is in keys.h. Write() applies a batch atomically; with `sync` it is
// durable when it returns, and so is every earlier Write(). An iterator sees the database as of
// its creation. Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace clonefs::store {

class MetaBatch {
 public:
  void Put(std::string key, std::string value) {
    ops_.push_back({Op::kPut, std::move(key), std::move(value)});
  }
  void Delete(std::string key) { ops_.push_back({Op::kDelete, std::move(key), {}}); }
  // Deletes every key in [begin, end).
  void DeleteRange(std::string begin, std::string end) {
    ops_.push_back({Op::kDeleteRange, std::move(begin), std::move(end)});
  }
  size_t size() const { return ops_.size(); }

  enum class Op { kPut, kDelete, kDeleteRange };
  struct Entry {
    Op op;
    std::string key;
    std::string value;  // the end key for kDeleteRange
  };
  const std::vector<Entry>& ops() const { return ops_; }

 private:
  std::vector<Entry> ops_;
};

// Forward iteration over a consistent view of the database.
class MetaIterator {
 public:
  virtual ~MetaIterator() = default;
  virtual void Seek(std::string_view key) = 0;  // first key >= `key`
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

class MetaDb {
 public:
  virtual ~MetaDb() = default;

  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  virtual Status Write(const MetaBatch& batch, bool sync) = 0;
  virtual std::unique_ptr<MetaIterator> NewIterator() = 0;
  // Makes every earlier Write() durable.
  virtual Status SyncWal() = 0;

  // Lookups its block cache answered and those it had to read from disk, since open (a memory
  // MetaDb has no cache: zeros).
  struct CacheCounts {
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  virtual CacheCounts CacheStats() { return {}; }
};

}  // namespace clonefs::store
