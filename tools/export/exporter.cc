#include "tools/export/exporter.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/buffer_pool.h"
#include "base/error_names.h"
#include "crypto/hex.h"
#include "store/access/arn.h"
#include "store/access/store_names.h"
#include "tools/export/stream_writer.h"

namespace clonefs::exportfmt {
namespace {

uint8_t Log2(uint32_t v) {
  uint8_t n = 0;
  while ((uint32_t{1} << n) < v) ++n;
  return n;
}

// Runs ReadPinnedChanges on a thread of its own, handing its batches over at most kDepth ahead.
// A batch travels in the very buffer the store read it into: batches are moved, not copied,
// and their buffers go back to BufferPool::Pages() through Recycle. Destroying it stops the
// thread.
class ReadAhead {
 public:
  ReadAhead(store::Store& store, store::SnapshotPin& pin, const store::SnapshotPin* base)
      : thread_([this, &store, &pin, base] {
          Status s = store.ReadPinnedChanges(
              pin, base, [&](store::PageBatch* batch) { return Push(std::move(*batch)); });
          std::lock_guard<std::mutex> l(mu_);
          finished_ = true;
          result_ = s;
          cv_.notify_all();
        }) {}
  ~ReadAhead() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
    for (store::PageBatch& b : queue_) Recycle(std::move(b));
  }

  // The next batch in page order; nullopt when every page was handed over.
  Result<std::optional<store::PageBatch>> Next() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
      if (!result_.ok()) return result_;
      return std::optional<store::PageBatch>();
    }
    store::PageBatch b = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return std::optional<store::PageBatch>(std::move(b));
  }
  void Recycle(store::PageBatch b) { BufferPool::Pages().Give(std::move(b.pages)); }

 private:
  static constexpr size_t kDepth = 4;

  Status Push(store::PageBatch b) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return queue_.size() < kDepth || stopped_; });
    if (stopped_) return Status::IOError("export stopped");
    queue_.push_back(std::move(b));
    cv_.notify_all();
    return Status::OK();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<store::PageBatch> queue_;  // GUARDED_BY mu_
  bool finished_ = false;               // GUARDED_BY mu_
  bool stopped_ = false;                // GUARDED_BY mu_
  Status result_;                       // GUARDED_BY mu_
  std::thread thread_;                  // last: starts once the rest is built
};

}  // namespace

Result<SnapshotIdentity> IdentityOf(const store::StoreInfo& store,
                                    const store::SnapshotInfo& snapshot) {
  auto uuid = crypto::HexDecode(store.store_uuid);
  if (!uuid || uuid->size() != 16) {
    return Status::Corruption("store uuid '" + store.store_uuid + "' is not 32 hex digits");
  }
  SnapshotIdentity id;
  std::memcpy(id.store_uuid.data(), uuid->data(), 16);
  id.snapshot_id = snapshot.id;
  id.epoch = snapshot.epoch;
  return id;
}

Result<ExportSummary> ExportSnapshot(store::Store& store, const ExportOptions& options,
                                     ByteSink* out) {
  // Pinned: a deletion of the snapshot (or the base) meanwhile does not cut the stream short.
  CLONEFS_ASSIGN_OR_RETURN(std::unique_ptr<store::SnapshotPin> pin,
                           store.PinSnapshot(options.snapshot));
  const store::SnapshotInfo& snap = pin->info();
  if (snap.encrypted && options.recipient_pem.empty()) {
    return errors::InvalidParameterCombination(
        "snapshot '" + snap.name +
        "' is encrypted: it can only be exported to a recipient (--recipient PUBLIC_KEY.pem)");
  }
  Header h;
  h.chunk_log2 = options.chunk_log2;
  h.page_log2 = Log2(snap.page_size);
  h.codec = options.codec;
  h.volume_size = snap.size_bytes;
  const store::StoreInfo& info = store.info();
  const access::OwnedName owned = access::SplitStoreName(info.account_id, snap.name);
  h.source_arn = access::FormatArn(info.region, owned.account, access::kSnapshotType, owned.name);
  CLONEFS_ASSIGN_OR_RETURN(h.source, IdentityOf(info, snap));
  h.source_create_time_us = snap.create_time_us;
  h.source_encrypted = snap.encrypted;
  std::unique_ptr<store::SnapshotPin> base;
  if (!options.since.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(base, store.PinSnapshot(options.since));
    h.flags |= kIncremental;
    CLONEFS_ASSIGN_OR_RETURN(h.base, IdentityOf(info, base->info()));
  }
  SecretBytes key;
  CLONEFS_RETURN_IF_ERROR(PrepareKey(&h, options.recipient_pem, &key));
  CLONEFS_ASSIGN_OR_RETURN(auto writer, StreamWriter::Start(out, h, key));
  const uint64_t ps = snap.page_size;
  auto check_cancelled = [&] {
    if (!options.cancelled || !options.cancelled()) return Status::OK();
    return errors::Named(errors::kOperationCancelled,
                         Status::IOError("the export of '" + snap.name + "' was cancelled"));
  };
  // Pages are read (and decrypted) on a thread of their own, a few batches ahead, while this
  // one seals and writes: the two overlap, and so does the disk with both.
  ReadAhead ahead(store, *pin, base.get());
  for (;;) {
    CLONEFS_RETURN_IF_ERROR(check_cancelled());
    CLONEFS_ASSIGN_OR_RETURN(std::optional<store::PageBatch> batch, ahead.Next());
    if (!batch.has_value()) break;
    const std::string_view pages = batch->pages;
    size_t at = 0;  // bytes of `pages` passed on
    for (const store::PageRun& run : batch->runs) {
      if (run.zeros) {
        CLONEFS_RETURN_IF_ERROR(writer->AddZeros(run.first, run.count));
        continue;
      }
      if (pages.size() - at < run.count * ps) return Status::Corruption("a batch short of pages");
      CLONEFS_RETURN_IF_ERROR(
          writer->AddPages(run.first, run.count, pages.substr(at, run.count * ps)));
      at += run.count * ps;
    }
    if (at != pages.size()) return Status::Corruption("a batch with pages left over");
    if (options.progress && !batch->runs.empty()) {
      options.progress(batch->runs.back().first, h.page_count());
    }
    ahead.Recycle(std::move(*batch));
  }
  CLONEFS_ASSIGN_OR_RETURN(Trailer t, writer->Finish());
  return ExportSummary{h, t};
}

}  // namespace clonefs::exportfmt
