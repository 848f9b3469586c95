// The RocksDB implementation of MetaDb: the only file that includes RocksDB headers.
#include "store/meta/rocks_meta_db.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>

#include <cerrno>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CLONEFS_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CLONEFS_TSAN 1
#endif
#ifdef CLONEFS_TSAN
// ThreadSanitizer's runtime: while ignored, the calling thread's memory accesses are neither
// checked nor recorded; its locks and other synchronization still are.
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#endif

namespace clonefs::store {
namespace {

// For the length of a DB::Write call, ThreadSanitizer ignores this thread's memory accesses. A
// no-op in any other build.
//
// Concurrent DB::Write calls form a write group: each links its batch into a queue with an
// atomic compare-and-swap and waits; the leader appends the followers' batches to a batch of
// the DBImpl's (one WAL record), then releases them. The next leader reuses that batch. All of
// it is ordered by atomics in librocksdb, which is not instrumented, so TSan sees none of the
// ordering. It does see some of the accesses: those made through std::string members that our
// binaries instantiate (C++20 has no extern template for std::string) and librocksdb binds to.
// They then look like races: the leader reading a follower's batch, two leaders in turn writing
// the DBImpl's batch; under the stress test, with no RocksDB frame in either stack at times, so
// no suppression (tools/tsan.supp) can name them. No code of ours runs inside DB::Write (we
// give RocksDB no comparator, merge operator, listener or Env), so what this ignores is
// RocksDB's own accesses, not ours; the batch we build before the call stays checked.
class IgnoreRocksAccesses {
 public:
#ifdef CLONEFS_TSAN
  IgnoreRocksAccesses() {
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  }
  ~IgnoreRocksAccesses() {
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
  }
#else
  // User-provided, not = default: a guard of a trivial type would be an "unused variable".
  IgnoreRocksAccesses() {}
  ~IgnoreRocksAccesses() {}
#endif
  IgnoreRocksAccesses(const IgnoreRocksAccesses&) = delete;
  IgnoreRocksAccesses& operator=(const IgnoreRocksAccesses&) = delete;
};

// A WriteBatch's encoding: a 12-byte header (sequence, count), then per operation a tag and
// two varint lengths (at most 1 + 5 + 5 bytes) before its key and value.
constexpr size_t kBatchHeaderBytes = 12;
constexpr size_t kOpOverheadBytes = 11;

Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::OK();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNoSpace()) return Status::NoSpace(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsBusy() || s.IsTryAgain()) return Status::Busy(msg);
  return Status::IOError(msg);
}

class RocksIterator final : public MetaIterator {
 public:
  explicit RocksIterator(rocksdb::Iterator* it) : it_(it) {}
  void Seek(std::string_view key) override { it_->Seek(rocksdb::Slice(key.data(), key.size())); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return {it_->key().data(), it_->key().size()}; }
  std::string_view value() const override { return {it_->value().data(), it_->value().size()}; }
  Status status() const override { return FromRocks(it_->status(), "iterate metadata"); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksMetaDb final : public MetaDb {
 public:
  RocksMetaDb(rocksdb::DB* db, std::shared_ptr<rocksdb::Statistics> stats)
      : db_(db), stats_(std::move(stats)) {}
  ~RocksMetaDb() override {
    db_->FlushWAL(/*sync=*/true).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }

  CacheCounts CacheStats() override {
    return {stats_->getTickerCount(rocksdb::BLOCK_CACHE_HIT),
            stats_->getTickerCount(rocksdb::BLOCK_CACHE_MISS)};
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    CLONEFS_RETURN_IF_ERROR(FromRocks(s, "read metadata"));
    return std::optional<std::string>(std::move(value));
  }

  Status Write(const MetaBatch& batch, bool sync) override {
    // Room for the whole batch at once: a checkpoint's batch is megabytes, and growing it by
    // doubling copies it over and over into fresh memory.
    size_t bytes = kBatchHeaderBytes;
    for (const auto& op : batch.ops()) bytes += op.key.size() + op.value.size() + kOpOverheadBytes;
    rocksdb::WriteBatch wb(bytes);
    for (const auto& op : batch.ops()) {
      rocksdb::Status s;
      switch (op.op) {
        case MetaBatch::Op::kPut:
          s = wb.Put(op.key, op.value);
          break;
        case MetaBatch::Op::kDelete:
          s = wb.Delete(op.key);
          break;
        case MetaBatch::Op::kDeleteRange:
          s = wb.DeleteRange(op.key, op.value);
          break;
      }
      CLONEFS_RETURN_IF_ERROR(FromRocks(s, "build metadata batch"));
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    rocksdb::Status s = WriteBatchToRocks(wo, &wb);
    if (s.IsNoSpace() || s.IsIOError()) {
      // A background error leaves RocksDB read-only until resumed; once space is back, resume.
      if (db_->Resume().ok()) s = WriteBatchToRocks(wo, &wb);
    }
    return FromRocks(s, "write metadata");
  }

  std::unique_ptr<MetaIterator> NewIterator() override {
    return std::make_unique<RocksIterator>(db_->NewIterator(rocksdb::ReadOptions()));
  }

  Status SyncWal() override { return FromRocks(db_->FlushWAL(/*sync=*/true), "sync metadata"); }

 private:
  rocksdb::Status WriteBatchToRocks(const rocksdb::WriteOptions& wo, rocksdb::WriteBatch* wb) {
    IgnoreRocksAccesses ignore;  // group commit (see the class)
    return db_->Write(wo, wb);
  }

  std::unique_ptr<rocksdb::DB> db_;
  const std::shared_ptr<rocksdb::Statistics> stats_;
};

}  // namespace

Result<std::unique_ptr<MetaDb>> OpenRocksMetaDb(const std::string& dir, uint64_t cache_bytes) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_open_files = 256;
  options.keep_log_file_num = 4;
  options.max_background_jobs = 2;
  // Memory: RocksDB gets under a third of the budget - a sixteenth for its two memtables, a
  // quarter for the block cache. The rest covers the page-map overlay and its checkpoint copy,
  // the log's write buffer, request buffers and allocator slack (docs/ARCHITECTURE.md,
  // "Memory"), which measured as much again under a write-heavy load.
  options.write_buffer_size = std::max<uint64_t>(4ull << 20, cache_bytes / 32);
  options.max_write_buffer_number = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(std::max<uint64_t>(8ull << 20, cache_bytes / 4));
  table.cache_index_and_filter_blocks = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Counters only (no timers or histograms: they cost on every call), for store stats.
  options.statistics = rocksdb::CreateDBStatistics();
  options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  CLONEFS_RETURN_IF_ERROR(FromRocks(s, "open metadata"));
  std::unique_ptr<MetaDb> meta(new RocksMetaDb(db, options.statistics));
  // RocksDB makes its directory 0755 and its files 0644: the directory alone keeps the catalog
  // (every account's names) from other local users, whatever mode the store directory has.
  if (::chmod(dir.c_str(), 0700) != 0) return Status::FromErrno(errno, "chmod " + dir);
  return meta;
}

}  // namespace clonefs::store
