// MemoryMetaDb: a MetaDb held in memory, for tests, with a model of a crash.
//
// Iterators see an immutable copy of the database as of their creation (shared until the next
// write), as RocksDB's do. Crash() forgets every write made since the last synced Write() or
// SyncWal(), as a power cut does to RocksDB's unsynced WAL. Meant for small test stores: a
// write while an iterator is alive copies the whole map. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "store/meta/meta_db.h"

namespace clonefs::store {

class MemoryMetaDb final : public MetaDb {
 public:
  Result<std::optional<std::string>> Get(std::string_view key) override;
  Status Write(const MetaBatch& batch, bool sync) override;
  std::unique_ptr<MetaIterator> NewIterator() override;
  Status SyncWal() override;

  void Crash();

 private:
  using Map = std::map<std::string, std::string, std::less<>>;
  std::mutex mu_;
  std::shared_ptr<Map> current_ = std::make_shared<Map>();  // GUARDED_BY(mu_)
  std::shared_ptr<const Map> durable_ = current_;           // GUARDED_BY(mu_)
  bool unsynced_ = false;                                   // GUARDED_BY(mu_)
};

}  // namespace clonefs::store
