// The RocksDB MetaDb: a store's metadata in a directory (the default backend).
#pragma once

#include <memory>
#include <string>

#include "store/meta/meta_db.h"

namespace clonefs::store {

// Opens (or creates) the database in `dir`. `cache_bytes` bounds its block cache and memtables
// together.
Result<std::unique_ptr<MetaDb>> OpenRocksMetaDb(const std::string& dir, uint64_t cache_bytes);

}  // namespace clonefs::store
