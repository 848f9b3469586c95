#include "store/log/memory_segment_store.h"

#include <cstring>

namespace clonefs::store {

struct MemorySegmentStore::Data {
  std::string bytes;
  size_t synced = 0;         // bytes the last Sync() covered
  bool name_synced = false;  // its creation survived a SyncNames()
  bool deleted = false;
};

namespace {

class MemorySegment final : public Segment {
 public:
  MemorySegment(std::shared_ptr<MemorySegmentStore::Data> data, std::mutex* mu, size_t alignment,
                const uint64_t* capacity, const MemorySegmentStore* store)
      : data_(std::move(data)),
        mu_(mu),
        alignment_(alignment),
        capacity_(capacity),
        store_(store) {}

  Status WriteAt(uint64_t offset, std::string_view bytes) override {
    if (offset % alignment_ != 0 || bytes.size() % alignment_ != 0 ||
        reinterpret_cast<uintptr_t>(bytes.data()) % alignment_ != 0) {
      return Status::InvalidArgument("unaligned segment write");
    }
    const uint64_t stored = store_->stored_bytes();
    std::lock_guard<std::mutex> l(*mu_);
    if (data_->deleted) return Status::IOError("segment was deleted");
    const uint64_t end = offset + bytes.size();
    if (end > data_->bytes.size() && stored + (end - data_->bytes.size()) > *capacity_) {
      return Status::NoSpace("memory segment store is full");
    }
    if (end > data_->bytes.size()) data_->bytes.resize(end, '\0');
    std::memcpy(data_->bytes.data() + offset, bytes.data(), bytes.size());
    return Status::OK();
  }
  Status ReadAt(uint64_t offset, size_t n, char* out, bool) const override {
    std::lock_guard<std::mutex> l(*mu_);
    if (offset > data_->bytes.size() || n > data_->bytes.size() - offset) {
      return Status::Corruption("short read");
    }
    std::memcpy(out, data_->bytes.data() + offset, n);
    return Status::OK();
  }
  Status Sync() override {
    std::lock_guard<std::mutex> l(*mu_);
    data_->synced = data_->bytes.size();
    return Status::OK();
  }
  Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> l(*mu_);
    data_->bytes.resize(size, '\0');
    data_->synced = std::min<size_t>(data_->synced, size);
    return Status::OK();
  }
  Result<uint64_t> Size() const override {
    std::lock_guard<std::mutex> l(*mu_);
    return static_cast<uint64_t>(data_->bytes.size());
  }

 private:
  const std::shared_ptr<MemorySegmentStore::Data> data_;
  std::mutex* const mu_;
  const size_t alignment_;
  const uint64_t* const capacity_;
  const MemorySegmentStore* const store_;
};

}  // namespace

Result<std::vector<uint32_t>> MemorySegmentStore::List() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<uint32_t> ids;
  for (const auto& [id, data] : segments_) ids.push_back(id);
  return ids;
}

Result<std::shared_ptr<Segment>> MemorySegmentStore::Create(uint32_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto& slot = segments_[id];
  if (slot == nullptr) slot = std::make_shared<Data>();
  return std::shared_ptr<Segment>(
      std::make_shared<MemorySegment>(slot, &mu_, alignment_, &capacity_, this));
}

Result<std::shared_ptr<Segment>> MemorySegmentStore::Open(uint32_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = segments_.find(id);
  if (it == segments_.end()) return Status::NotFound("segment " + std::to_string(id));
  return std::shared_ptr<Segment>(
      std::make_shared<MemorySegment>(it->second, &mu_, alignment_, &capacity_, this));
}

Status MemorySegmentStore::Delete(uint32_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = segments_.find(id);
  if (it == segments_.end()) return Status::NotFound("segment " + std::to_string(id));
  it->second->deleted = true;
  segments_.erase(it);
  return Status::OK();
}

Status MemorySegmentStore::SyncNames() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [id, data] : segments_) data->name_synced = true;
  return Status::OK();
}

Result<uint64_t> MemorySegmentStore::FreeSpace() {
  const uint64_t stored = stored_bytes();
  std::lock_guard<std::mutex> l(mu_);
  return capacity_ > stored ? capacity_ - stored : 0;
}

uint64_t MemorySegmentStore::stored_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t n = 0;
  for (const auto& [id, data] : segments_) n += data->bytes.size();
  return n;
}

void MemorySegmentStore::set_capacity(uint64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  capacity_ = bytes;
}

void MemorySegmentStore::Crash() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = segments_.begin(); it != segments_.end();) {
    Data& d = *it->second;
    if (!d.name_synced) {
      d.deleted = true;
      it = segments_.erase(it);
      continue;
    }
    d.bytes.resize(d.synced);
    ++it;
  }
}

}  // namespace clonefs::store
