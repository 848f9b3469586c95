#include "tools/export/importer.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/buffer_pool.h"
#include "base/error_names.h"
#include "crypto/hex.h"
#include "tools/export/exporter.h"
#include "tools/export/stream_reader.h"

namespace clonefs::exportfmt {
namespace {

constexpr uint64_t kCopyPages = 256;  // base pages copied per read

// The base of an incremental must be the snapshot the stream was made against: imported
// from it (its recorded source identity), or that snapshot itself in the store it came from.
Status CheckBase(store::Store& store, const Header& h, const store::SnapshotInfo& base) {
  const std::string want = IdentityText(h.base);
  CLONEFS_ASSIGN_OR_RETURN(SnapshotIdentity local, IdentityOf(store.info(), base));
  if (base.source_identity == want || IdentityText(local) == want) return Status::OK();
  return errors::InvalidParameterCombination(
      "the stream is an incremental on snapshot " + want + ", and '" + base.name +
      "' is not that snapshot (it is " +
      (base.source_identity.empty() ? IdentityText(local) : base.source_identity) + ")");
}

// Copies the data of local snapshot `base` into the import: the image the stream applies to.
Status CopyBase(store::Store& store, const std::string& base, uint32_t page_size,
                store::VolumeHandle& to) {
  CLONEFS_ASSIGN_OR_RETURN(auto from, store.OpenSnapshot(base));
  std::string buf;
  return store.VisitChangedPages(base, "", [&](const store::PageRun& run) {
    for (uint64_t done = 0; done < run.count;) {
      const uint64_t n = std::min(kCopyPages, run.count - done);
      buf.resize(n * page_size);
      const uint64_t offset = (run.first + done) * page_size;
      CLONEFS_RETURN_IF_ERROR(from->Read(offset, buf.size(), buf.data()));
      CLONEFS_RETURN_IF_ERROR(to.Write(offset, buf));
      done += n;
    }
    return Status::OK();
  });
}

// Writes pages into the import on threads of their own, so that reading and opening the next
// chunk of the stream overlaps with sealing and storing this one, and two batches are sealed
// and stored at once (the store takes concurrent writes of disjoint pages, and a stream's
// records never overlap, so the order they land in does not matter). At most kDepth batches
// wait; the first failure stops it and is what Finish() returns.
class BackgroundWriter {
 public:
  explicit BackgroundWriter(store::VolumeHandle& to) : to_(to) {
    for (size_t i = 0; i < kThreads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~BackgroundWriter() { Finish().IgnoreError(); }

  // Copies `data` (the stream reader reuses its buffer) and queues its write at `offset`.
  Status Write(uint64_t offset, std::string_view data) { return Push(offset, data, 0); }
  Status Discard(uint64_t offset, uint64_t length) { return Push(offset, {}, length); }
  // Waits until everything queued is written; the first failure, if any.
  Status Finish() {
    {
      std::unique_lock<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
    return failure_;
  }

 private:
  static constexpr size_t kThreads = 2;
  static constexpr size_t kDepth = 4;
  struct Batch {
    uint64_t offset = 0;
    std::string data;
    uint64_t discard = 0;  // > 0: a discard of this many bytes instead
  };

  Status Push(uint64_t offset, std::string_view data, uint64_t discard) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return queue_.size() < kDepth || !failure_.ok(); });
    if (!failure_.ok()) return failure_;
    Batch b;
    b.data = BufferPool::Pages().Take();
    b.offset = offset;
    b.data.assign(data.data(), data.size());
    b.discard = discard;
    queue_.push_back(std::move(b));
    cv_.notify_all();
    return Status::OK();
  }

  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return !queue_.empty() || done_; });
      if (queue_.empty()) return;
      Batch b = std::move(queue_.front());
      queue_.pop_front();
      cv_.notify_all();
      l.unlock();
      Status s = b.discard > 0 ? to_.Discard(b.offset, b.discard) : to_.Write(b.offset, b.data);
      BufferPool::Pages().Give(std::move(b.data));
      l.lock();
      if (!s.ok() && failure_.ok()) {
        failure_ = s;
        queue_.clear();
        cv_.notify_all();
      }
    }
  }

  store::VolumeHandle& to_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;  // GUARDED_BY mu_
  bool done_ = false;        // GUARDED_BY mu_
  Status failure_;           // GUARDED_BY mu_ until the threads are joined
  std::vector<std::thread> threads_;
};

}  // namespace

