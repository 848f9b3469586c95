// Which pages of a snapshot hold data, or differ from an older snapshot of its lineage: the
// page map answers from its entries alone (a page version is identified by the volume and
// epoch that wrote it and its record's sequence number, which GC relocation keeps), so no page
// is read and holes cost nothing.
#include <vector>

#include "base/error_names.h"
#include "store/engine/handles.h"
#include "store/engine/run_reader.h"
#include "store/engine/store_impl.h"

namespace clonefs::store {
namespace {

// Pages looked at per step: bounds the memory of one step whatever the snapshot size.
constexpr uint64_t kWindowPages = uint64_t{1} << 16;

struct Seen {
  bool data = false;  // a version with data (not a tombstone)
  uint64_t volume = 0, epoch = 0, seq = 0;
  bool operator==(const Seen&) const = default;
};

// Emits runs of consecutive pages of one kind, merging across windows.
class RunBuilder {
 public:
  explicit RunBuilder(const std::function<Status(const PageRun&)>& fn) : fn_(fn) {}
  Status Add(uint64_t page, bool zeros) {
    if (run_.count > 0 && run_.first + run_.count == page && run_.zeros == zeros) {
      run_.count++;
      return Status::OK();
    }
    CLONEFS_RETURN_IF_ERROR(Flush());
    run_ = PageRun{page, 1, zeros};
    return Status::OK();
  }
  Status Flush() {
    if (run_.count == 0) return Status::OK();
    PageRun r = run_;
    run_ = PageRun{};
    return fn_(r);
  }

 private:
  const std::function<Status(const PageRun&)>& fn_;
  PageRun run_;
};

}  // namespace

bool StoreImpl::OfOneVolume(const SnapshotState& target, const SnapshotState& base) {
  return base.info.volume_id == target.info.volume_id && base.info.epoch <= target.info.epoch;
}

Status StoreImpl::VisitWrittenBetween(
    const SnapshotState& target, const SnapshotState& base,
    const std::function<Status(uint64_t page, const PageVersion* version)>& fn) {
  ReadView written, base_view;
  {
    // The views are copied under the lock: CloneInto may change a volume's ancestors.
    std::lock_guard<std::mutex> l(catalog_mu_);
    written = target.vol->View(target.info.epoch);
    base_view = base.vol->View(base.info.epoch);
  }
  // One pass over the map sees only the versions the volume itself wrote after the base (the
  // rest are skipped by their keys alone).
  written.chain.resize(1);
  written.newer_than = base.info.epoch;
  const uint64_t pages =
      (target.info.size_bytes + target.info.page_size - 1) / target.info.page_size;
  std::vector<std::pair<uint64_t, PageVersion>> found;
  for (uint64_t first = 0; first < pages; first += kWindowPages) {
    const uint64_t end = std::min(pages, first + kWindowPages);
    found.clear();
    CLONEFS_RETURN_IF_ERROR(
        map_->VisitRange(written, first, end, [&](uint64_t page, const PageVersion& v) {
          found.emplace_back(page, v);
          return Status::OK();
        }));
    for (const auto& [page, v] : found) {
      if (!v.value.tombstone) {
        CLONEFS_RETURN_IF_ERROR(fn(page, &v));
        continue;
      }
      // A discard: a change only where the base held data.
      bool base_has = false;
      CLONEFS_RETURN_IF_ERROR(
          map_->VisitRange(base_view, page, page + 1, [&](uint64_t, const PageVersion& bv) {
            base_has = !bv.value.tombstone;
            return Status::OK();
          }));
      if (base_has) CLONEFS_RETURN_IF_ERROR(fn(page, nullptr));
    }
  }
  return Status::OK();
}

Status StoreImpl::VisitChangedPages(const std::string& target, const std::string& base,
                                    const std::function<Status(const PageRun&)>& fn) {
  CLONEFS_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotPin> t, PinSnapshot(target));
  std::unique_ptr<SnapshotPin> b;
  if (!base.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(b, PinSnapshot(base));
  }
  return VisitPinnedChanges(*t, b.get(), fn);
}

