#include "store/log/posix_segment_store.h"

#include <algorithm>
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

class PosixSegment final : public Segment {
 public:
  PosixSegment(Env* env, std::string path, std::unique_ptr<File> direct)
      : env_(env), path_(std::move(path)), direct_(std::move(direct)) {}

  Status WriteAt(uint64_t offset, std::string_view data) override {
    return direct_->WriteAt(offset, data);
  }
  Status ReadAt(uint64_t offset, size_t n, char* out, bool stable) const override {
    if (!stable) return ReadDirect(offset, n, out);
    CLONEFS_ASSIGN_OR_RETURN(File * reader, Reader());
    return reader->ReadAt(offset, n, out);
  }
  Status Sync() override { return direct_->Sync(); }
  Status Truncate(uint64_t size) override { return direct_->Truncate(size); }
  Result<uint64_t> Size() const override { return direct_->Size(); }

 private:
  // The buffered handle for stable reads, opened on first use.
  Result<File*> Reader() const {
    std::lock_guard<std::mutex> l(mu_);
    if (reader_ == nullptr) {
      CLONEFS_ASSIGN_OR_RETURN(reader_, env_->OpenFile(path_, /*create=*/false));
    }
    return reader_.get();
  }
  // Direct reads need block-aligned offsets, lengths and buffers: other ranges go through a
  // bounce buffer.
  Status ReadDirect(uint64_t offset, size_t n, char* out) const {
    const uint64_t start = AlignedBuffer::RoundDown(offset);
    const size_t span = AlignedBuffer::RoundUp(offset + n - start);
    if (start == offset && span == n &&
        reinterpret_cast<uintptr_t>(out) % kDirectIoAlignment == 0) {
      return direct_->ReadAt(offset, n, out);
    }
    thread_local AlignedBuffer bounce;
    bounce.Reserve(span);
    CLONEFS_RETURN_IF_ERROR(direct_->ReadAt(start, span, bounce.data()));
    std::memcpy(out, bounce.data() + (offset - start), n);
    return Status::OK();
  }

  Env* const env_;
  const std::string path_;
  const std::unique_ptr<File> direct_;
  mutable std::mutex mu_;
  mutable std::unique_ptr<File> reader_;  // GUARDED_BY(mu_) for its creation
};

}  // namespace

Result<std::shared_ptr<PosixSegmentStore>> PosixSegmentStore::Open(Env* env,
                                                                   const std::string& dir) {
  CLONEFS_RETURN_IF_ERROR(env->CreateDir(dir));
  return std::shared_ptr<PosixSegmentStore>(new PosixSegmentStore(env, dir));
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
  return std::shared_ptr<Segment>(std::make_shared<PosixSegment>(env_, path, std::move(file)));
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
