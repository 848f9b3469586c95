// ExportSnapshot: one snapshot of a store, or what changed in it since an older snapshot of its
// lineage, as an export stream (stream_format.h). Reads only the pages that hold data (or
// changed): the cost follows data, not volume size.
#pragma once

#include <functional>
#include <string>

#include "store/store.h"
#include "tools/export/byte_io.h"
#include "tools/export/stream_format.h"

namespace clonefs::exportfmt {

struct ExportOptions {
  std::string snapshot;
  std::string since;          // the base snapshot of an incremental; empty for a full stream
  std::string recipient_pem;  // seal the stream key for this public key; empty: in the clear
  Codec codec = Codec::kNone;
  uint8_t chunk_log2 = kDefaultChunkLog2;
  // Polled between runs of pages; true stops the export (OperationCancelled).
  std::function<bool()> cancelled;
  // Called now and then with the page the export reached, of the volume's page count.
  std::function<void(uint64_t page, uint64_t page_count)> progress;
};

struct ExportSummary {
  Header header;
  Trailer trailer;
};

// An encrypted snapshot is exported only to a recipient (InvalidParameterCombination
// otherwise): its pages leave the store decrypted, so only sealed.
Result<ExportSummary> ExportSnapshot(store::Store& store, const ExportOptions& options,
                                     ByteSink* out);

// The identity export streams give `snapshot` of `store` (its store uuid and snapshot id).
Result<SnapshotIdentity> IdentityOf(const store::StoreInfo& store,
                                    const store::SnapshotInfo& snapshot);

}  // namespace clonefs::exportfmt