Status StoreImpl::VisitPinnedChanges(const SnapshotPin& target_pin, const SnapshotPin* base_pin,
                                     const std::function<Status(const PageRun&)>& fn) {
  const std::shared_ptr<SnapshotState>* tp = PinnedState(target_pin);
  const std::shared_ptr<SnapshotState>* bp = base_pin == nullptr ? nullptr : PinnedState(*base_pin);
  if (tp == nullptr || (base_pin != nullptr && bp == nullptr)) {
    return Status::InvalidArgument("VisitPinnedChanges takes pins of this store");
  }
  const SnapshotInfo& ti = (*tp)->info;
  if (bp != nullptr &&
      ((*bp)->info.lineage_id != ti.lineage_id || (*bp)->info.page_size != ti.page_size)) {
    return errors::InvalidParameterCombination(
        "snapshots '" + (*bp)->info.name + "' and '" + ti.name +
        "' are not of one lineage: an incremental needs a base taken from the same volume "
        "or its clones");
  }
  ReadView target_view, base_view;
  {
    // The views are copied under the lock: CloneInto may change a volume's ancestors.
    std::lock_guard<std::mutex> l(catalog_mu_);
    target_view = (*tp)->vol->View(ti.epoch);
    if (bp != nullptr) base_view = (*bp)->vol->View((*bp)->info.epoch);
  }
  const uint64_t pages = (ti.size_bytes + ti.page_size - 1) / ti.page_size;
  const bool has_base = bp != nullptr;
  // The pins keep every entry of both snapshots from GC, even if they are deleted meanwhile.
  RunBuilder runs(fn);
  std::vector<std::pair<uint64_t, Seen>> in_base, in_target;  // in page order
  in_base.reserve(has_base ? std::min(pages, kWindowPages) : 0);
  in_target.reserve(std::min(pages, kWindowPages));
  auto seen = [](const PageVersion& v) {
    return Seen{!v.value.tombstone, v.volume, v.epoch, v.value.seq};
  };
  if (has_base && OfOneVolume(**tp, **bp)) {
    CLONEFS_RETURN_IF_ERROR(
        VisitWrittenBetween(**tp, **bp, [&](uint64_t page, const PageVersion* v) {
          return runs.Add(page, /*zeros=*/v == nullptr);
        }));
    return runs.Flush();
  }

  for (uint64_t first = 0; first < pages; first += kWindowPages) {
    const uint64_t end = std::min(pages, first + kWindowPages);
    in_base.clear();
    in_target.clear();
    if (has_base) {
      CLONEFS_RETURN_IF_ERROR(
          map_->VisitRange(base_view, first, end, [&](uint64_t page, const PageVersion& v) {
            if (!v.value.tombstone) in_base.emplace_back(page, seen(v));
            return Status::OK();
          }));
    }
    CLONEFS_RETURN_IF_ERROR(
        map_->VisitRange(target_view, first, end, [&](uint64_t page, const PageVersion& v) {
          in_target.emplace_back(page, seen(v));
          return Status::OK();
        }));
    // Merge by page: target's data that base lacks or holds otherwise; base's data that
    // target reads as zeros (a tombstone, or no version at all).
    auto b = in_base.begin();
    for (const auto& [page, t] : in_target) {
      for (; b != in_base.end() && b->first < page; ++b) {
        CLONEFS_RETURN_IF_ERROR(runs.Add(b->first, /*zeros=*/true));
      }
      const bool base_has = b != in_base.end() && b->first == page;
      if (t.data && !(base_has && b->second == t)) {
        CLONEFS_RETURN_IF_ERROR(runs.Add(page, /*zeros=*/false));
      } else if (!t.data && base_has) {
        CLONEFS_RETURN_IF_ERROR(runs.Add(page, /*zeros=*/true));
      }
      if (base_has) ++b;
    }
    for (; b != in_base.end(); ++b) CLONEFS_RETURN_IF_ERROR(runs.Add(b->first, /*zeros=*/true));
  }
  return runs.Flush();
}