std::string IdentityText(const SnapshotIdentity& id) {
  return crypto::HexEncode(std::string_view(reinterpret_cast<const char*>(id.store_uuid.data()),
                                            id.store_uuid.size())) +
         "/" + std::to_string(id.snapshot_id) + "@" + std::to_string(id.epoch);
}

Result<store::SnapshotInfo> ImportSnapshot(store::Store& store, const ImportOptions& options,
                                           ByteSource* in) {
  CLONEFS_ASSIGN_OR_RETURN(auto reader, StreamReader::Open(in));
  const Header& h = reader->header();
  if (h.incremental() && options.base.empty()) {
    return errors::InvalidParameterCombination(
        "the stream is an incremental on snapshot " + IdentityText(h.base) +
        "; name the snapshot it applies to (--base SNAPSHOT)");
  }
  if (!h.incremental() && !options.base.empty()) {
    return errors::InvalidParameterCombination("the stream is a full image; it takes no --base");
  }
  store::SnapshotInfo base;
  if (h.incremental()) {
    CLONEFS_ASSIGN_OR_RETURN(base, store.GetSnapshot(options.base));
    CLONEFS_RETURN_IF_ERROR(CheckBase(store, h, base));
    if (base.page_size != h.page_size()) {
      return errors::InvalidParameterCombination("base '" + base.name + "' has another page size");
    }
  }
  CLONEFS_ASSIGN_OR_RETURN(SecretBytes key, options.open_envelope
                                                ? reader->StreamKeyFrom(options.open_envelope)
                                                : reader->StreamKey(options.recipient_private_pem));

  store::SnapshotImportOptions o;
  o.volume.size_bytes = h.volume_size;
  o.volume.page_size = h.page_size();
  o.volume.encrypted = h.source_encrypted || !options.kms_key.empty() || base.encrypted;
  o.volume.kms_key = options.kms_key.empty() && base.encrypted ? base.kms_key_id : options.kms_key;
  const size_t colon = h.source_arn.rfind(':');
  o.volume_name = !options.volume_name.empty() ? options.volume_name
                  : colon == std::string::npos ? ""
                                               : h.source_arn.substr(colon + 1);
  o.source_snapshot_arn = h.source_arn;
  o.source_identity = IdentityText(h.source);
  o.tags = options.tags;
  CLONEFS_ASSIGN_OR_RETURN(auto import, store.BeginSnapshotImport(options.target, o));
  store::VolumeHandle& vol = import->volume();
  if (h.incremental()) {
    CLONEFS_RETURN_IF_ERROR(CopyBase(store, base.name, h.page_size(), vol));
  }
  const uint64_t ps = h.page_size();
  auto step = [&](uint64_t first) {
    if (options.cancelled && options.cancelled()) {
      return errors::Named(errors::kOperationCancelled,
                           Status::IOError("the import of '" + options.target +
                                           "' was cancelled; nothing of it was kept"));
    }
    if (options.progress) options.progress(first, h.page_count());
    return Status::OK();
  };
  BackgroundWriter writer(vol);
  StreamVisitor v;
  v.pages = [&](uint64_t first, uint64_t, std::string_view data) {
    CLONEFS_RETURN_IF_ERROR(step(first));
    return writer.Write(first * ps, data);
  };
  v.zeros = [&](uint64_t first, uint64_t count) {
    CLONEFS_RETURN_IF_ERROR(step(first));
    return writer.Discard(first * ps, count * ps);
  };
  // Any failure here destroys the import uncommitted: nothing is left behind.
  Status read = reader->Read(key, v).status();
  Status written = writer.Finish();
  CLONEFS_RETURN_IF_ERROR(read);
  CLONEFS_RETURN_IF_ERROR(written);
  CLONEFS_RETURN_IF_ERROR(step(h.page_count()));
  return import->Commit();
}

}  // namespace clonefs::exportfmt
