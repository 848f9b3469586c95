// ReadPinnedChanges: the pages of VisitPinnedChanges, read in batches on a RunReader. An
// incremental of one volume reads each page from the record its pass found; other scans look
// the pages up as the pin sees them. Each page is read once: past the page cache.
#include <utility>
#include <vector>

#include "store/engine/handles.h"
#include "store/engine/run_reader.h"
#include "store/engine/store_impl.h"

namespace clonefs::store {
namespace {

constexpr uint64_t kBatchPages = 256;  // data pages per batch: 1 MiB of 4 KiB pages
// Runs per batch: bounds a batch of scattered single pages or discards.
constexpr size_t kBatchRuns = 1024;

using Versions = std::vector<std::optional<PageVersion>>;

// Gathers runs into batches for `reader`: at most kBatchPages data pages and kBatchRuns runs,
// adjacent runs of one kind merged. `read` fills a batch given its versions (one per data page,
// in order; empty when the pages are to be looked up).
class BatchBuilder {
 public:
  using ReadBatch = std::function<Status(const Versions& versions, PageBatch* batch)>;
  BatchBuilder(RunReader& reader, ReadBatch read) : reader_(reader), read_(std::move(read)) {}

  // Adds `run`, of any length; `version` only for a single data page whose record is known.
  Status Add(PageRun run, const PageVersion* version = nullptr) {
    while (run.count > 0) {
      if (runs_.size() >= kBatchRuns || (!run.zeros && data_pages_ == kBatchPages)) {
        CLONEFS_RETURN_IF_ERROR(Flush());
      }
      const uint64_t n = run.zeros ? run.count : std::min(run.count, kBatchPages - data_pages_);
      if (!runs_.empty() && runs_.back().zeros == run.zeros &&
          runs_.back().first + runs_.back().count == run.first) {
        runs_.back().count += n;
      } else {
        runs_.push_back(PageRun{run.first, n, run.zeros});
      }
      if (!run.zeros) data_pages_ += n;
      run.first += n;
      run.count -= n;
    }
    if (version != nullptr) versions_.emplace_back(*version);
    return Status::OK();
  }
  Status Flush() {
    if (runs_.empty()) return Status::OK();
    RunReader::ReadFn read;
    if (data_pages_ > 0) {
      read = [read = read_, versions = std::exchange(versions_, {})](PageBatch* b) {
        return read(versions, b);
      };
    }
    data_pages_ = 0;
    return reader_.Add(std::exchange(runs_, {}), std::move(read));
  }

 private:
  RunReader& reader_;
  const ReadBatch read_;
  std::vector<PageRun> runs_;
  Versions versions_;
  uint64_t data_pages_ = 0;  // in runs_
};

}  // namespace

Status StoreImpl::ReadPinnedChanges(SnapshotPin& target_pin, const SnapshotPin* base_pin,
                                    const std::function<Status(PageBatch*)>& fn) {
  const std::shared_ptr<SnapshotState>* tp = PinnedState(target_pin);
  const std::shared_ptr<SnapshotState>* bp = base_pin == nullptr ? nullptr : PinnedState(*base_pin);
  if (tp == nullptr || (base_pin != nullptr && bp == nullptr)) {
    return Status::InvalidArgument("ReadPinnedChanges takes pins of this store");
  }
  const std::shared_ptr<SnapshotState> target = *tp;
  const uint64_t ps = target->info.page_size;
  // Reads the data runs of a batch: from the records at `versions` where the pass found them,
  // or else as the pin sees them (a fresh lookup).
  auto read = [this, target, ps](const Versions& versions, PageBatch* batch) -> Status {
    uint64_t pages = 0;
    for (const PageRun& r : batch->runs) pages += r.zeros ? 0 : r.count;
    batch->pages.resize(pages * ps);
    uint64_t at = 0;  // data pages before r
    for (const PageRun& r : batch->runs) {
      if (r.zeros) continue;
      char* out = batch->pages.data() + at * ps;
      bool read_where_found = false;
      if (!versions.empty()) {
        std::shared_lock<std::shared_mutex> segments(segments_mu_);
        read_where_found =
            ReadVersionsLocked(*target->vol, r.first, std::span(versions).subspan(at, r.count), out,
                               ReadVia::kDirect)
                .ok();
      }
      // GC may have moved a record since it was found (compaction): look the pages up again.
      if (!read_where_found) {
        CLONEFS_RETURN_IF_ERROR(ReadPages(*target->vol, target->info.epoch, r.first,
                                          static_cast<uint32_t>(r.count), out, ReadVia::kDirect));
      }
      at += r.count;
    }
    return Status::OK();
  };
  RunReader reader(fn);
  BatchBuilder batches(reader, read);
  if (bp != nullptr && OfOneVolume(*target, **bp)) {
    // Two snapshots of one volume: the versions the volume wrote between them are the changes,
    // and they say where each page's record is.
    CLONEFS_RETURN_IF_ERROR(
        VisitWrittenBetween(*target, **bp, [&](uint64_t page, const PageVersion* v) {
          return batches.Add(PageRun{page, 1, v == nullptr}, v);
        }));
  } else {
    CLONEFS_RETURN_IF_ERROR(VisitPinnedChanges(
        target_pin, base_pin, [&](const PageRun& run) { return batches.Add(run); }));
  }
  CLONEFS_RETURN_IF_ERROR(batches.Flush());
  return reader.Finish();
}

}  // namespace clonefs::store
