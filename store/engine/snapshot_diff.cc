// Which pages of a snapshot hold data, or differ from an older snapshot of its lineage: the
// page map answers from its entries alone (a page version is identified by the volume and
// epoch that wrote it and its record's sequence number, which GC relocation keeps), so no page
// is read and holes cost nothing.
#include <vector>

#include "base/error_names.h"
#include "store/engine/handles.h"
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

}  // namespace clonefs::store
