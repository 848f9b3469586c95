#include "tools/export/exporter.h"

#include <cstring>

#include "base/error_names.h"
#include "crypto/hex.h"
#include "tools/export/stream_writer.h"

namespace clonefs::exportfmt {
namespace {

constexpr uint64_t kReadPages = 256;  // pages read per call: 1 MiB of 4 KiB pages

uint8_t Log2(uint32_t v) {
  uint8_t n = 0;
  while ((uint32_t{1} << n) < v) ++n;
  return n;
}

}  // namespace

Result<SnapshotIdentity> IdentityOf(const store::StoreInfo& store,
                                    const store::SnapshotInfo& snapshot) {
  auto uuid = crypto::HexDecode(store.store_uuid);
  if (!uuid || uuid->size() != 16) {
    return Status::Corruption("store uuid '" + store.store_uuid + "' is not 32 hex digits");
  }
  SnapshotIdentity id;
  std::memcpy(id.store_uuid.data(), uuid->data(), 16);
  id.snapshot_id = snapshot.id;
  id.epoch = snapshot.epoch;
  return id;
}

Result<ExportSummary> ExportSnapshot(store::Store& store, const ExportOptions& options,
                                     ByteSink* out) {
  // Pinned: a deletion of the snapshot (or the base) meanwhile does not cut the stream short.
  CLONEFS_ASSIGN_OR_RETURN(std::unique_ptr<store::SnapshotPin> pin,
                           store.PinSnapshot(options.snapshot));
  const store::SnapshotInfo& snap = pin->info();
  if (snap.encrypted && options.recipient_pem.empty()) {
    return errors::InvalidParameterCombination(
        "snapshot '" + snap.name +
        "' is encrypted: it can only be exported to a recipient (--recipient PUBLIC_KEY.pem)");
  }
  Header h;
  h.chunk_log2 = options.chunk_log2;
  h.page_log2 = Log2(snap.page_size);
  h.codec = options.codec;
  h.volume_size = snap.size_bytes;
  const store::StoreInfo& info = store.info();
  h.source_arn = "arn:clonefs:" + info.region + ":" + info.account_id + ":snapshot:" + snap.name;
  CLONEFS_ASSIGN_OR_RETURN(h.source, IdentityOf(info, snap));
  h.source_create_time_us = snap.create_time_us;
  h.source_encrypted = snap.encrypted;
  std::unique_ptr<store::SnapshotPin> base;
  if (!options.since.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(base, store.PinSnapshot(options.since));
    h.flags |= kIncremental;
    CLONEFS_ASSIGN_OR_RETURN(h.base, IdentityOf(info, base->info()));
  }
  SecretBytes key;
  CLONEFS_RETURN_IF_ERROR(PrepareKey(&h, options.recipient_pem, &key));
  store::VolumeHandle& reader = pin->reader();
  CLONEFS_ASSIGN_OR_RETURN(auto writer, StreamWriter::Start(out, h, key));
  const uint64_t ps = snap.page_size;
  auto check_cancelled = [&] {
    if (!options.cancelled || !options.cancelled()) return Status::OK();
    return errors::Named(errors::kOperationCancelled,
                         Status::IOError("the export of '" + snap.name + "' was cancelled"));
  };
  std::string buf;
  CLONEFS_RETURN_IF_ERROR(
      store.VisitPinnedChanges(*pin, base.get(), [&](const store::PageRun& run) {
        CLONEFS_RETURN_IF_ERROR(check_cancelled());
        if (run.zeros) return writer->AddZeros(run.first, run.count);
        for (uint64_t done = 0; done < run.count;) {
          CLONEFS_RETURN_IF_ERROR(check_cancelled());
          if (options.progress) options.progress(run.first + done, h.page_count());
          const uint64_t n = std::min(kReadPages, run.count - done);
          buf.resize(n * ps);
          CLONEFS_RETURN_IF_ERROR(reader.Read((run.first + done) * ps, buf.size(), buf.data()));
          CLONEFS_RETURN_IF_ERROR(writer->AddPages(run.first + done, n, buf));
          done += n;
        }
        return Status::OK();
      }));
  CLONEFS_ASSIGN_OR_RETURN(Trailer t, writer->Finish());
  return ExportSummary{h, t};
}

}  // namespace clonefs::exportfmt
