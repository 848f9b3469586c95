#include "store/rados/rados_segment_store.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "store/rados/rados_cluster.h"

namespace clonefs::store {
namespace {

constexpr char kPrefix[] = "seg.";
constexpr size_t kPrefixLen = sizeof(kPrefix) - 1;
constexpr size_t kIdDigits = 10;

bool ParseObjectName(const std::string& name, uint32_t* id) {
  if (name.size() != kPrefixLen + kIdDigits || name.compare(0, kPrefixLen, kPrefix) != 0) {
    return false;
  }
  uint64_t v = 0;
  for (size_t i = kPrefixLen; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  if (v > UINT32_MAX) return false;
  *id = static_cast<uint32_t>(v);
  return true;
}

// The first unsigned number in `text` at or after `from` (monitor answers are small JSON
// documents: `134217728` or `{"pool":"p","pool_id":1,"size":3}`).
std::optional<uint64_t> FirstNumber(const std::string& text, size_t from = 0) {
  const size_t start = text.find_first_of("0123456789", from);
  if (start == std::string::npos) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = start; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    v = v * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  return v;
}

std::string MiB(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

class RadosSegment final : public Segment {
 public:
  RadosSegment(std::shared_ptr<RadosCluster> cluster, std::string oid, uint64_t max_bytes)
      : cluster_(std::move(cluster)), oid_(std::move(oid)), max_bytes_(max_bytes) {}

  Status WriteAt(uint64_t offset, std::string_view data) override {
    CLONEFS_RETURN_IF_ERROR(CheckFits(offset + data.size(), "write"));
    // A copy, not a static buffer over `data`: the messenger may hold on to the bytes it sent
    // after the call returns, and `data` belongs to the caller.
    librados::bufferlist bl;
    bl.append(data.data(), static_cast<unsigned>(data.size()));
    librados::ObjectWriteOperation op;
    op.assert_exists();
    op.write(offset, bl);
    return cluster_->Check(
        cluster_->io().operate(oid_, &op, LIBRADOS_OPERATION_FULL_TRY),
        "write " + std::to_string(data.size()) + " bytes at " + std::to_string(offset), oid_);
  }

  // `stable` changes nothing: there is no client cache, every read asks the OSD, which always
  // has the latest committed write.
  Status ReadAt(uint64_t offset, size_t n, char* out, bool /*stable*/) const override {
    if (n == 0) return Status::OK();  // librados reads "to the end" for a length of 0
    // Read straight into `out` where librados can (as its C API does); otherwise copied below.
    librados::bufferlist bl;
    bl.push_back(ceph::bufferptr(ceph::buffer::create_static(static_cast<unsigned>(n), out)));
    const int r = cluster_->io().read(oid_, bl, n, offset);
    CLONEFS_RETURN_IF_ERROR(cluster_->Check(
        r, "read " + std::to_string(n) + " bytes at " + std::to_string(offset), oid_));
    if (static_cast<size_t>(r) != n) {
      return Status::Corruption(cluster_->description() + "/" + oid_ +
                                ": short read: " + std::to_string(n) + " bytes at " +
                                std::to_string(offset) + ", " + std::to_string(r) + " there");
    }
    if (!bl.is_provided_buffer(out)) bl.begin().copy(n, out);
    return Status::OK();
  }

  // Nothing to do: each WriteAt() and Truncate() returned only once committed on the acting set.
  Status Sync() override { return Status::OK(); }

  Status Truncate(uint64_t size) override {
    CLONEFS_RETURN_IF_ERROR(CheckFits(size, "truncate"));
    librados::ObjectWriteOperation op;
    op.assert_exists();
    op.truncate(size);
    return cluster_->Check(cluster_->io().operate(oid_, &op, LIBRADOS_OPERATION_FULL_TRY),
                           "truncate to " + std::to_string(size), oid_);
  }

  Result<uint64_t> Size() const override {
    uint64_t size = 0;
    time_t mtime = 0;
    CLONEFS_RETURN_IF_ERROR(
        cluster_->Check(cluster_->io().stat(oid_, &size, &mtime), "stat", oid_));
    return size;
  }

 private:
  // The OSD would answer EFBIG (or, for a truncate, accept it); say what is wrong instead.
  Status CheckFits(uint64_t end, const char* what) const {
    if (end <= max_bytes_) return Status::OK();
    return Status::InvalidArgument(cluster_->description() + "/" + oid_ + ": " + what +
                                   " to byte " + std::to_string(end) +
                                   " is past the cluster's osd_max_object_size (" +
                                   MiB(max_bytes_) + "): a segment is one object");
  }

  const std::shared_ptr<RadosCluster> cluster_;
  const std::string oid_;
  const uint64_t max_bytes_;
};

}  // namespace

std::string RadosSegmentStore::ObjectName(uint32_t id) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%010u", kPrefix, id);
  return name;
}

Result<std::shared_ptr<RadosSegmentStore>> RadosSegmentStore::Open(
    std::shared_ptr<RadosCluster> cluster, const Options& options) {
  // Both facts come from the monitor, which answers without a mgr. A cluster that will not tell
  // (a user without the caps for `config get`) is taken to have Ceph's default object limit.
  uint64_t max_object = kDefaultMaxObjectBytes;
  auto limit = cluster->MonCommand(
      R"({"prefix":"config get","who":"osd","key":"osd_max_object_size","format":"json"})");
  if (limit.ok() && FirstNumber(*limit).value_or(0) > 0) max_object = *FirstNumber(*limit);
  if (options.segment_bytes > max_object) {
    return Status::InvalidArgument(
        "segment size " + MiB(options.segment_bytes) + " does not fit in one object of " +
        cluster->description() + ": osd_max_object_size is " + MiB(max_object) +
        "; choose segment_bytes of at most that (a segment is one RADOS object)");
  }
  CLONEFS_ASSIGN_OR_RETURN(
      std::string pool,
      cluster->MonCommand(R"({"prefix":"osd pool get","pool":")" + cluster->options().pool +
                          R"(","var":"size","format":"json"})"));
  const size_t key = pool.find("\"size\"");
  const uint64_t replicas =
      std::max<uint64_t>(1, key == std::string::npos ? 1 : FirstNumber(pool, key).value_or(1));
  return std::shared_ptr<RadosSegmentStore>(
      new RadosSegmentStore(std::move(cluster), max_object, replicas));
}

const std::string& RadosSegmentStore::description() const { return cluster_->description(); }

std::shared_ptr<Segment> RadosSegmentStore::SegmentFor(uint32_t id) const {
  return std::make_shared<RadosSegment>(cluster_, ObjectName(id), max_object_bytes_);
}

Result<std::vector<uint32_t>> RadosSegmentStore::List() {
  // Lists the IoCtx's namespace only. RADOS keeps no index by name: this walks every PG of the
  // pool, which is fine for what calls it (opening a store).
  librados::IoCtx& io = cluster_->io();
  std::vector<uint32_t> ids;
  librados::ObjectCursor cursor = io.object_list_begin();
  const librados::ObjectCursor end = io.object_list_end();
  while (!io.object_list_is_end(cursor)) {
    std::vector<librados::ObjectItem> items;
    librados::ObjectCursor next;
    const int r = io.object_list(cursor, end, 1024, {}, &items, &next);
    CLONEFS_RETURN_IF_ERROR(cluster_->Check(r, "list objects"));
    for (const auto& item : items) {
      uint32_t id;
      if (ParseObjectName(item.oid, &id)) ids.push_back(id);
    }
    cursor = next;
  }
  std::sort(ids.begin(), ids.end());  // listing order is by hash, not by name
  return ids;
}

Result<std::shared_ptr<Segment>> RadosSegmentStore::Create(uint32_t id) {
  const std::string oid = ObjectName(id);
  librados::ObjectWriteOperation op;
  op.create(/*exclusive=*/true);
  const int r = cluster_->io().operate(oid, &op, LIBRADOS_OPERATION_FULL_TRY);
  if (r == -EEXIST) {
    return Status::AlreadyExists("segment " + std::to_string(id) + " already exists in " +
                                 description());
  }
  CLONEFS_RETURN_IF_ERROR(cluster_->Check(r, "create", oid));
  return SegmentFor(id);
}

Result<std::shared_ptr<Segment>> RadosSegmentStore::Open(uint32_t id) {
  const std::string oid = ObjectName(id);
  uint64_t size = 0;
  time_t mtime = 0;
  const int r = cluster_->io().stat(oid, &size, &mtime);
  if (r == -ENOENT) {
    return Status::NotFound("segment " + std::to_string(id) + " does not exist in " +
                            description());
  }
  CLONEFS_RETURN_IF_ERROR(cluster_->Check(r, "stat", oid));
  return SegmentFor(id);
}

Status RadosSegmentStore::Delete(uint32_t id) {
  const std::string oid = ObjectName(id);
  // FULL_TRY here too: on a full cluster the OSDs still take a delete (which is how the log's
  // garbage collection gets room back), but librados would hold it until the cluster is no
  // longer full.
  const int r = cluster_->io().remove(oid, LIBRADOS_OPERATION_FULL_TRY);
  if (r == -ENOENT) {
    return Status::NotFound("segment " + std::to_string(id) + " does not exist in " +
                            description());
  }
  return cluster_->Check(r, "remove", oid);  // durable once it returns, like every write
}

// Nothing to do: an exclusive create is a write like any other, committed on the acting set
// before Create() returned. Object names need no directory sync: RADOS has no directories.
Status RadosSegmentStore::SyncNames() { return Status::OK(); }

// The cluster's free bytes over the pool's replica count: what could still be written into
// this pool if it got all of it (conservative for an erasure-coded pool, whose "size" is k+m;
// generous where other pools compete, or when the OSDs refuse writes above their full ratio).
// The figures come from the mgr's statistics; a cluster without a mgr (our test cluster)
// reports all zeros, and then the free space is unknown and reported as unlimited. That is
// sound because the estimate is only an early warning: a write into a full cluster fails at
// once with NoSpace (FULL_TRY), which the log handles as it does a full disk. An error instead
// would make the log ask again on every append (segment_log.cc, CheckSpaceLocked).
Result<uint64_t> RadosSegmentStore::FreeSpace() {
  librados::cluster_stat_t stat{};
  CLONEFS_RETURN_IF_ERROR(cluster_->Check(cluster_->rados().cluster_stat(stat), "cluster stat"));
  if (stat.kb == 0) return UINT64_MAX;
  return stat.kb_avail * 1024 / replicas_;
}

}  // namespace clonefs::store
