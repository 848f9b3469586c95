// PosixSegmentStore: segments as files "<id, 10 digits>.seg" in one directory.
//
// Writes use direct I/O (Env::OpenDirectFile): a log only ever writes new file space, and the
// kernel's page cache would cost a fresh cache page per 4 KiB written, several times the device
// write itself; so every write covers whole kDirectIoAlignment blocks. Reads of stable bytes
// (never written again) go through a second, buffered handle and the page cache, so repeated
// reads are cheap and nothing stale is ever cached; other reads are direct. Creating a file
// does not sync the directory (appenders would wait for the journal): SyncNames() does.
// Handles open on first use and are closed again when idle, so that about `max_open_files`
// are open whatever the number of segments (file_handle_budget.h).
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "base/env.h"
#include "store/log/file_handle_budget.h"
#include "store/log/segment_store.h"

namespace clonefs::store {

class PosixSegmentStore final : public SegmentStore {
 public:
  // Segments in `dir` (created if missing), through `env`, which must outlive the store.
  static Result<std::shared_ptr<PosixSegmentStore>> Open(
      Env* env, const std::string& dir, size_t max_open_files = kDefaultMaxOpenFiles);
  static constexpr size_t kDefaultMaxOpenFiles = 256;

  size_t write_alignment() const override { return kDirectIoAlignment; }
  Result<std::vector<uint32_t>> List() override;
  Result<std::shared_ptr<Segment>> Create(uint32_t id) override;
  // A file whose size is not a whole number of blocks (a crash in the middle of a write) is
  // extended with zeros to the next block, which reads as the clean end of the segment.
  Result<std::shared_ptr<Segment>> Open(uint32_t id) override;
  Status Delete(uint32_t id) override;
  Status SyncNames() override;
  Result<uint64_t> FreeSpace() override;
  const std::string& description() const override { return dir_; }

  std::string PathOf(uint32_t id) const;
  // Segment file handles open now.
  size_t open_files() const { return budget_->open(); }

 private:
  PosixSegmentStore(Env* env, std::string dir, size_t max_open_files)
      : env_(env),
        dir_(std::move(dir)),
        budget_(std::make_shared<FileHandleBudget>(max_open_files)) {}
  Result<std::shared_ptr<Segment>> OpenFile(uint32_t id, bool create);

  Env* const env_;
  const std::string dir_;
  const std::shared_ptr<FileHandleBudget> budget_;
};

}  // namespace clonefs::store