Status StoreImpl::ReadPinnedChanges(
    SnapshotPin& target_pin, const SnapshotPin* base_pin,
    const std::function<Status(const PageRun&, std::string* pages)>& fn) {
  constexpr uint64_t kRunPages = 256;
  const std::shared_ptr<SnapshotState>* tp = PinnedState(target_pin);
  const std::shared_ptr<SnapshotState>* bp = base_pin == nullptr ? nullptr : PinnedState(*base_pin);
  if (tp == nullptr || (base_pin != nullptr && bp == nullptr)) {
    return Status::InvalidArgument("ReadPinnedChanges takes pins of this store");
  }
  const std::shared_ptr<SnapshotState> target = *tp;
  const uint64_t ps = target->info.page_size;
  // Reads the pages of `run` as the pin sees them (a fresh lookup). Each page is read once:
  // past the page cache.
  auto read_through_pin = [this, target, ps](const PageRun& run, std::string* out) {
    out->resize(run.count * ps);
    return ReadPages(*target->vol, target->info.epoch, run.first, static_cast<uint32_t>(run.count),
                     out->data(), ReadVia::kDirect);
  };
  // Runs are read a few at a time on threads of their own, and handed to `fn` in page order.
  RunReader reader(fn);
  const bool same_volume = bp != nullptr && OfOneVolume(*target, **bp);
  if (!same_volume) {
    CLONEFS_RETURN_IF_ERROR(
        VisitPinnedChanges(target_pin, base_pin, [&](const PageRun& run) -> Status {
          if (run.zeros) return reader.Add(run, nullptr);
          for (uint64_t done = 0; done < run.count;) {
            const uint64_t n = std::min(kRunPages, run.count - done);
            CLONEFS_RETURN_IF_ERROR(
                reader.Add(PageRun{run.first + done, n, false}, read_through_pin));
            done += n;
          }
          return Status::OK();
        }));
    return reader.Finish();
  }
  // Two snapshots of one volume: the versions the volume wrote between them are the changes,
  // and they say where each page's record is.
  std::vector<std::optional<PageVersion>> run_versions;
  uint64_t run_first = 0;
  auto flush = [&]() -> Status {
    if (run_versions.empty()) return Status::OK();
    const PageRun run{run_first, run_versions.size(), false};
    auto read = [this, target, ps, read_through_pin, versions = std::move(run_versions)](
                    const PageRun& r, std::string* out) {
      out->resize(r.count * ps);
      Status s;
      {
        std::shared_lock<std::shared_mutex> segments(segments_mu_);
        s = ReadVersionsLocked(*target->vol, r.first, versions, out->data(), ReadVia::kDirect);
      }
      // GC may have moved a record since it was found (compaction): look the pages up again.
      return s.ok() ? s : read_through_pin(r, out);
    };
    run_versions.clear();
    return reader.Add(run, std::move(read));
  };
  CLONEFS_RETURN_IF_ERROR(
      VisitWrittenBetween(*target, **bp, [&](uint64_t page, const PageVersion* v) {
        if (v == nullptr) {
          CLONEFS_RETURN_IF_ERROR(flush());
          return reader.Add(PageRun{page, 1, true}, nullptr);
        }
        if (!run_versions.empty() &&
            (run_first + run_versions.size() != page || run_versions.size() >= kRunPages)) {
          CLONEFS_RETURN_IF_ERROR(flush());
        }
        if (run_versions.empty()) run_first = page;
        run_versions.emplace_back(*v);
        return Status::OK();
      }));
  CLONEFS_RETURN_IF_ERROR(flush());
  return reader.Finish();
}

}  // namespace clonefs::store
