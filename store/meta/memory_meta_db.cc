#include "store/meta/memory_meta_db.h"

namespace clonefs::store {
namespace {

class MemoryIterator final : public MetaIterator {
 public:
  using Map = std::map<std::string, std::string, std::less<>>;
  explicit MemoryIterator(std::shared_ptr<const Map> map)
      : map_(std::move(map)), it_(map_->end()) {}
  void Seek(std::string_view key) override { it_ = map_->lower_bound(key); }
  bool Valid() const override { return it_ != map_->end(); }
  void Next() override { ++it_; }
  std::string_view key() const override { return it_->first; }
  std::string_view value() const override { return it_->second; }
  Status status() const override { return Status::OK(); }

 private:
  const std::shared_ptr<const Map> map_;
  Map::const_iterator it_;
};

}  // namespace

Result<std::optional<std::string>> MemoryMetaDb::Get(std::string_view key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = current_->find(key);
  if (it == current_->end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryMetaDb::Write(const MetaBatch& batch, bool sync) {
  std::lock_guard<std::mutex> l(mu_);
  // Copy on write: iterators and the durable image may share the current map.
  auto next = std::make_shared<Map>(*current_);
  for (const auto& op : batch.ops()) {
    switch (op.op) {
      case MetaBatch::Op::kPut:
        (*next)[op.key] = op.value;
        break;
      case MetaBatch::Op::kDelete:
        next->erase(op.key);
        break;
      case MetaBatch::Op::kDeleteRange:
        next->erase(next->lower_bound(op.key), next->lower_bound(op.value));
        break;
    }
  }
  current_ = std::move(next);
  if (sync) {
    durable_ = current_;
    unsynced_ = false;
  } else {
    unsynced_ = true;
  }
  return Status::OK();
}

std::unique_ptr<MetaIterator> MemoryMetaDb::NewIterator() {
  std::lock_guard<std::mutex> l(mu_);
  return std::make_unique<MemoryIterator>(current_);
}

Status MemoryMetaDb::SyncWal() {
  std::lock_guard<std::mutex> l(mu_);
  durable_ = current_;
  unsynced_ = false;
  return Status::OK();
}

void MemoryMetaDb::Crash() {
  std::lock_guard<std::mutex> l(mu_);
  if (unsynced_) current_ = std::make_shared<Map>(*durable_);
  unsynced_ = false;
}

}  // namespace clonefs::store
