#include "store/log/posix_segment_store.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "store/log/aligned_buffer.h"

namespace clonefs::store {
namespace {

bool ParseSegmentName(const std::string& name, uint32_t* id) {
  unsigned v = 0;
  char tail[8] = {0};
  if (name.size() != 14 || std::sscanf(name.c_str(), "%10u.%3s", &v, tail) != 2) return false;
  if (std::string(tail) != "seg") return false;
  *id = v;
  return true;
}

// A segment file with two handles, each opened on first use and closed by the store's budget
// when idle (file_handle_budget.h): the direct one (writes, reads of bytes that may still
// change, sync, truncate, size) and a buffered one for stable reads, which the page cache may
// serve.
class PosixSegment final : public Segment, public FileHandleBudget::Holder {
 public:
  PosixSegment(Env* env, std::string path, std::shared_ptr<FileHandleBudget> budget)
      : env_(env), path_(std::move(path)), budget_(std::move(budget)) {
    budget_->Add(this);
  }
  ~PosixSegment() override {
    size_t open = 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& f : files_) open += f != nullptr;
    }
    budget_->Remove(this, open);
  }

  // Hands in the direct handle that created the file.
  void Adopt(std::unique_ptr<File> direct) {
    {
      std::lock_guard<std::mutex> l(mu_);
      files_[kDirect] = std::move(direct);
    }
    used_.store(true, std::memory_order_relaxed);
    budget_->Opened();
  }

  Status WriteAt(uint64_t offset, std::string_view data) override {
    CLONEFS_ASSIGN_OR_RETURN(auto file, Handle(kDirect));
    return file->WriteAt(offset, data);
  }
  Status ReadAt(uint64_t offset, size_t n, char* out, bool stable) const override {
    if (!stable) return ReadDirect(offset, n, out);
    CLONEFS_ASSIGN_OR_RETURN(auto reader, Handle(kBuffered));
    return reader->ReadAt(offset, n, out);
  }
  Status Sync() override {
    // A handle opened after the writes still flushes them: fdatasync works on the inode.
    CLONEFS_ASSIGN_OR_RETURN(auto file, Handle(kDirect));
    return file->Sync();
  }
  Status Truncate(uint64_t size) override {
    CLONEFS_ASSIGN_OR_RETURN(auto file, Handle(kDirect));
    return file->Truncate(size);
  }
  Result<uint64_t> Size() const override {
    CLONEFS_ASSIGN_OR_RETURN(auto file, Handle(kDirect));
    return file->Size();
  }

  size_t CloseIfIdle() override {
    if (used_.exchange(false, std::memory_order_relaxed)) return 0;
    std::lock_guard<std::mutex> l(mu_);
    size_t closed = 0;
    for (auto& f : files_) {
      closed += f != nullptr;
      f.reset();  // a call using it keeps its own reference until it returns
    }
    return closed;
  }

 private:
  enum Kind { kDirect = 0, kBuffered = 1 };

  Result<std::shared_ptr<File>> Handle(Kind kind) const {
    if (!used_.load(std::memory_order_relaxed)) used_.store(true, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> l(mu_);
      if (files_[kind] != nullptr) return files_[kind];
    }
    // Opened without the lock, so that a slow open does not hold up the other handle's users.
    Result<std::unique_ptr<File>> opened = kind == kDirect
                                               ? env_->OpenDirectFile(path_, /*create=*/false)
                                               : env_->OpenFile(path_, /*create=*/false);
    if (!opened.ok()) return opened.status();
    std::shared_ptr<File> file = std::move(*opened);
    {
      std::lock_guard<std::mutex> l(mu_);
      if (files_[kind] != nullptr) return files_[kind];  // another call opened it meanwhile
      files_[kind] = file;
    }
    budget_->Opened();
    return file;
  }
  // Direct reads need block-aligned offsets, lengths and buffers: other ranges go through a
  // bounce buffer.
  Status ReadDirect(uint64_t offset, size_t n, char* out) const {
    CLONEFS_ASSIGN_OR_RETURN(auto direct, Handle(kDirect));
    const uint64_t start = AlignedBuffer::RoundDown(offset);
    const size_t span = AlignedBuffer::RoundUp(offset + n - start);
    if (start == offset && span == n &&
        reinterpret_cast<uintptr_t>(out) % kDirectIoAlignment == 0) {
      return direct->ReadAt(offset, n, out);
    }
    thread_local AlignedBuffer bounce;
    bounce.Reserve(span);
    CLONEFS_RETURN_IF_ERROR(direct->ReadAt(start, span, bounce.data()));
    std::memcpy(out, bounce.data() + (offset - start), n);
    return Status::OK();
  }

  Env* const env_;
  const std::string path_;
  const std::shared_ptr<FileHandleBudget> budget_;  // shared: a segment may outlive its store
  mutable std::mutex mu_;
  mutable std::shared_ptr<File> files_[2];  // GUARDED_BY(mu_); null: closed
  mutable std::atomic<bool> used_{false};   // a handle was used since the budget last looked
};

}  // namespace

Result<std::shared_ptr<PosixSegmentStore>> PosixSegmentStore::Open(Env* env, const std::string& dir,
                                                                   size_t max_open_files) {
  CLONEFS_RETURN_IF_ERROR(env->CreateDir(dir));
  return std::shared_ptr<PosixSegmentStore>(new PosixSegmentStore(env, dir, max_open_files));
}

std::string PosixSegmentStore::PathOf(uint32_t id) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%010u.seg", id);
  return dir_ + "/" + name;
}

Result<std::vector<uint32_t>> PosixSegmentStore::List() {
  CLONEFS_ASSIGN_OR_RETURN(auto names, env_->ListDir(dir_));
  std::vector<uint32_t> ids;
  for (const auto& name : names) {
    uint32_t id;
    if (ParseSegmentName(name, &id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::shared_ptr<Segment>> PosixSegmentStore::OpenFile(uint32_t id, bool create) {
  const std::string path = PathOf(id);
  CLONEFS_ASSIGN_OR_RETURN(auto file, env_->OpenDirectFile(path, create));
  auto segment = std::make_shared<PosixSegment>(env_, path, budget_);
  segment->Adopt(std::move(file));
  return std::shared_ptr<Segment>(std::move(segment));
}

Result<std::shared_ptr<Segment>> PosixSegmentStore::Create(uint32_t id) {
  return OpenFile(id, /*create=*/true);
}

Result<std::shared_ptr<Segment>> PosixSegmentStore::Open(uint32_t id) {
  if (!env_->FileExists(PathOf(id))) {
    return Status::NotFound("segment " + std::to_string(id) + " does not exist in " + dir_);
  }
  CLONEFS_ASSIGN_OR_RETURN(auto segment, OpenFile(id, /*create=*/false));
  CLONEFS_ASSIGN_OR_RETURN(uint64_t size, segment->Size());
  if (size % kDirectIoAlignment != 0) {
    CLONEFS_RETURN_IF_ERROR(segment->Truncate(AlignedBuffer::RoundUp(size)));
  }
  return segment;
}

Status PosixSegmentStore::Delete(uint32_t id) {
  CLONEFS_RETURN_IF_ERROR(env_->DeleteFile(PathOf(id)));
  return env_->SyncDir(dir_);
}

Status PosixSegmentStore::SyncNames() { return env_->SyncDir(dir_); }

Result<uint64_t> PosixSegmentStore::FreeSpace() { return env_->FreeSpace(dir_); }

}  // namespace clonefs::store
