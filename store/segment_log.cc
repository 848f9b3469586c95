#include "store/segment_log.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "crypto/checksum.h"
#include "store/coding.h"

namespace clonefs::store {
namespace {

constexpr char kSegmentMagic[8] = {'C', 'F', 'S', 'E', 'G', '0', '0', '1'};

std::string EncodeSegmentHeader(uint32_t id) {
  std::string h(kSegmentHeaderSize, '\0');
  std::memcpy(h.data(), kSegmentMagic, 8);
  PutLE32(h.data() + 8, id);
  PutLE32(h.data() + 12, crypto::Crc32c(0, h.data(), 12));
  return h;
}

bool ParseSegmentName(const std::string& name, uint32_t* id) {
  unsigned v = 0;
  char tail[8] = {0};
  if (name.size() != 14 || std::sscanf(name.c_str(), "%10u.%3s", &v, tail) != 2) return false;
  if (std::string(tail) != "seg") return false;
  *id = v;
  return true;
}

}  // namespace

Result<std::unique_ptr<SegmentLog>> SegmentLog::Open(Env* env, const std::string& dir,
                                                     const Options& options) {
  CLONEFS_RETURN_IF_ERROR(env->CreateDir(dir));
  std::unique_ptr<SegmentLog> log(new SegmentLog(env, dir, options));
  CLONEFS_ASSIGN_OR_RETURN(auto names, env->ListDir(dir));
  for (const auto& name : names) {
    uint32_t id;
    if (!ParseSegmentName(name, &id)) continue;
    CLONEFS_ASSIGN_OR_RETURN(auto file, env->OpenFile(log->SegmentPath(id), false));
    CLONEFS_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    log->files_[id] = std::shared_ptr<File>(std::move(file));
    log->sizes_[id] = size;
    log->next_id_ = std::max(log->next_id_, id + 1);
  }
  return log;
}

std::string SegmentLog::SegmentPath(uint32_t id) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%010u.seg", id);
  return dir_ + "/" + name;
}

Status SegmentLog::StartSegmentLocked(uint32_t id) {
  CLONEFS_ASSIGN_OR_RETURN(auto file, env_->OpenFile(SegmentPath(id), /*create=*/true));
  Status s = file->WriteAt(0, EncodeSegmentHeader(id));
  if (!s.ok()) {
    env_->DeleteFile(SegmentPath(id)).IgnoreError();  // an empty new file: nothing to keep
    return s;
  }
  // The new name must survive a crash before any record in it is acknowledged as durable.
  CLONEFS_RETURN_IF_ERROR(env_->SyncDir(dir_));
  if (active_ != 0) unsynced_.insert(active_);
  files_[id] = std::shared_ptr<File>(std::move(file));
  sizes_[id] = kSegmentHeaderSize;
  active_ = id;
  next_id_ = id + 1;
  return Status::OK();
}

Result<RecordLocation> SegmentLog::Append(std::string_view records) {
  std::lock_guard<std::mutex> l(mu_);
  if (active_ == 0 || sizes_[active_] + records.size() > options_.segment_bytes) {
    CLONEFS_RETURN_IF_ERROR(StartSegmentLocked(next_id_));
  }
  CLONEFS_RETURN_IF_ERROR(CheckSpaceLocked(records.size()));
  const uint64_t offset = sizes_[active_];
  File* file = files_[active_].get();
  Status s = file->WriteAt(offset, records);
  if (!s.ok()) {
    // Cut off whatever part reached the file so that the next append follows valid records.
    file->Truncate(offset).IgnoreError();  // best effort; replay stops at a torn record anyway
    return s;
  }
  sizes_[active_] = offset + records.size();
  return RecordLocation{active_, static_cast<uint32_t>(offset),
                        static_cast<uint32_t>(records.size())};
}

Status SegmentLog::CheckSpaceLocked(size_t n) {
  constexpr uint64_t kCheckEvery = 4ull << 20;
  appended_since_check_ += n;
  const uint64_t need = options_.reserve_bytes + kCheckEvery;
  if (appended_since_check_ < kCheckEvery && last_free_ > need + appended_since_check_) {
    return Status::OK();
  }
  auto free = env_->FreeSpace(dir_);
  if (!free.ok()) return Status::OK();  // cannot tell: let the write itself report ENOSPC
  last_free_ = *free;
  appended_since_check_ = 0;
  if (*free < options_.reserve_bytes + n) {
    return Status::NoSpace("store filesystem is full (" + std::to_string(*free) +
                           " bytes free, " + std::to_string(options_.reserve_bytes) +
                           " kept for metadata)");
  }
  return Status::OK();
}

std::shared_ptr<File> SegmentLog::FileFor(uint32_t segment) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(segment);
  return it == files_.end() ? nullptr : it->second;
}

Status SegmentLog::ReadRun(uint32_t segment, uint64_t offset, size_t length, char* out) const {
  std::shared_ptr<File> file = FileFor(segment);
  if (file == nullptr) {
    return Status::Corruption("page map points at missing segment " + std::to_string(segment));
  }
  return file->ReadAt(offset, length, out);
}

Status SegmentLog::Read(const RecordLocation& loc, std::string* out) const {
  out->resize(loc.length);
  return ReadRun(loc.segment, loc.offset, loc.length, out->data());
}

