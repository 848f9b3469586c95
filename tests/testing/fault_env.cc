#include "tests/testing/fault_env.h"

namespace clonefs {

class FaultFile final : public File {
 public:
  FaultFile(FaultInjectionEnv* env, std::unique_ptr<File> base)
      : env_(env), base_(std::move(base)) {}

  Status ReadAt(uint64_t offset, size_t n, char* buf) const override {
    return base_->ReadAt(offset, n, buf);
  }
  Status WriteAt(uint64_t offset, std::string_view data) override {
    if (env_->crashed()) return Status::IOError("write " + path() + " after simulated crash");
    if (!env_->TakeBudget(data.size())) {
      return Status::NoSpace("write " + path() + ": No space left on device (injected)");
    }
    return base_->WriteAt(offset, data);
  }
  Status Sync() override {
    if (env_->fail_sync_.load()) return Status::IOError("fdatasync " + path() + " (injected)");
    return env_->SyncAndRecord(base_.get());
  }
  Status Truncate(uint64_t size) override {
    if (env_->crashed()) return Status::IOError("truncate " + path() + " after simulated crash");
    return base_->Truncate(size);
  }
  Result<uint64_t> Size() const override { return base_->Size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionEnv* const env_;
  std::unique_ptr<File> base_;
};

bool FaultInjectionEnv::TakeBudget(size_t n) {
  int64_t cur = write_budget_.load();
  while (cur >= 0) {
    if (cur < static_cast<int64_t>(n)) return false;
    if (write_budget_.compare_exchange_weak(cur, cur - static_cast<int64_t>(n))) return true;
  }
  return true;
}

bool FaultInjectionEnv::crashed() {
  std::lock_guard<std::mutex> l(mu_);
  return crashed_;
}

void FaultInjectionEnv::CrashAtSync(uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  crash_at_sync_ = n == 0 ? 0 : sync_points_.load() + n;
}

bool FaultInjectionEnv::CrashHereLocked() {
  const uint64_t point = sync_points_.fetch_add(1) + 1;
  if (crash_at_sync_ == 0 || point != crash_at_sync_) return false;
  DropUnsyncedDataLocked().IgnoreError();
  return true;
}

Status FaultInjectionEnv::SyncAndRecord(File* file) {
  std::lock_guard<std::mutex> l(mu_);
  if (crashed_) return Status::IOError("fdatasync " + file->path() + " after simulated crash");
  if (CrashHereLocked()) return Status::IOError("fdatasync " + file->path() + ": simulated crash");
  CLONEFS_RETURN_IF_ERROR(file->Sync());
  CLONEFS_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  synced_size_[file->path()] = size;
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> l(mu_);
  if (crashed_) return Status::IOError("fsync " + dir + " after simulated crash");
  if (CrashHereLocked()) return Status::IOError("fsync " + dir + ": simulated crash");
  CLONEFS_RETURN_IF_ERROR(base_->SyncDir(dir));
  const std::string prefix = dir.back() == '/' ? dir : dir + "/";
  for (auto it = unsynced_names_.begin(); it != unsynced_names_.end();) {
    const bool in_dir = it->compare(0, prefix.size(), prefix) == 0 &&
                        it->find('/', prefix.size()) == std::string::npos;
    it = in_dir ? unsynced_names_.erase(it) : std::next(it);
  }
  return Status::OK();
}

void FaultInjectionEnv::NoteIfNew(const std::string& path, bool create) {
  if (!create || base_->FileExists(path)) return;
  std::lock_guard<std::mutex> l(mu_);
  unsynced_names_.insert(path);
}

Result<std::unique_ptr<File>> FaultInjectionEnv::OpenFile(const std::string& path, bool create) {
  NoteIfNew(path, create);
  CLONEFS_ASSIGN_OR_RETURN(auto file, base_->OpenFile(path, create));
  return Track(path, std::move(file));
}

Result<std::unique_ptr<File>> FaultInjectionEnv::OpenDirectFile(const std::string& path,
                                                                bool create) {
  NoteIfNew(path, create);
  CLONEFS_ASSIGN_OR_RETURN(auto file, base_->OpenDirectFile(path, create));
  return Track(path, std::move(file));
}

Result<std::unique_ptr<File>> FaultInjectionEnv::Track(const std::string& path,
                                                       std::unique_ptr<File> file) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (synced_size_.find(path) == synced_size_.end()) {
      // A file we first see is durable as it stands (it predates the simulated crash window).
      CLONEFS_ASSIGN_OR_RETURN(uint64_t size, file->Size());
      synced_size_[path] = size;
    }
  }
  return std::unique_ptr<File>(new FaultFile(this, std::move(file)));
}

Status FaultInjectionEnv::DeleteFile(const std::string& path) {
  {
    std::lock_guard<std::mutex> l(mu_);
    synced_size_.erase(path);
    unsynced_names_.erase(path);
  }
  return base_->DeleteFile(path);
}

Status FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(mu_);
  return DropUnsyncedDataLocked();
}

Status FaultInjectionEnv::DropUnsyncedDataLocked() {
  crashed_ = true;
  for (const std::string& path : unsynced_names_) {
    if (base_->FileExists(path)) CLONEFS_RETURN_IF_ERROR(base_->DeleteFile(path));
  }
  for (const auto& [path, size] : synced_size_) {
    if (unsynced_names_.count(path) || !base_->FileExists(path)) continue;
    CLONEFS_ASSIGN_OR_RETURN(auto file, base_->OpenFile(path, false));
    CLONEFS_ASSIGN_OR_RETURN(uint64_t cur, file->Size());
    if (cur > size) CLONEFS_RETURN_IF_ERROR(file->Truncate(size));
  }
  return Status::OK();
}

}  // namespace clonefs