Status SegmentLog::Sync() {
  struct Todo {
    uint32_t id;
    std::shared_ptr<File> file;
    uint64_t size;  // bytes appended when this sync started: what it covers
  };
  std::vector<Todo> todo;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (uint32_t id : unsynced_) todo.push_back({id, files_[id], sizes_[id]});
    if (active_ != 0) todo.push_back({active_, files_[active_], sizes_[active_]});
  }
  for (auto& t : todo) CLONEFS_RETURN_IF_ERROR(t.file->Sync());
  std::lock_guard<std::mutex> l(mu_);
  for (auto& t : todo) {
    // Done with a segment only if it is sealed and nothing was appended after we looked: a
    // segment that was active when we started may have grown before it was sealed.
    auto it = sizes_.find(t.id);
    if (t.id != active_ && it != sizes_.end() && it->second == t.size) unsynced_.erase(t.id);
  }
  return Status::OK();
}

LogPosition SegmentLog::Tail() const {
  std::lock_guard<std::mutex> l(mu_);
  if (active_ == 0) return LogPosition{next_id_, kSegmentHeaderSize};
  return LogPosition{active_, sizes_.at(active_)};
}

uint32_t SegmentLog::active_segment() const {
  std::lock_guard<std::mutex> l(mu_);
  return active_;
}

std::vector<std::pair<uint32_t, uint64_t>> SegmentLog::Segments() const {
  std::lock_guard<std::mutex> l(mu_);
  return {sizes_.begin(), sizes_.end()};
}

Status SegmentLog::DeleteSegment(uint32_t segment) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (segment == active_) return Status::InvalidState("cannot delete the active segment");
    files_.erase(segment);
    sizes_.erase(segment);
    unsynced_.erase(segment);
  }
  CLONEFS_RETURN_IF_ERROR(env_->DeleteFile(SegmentPath(segment)));
  return env_->SyncDir(dir_);
}

Status SegmentLog::ScanSegment(uint32_t segment, const RecordVisitor& visit) const {
  std::shared_ptr<File> file = FileFor(segment);
  if (file == nullptr) return Status::NotFound("segment " + std::to_string(segment));
  CLONEFS_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  uint64_t off = kSegmentHeaderSize;
  std::string buf;
  while (off + kRecordHeaderSize <= size) {
    buf.resize(kRecordHeaderSize);
    CLONEFS_RETURN_IF_ERROR(file->ReadAt(off, kRecordHeaderSize, buf.data()));
    RecordHeader h;
    if (!DecodeRecordHeader(buf, &h).ok() || off + h.record_size() > size) break;
    buf.resize(h.record_size());
    CLONEFS_RETURN_IF_ERROR(
        file->ReadAt(off + kRecordHeaderSize, h.payload_len, buf.data() + kRecordHeaderSize));
    std::string_view payload;
    if (!DecodeRecord(buf, &h, &payload).ok()) break;
    RecordLocation loc{segment, static_cast<uint32_t>(off), static_cast<uint32_t>(buf.size())};
    CLONEFS_RETURN_IF_ERROR(visit(h, payload, loc));
    off += h.record_size();
  }
  if (off < size) {
    return Status::Corruption("segment " + std::to_string(segment) + " has a bad record at " +
                              std::to_string(off));
  }
  return Status::OK();
}

Status SegmentLog::Replay(LogPosition from, const RecordVisitor& visit) {
  std::vector<uint32_t> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, size] : sizes_) {
      if (id >= from.segment) ids.push_back(id);
    }
  }
  bool torn = false;
  for (uint32_t id : ids) {
    if (torn) {
      spdlog::warn("recovery: deleting segment {} written after a torn record", id);
      CLONEFS_RETURN_IF_ERROR(DeleteSegment(id));
      continue;
    }
    std::shared_ptr<File> file = FileFor(id);
    CLONEFS_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    if (size < kSegmentHeaderSize) {
      // Created just before a crash: its header never reached the disk, so neither did records.
      spdlog::warn("recovery: deleting segment {} with an incomplete header", id);
      CLONEFS_RETURN_IF_ERROR(DeleteSegment(id));
      torn = true;
      continue;
    }
    uint64_t off = id == from.segment ? std::max<uint64_t>(from.offset, kSegmentHeaderSize)
                                      : kSegmentHeaderSize;
    std::string buf;
    while (off < size) {
      RecordHeader h;
      std::string_view payload;
      buf.resize(std::min<uint64_t>(kRecordHeaderSize, size - off));
      CLONEFS_RETURN_IF_ERROR(file->ReadAt(off, buf.size(), buf.data()));
      if (!DecodeRecordHeader(buf, &h).ok() || off + h.record_size() > size) break;
      buf.resize(h.record_size());
      CLONEFS_RETURN_IF_ERROR(
          file->ReadAt(off + kRecordHeaderSize, h.payload_len, buf.data() + kRecordHeaderSize));
      if (!DecodeRecord(buf, &h, &payload).ok()) break;
      RecordLocation loc{id, static_cast<uint32_t>(off), static_cast<uint32_t>(buf.size())};
      CLONEFS_RETURN_IF_ERROR(visit(h, payload, loc));
      off += h.record_size();
    }
    if (off < size) {
      spdlog::warn("recovery: segment {} ends in a torn record at offset {}; cutting {} bytes", id,
                   off, size - off);
      CLONEFS_RETURN_IF_ERROR(file->Truncate(off));
      CLONEFS_RETURN_IF_ERROR(file->Sync());
      torn = true;
    }
    std::lock_guard<std::mutex> l(mu_);
    sizes_[id] = off;
  }
  return Status::OK();
}

}  // namespace clonefs::store
