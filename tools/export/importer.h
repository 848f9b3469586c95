// ImportSnapshot: an export stream into a new snapshot of a store. Every chunk and the
// trailer are verified before the snapshot becomes visible (Store::BeginSnapshotImport); a
// stream that is damaged, truncated, for another recipient or for another base leaves nothing.
#pragma once

#include <functional>
#include <string>

#include "crypto/secret.h"
#include "store/store.h"
#include "tools/export/byte_io.h"
#include "tools/export/stream_format.h"
#include "tools/export/stream_reader.h"

namespace clonefs::exportfmt {

struct ImportOptions {
  std::string target;  // the new snapshot's name
  // Incremental streams: the snapshot of this store the stream applies to, which must be the
  // stream's base (imported from it, or the very snapshot when exported from this store).
  std::string base;
  // Encrypt the new snapshot under this KMS key. A stream of an encrypted snapshot always
  // makes an encrypted one (under the account's default key when none is named).
  std::string kms_key;
  // For a stream sealed for a recipient: its private key (PEM), or (when set, instead) a
  // function that opens the envelope, such as one backed by the store's key store.
  const crypto::SecretBytes* recipient_private_pem = nullptr;
  StreamReader::EnvelopeOpener open_envelope;
  store::Tags tags;  // of the new snapshot
  // The source volume's name it shows (VolumeIdentifier); empty: the source snapshot's name,
  // which is all a stream names.
  std::string volume_name;
  // Called now and then with how far the stream has got: the page it reached, of page_count.
  std::function<void(uint64_t page, uint64_t page_count)> progress;
  // Polled between chunks; true stops the import (OperationCancelled), leaving nothing.
  std::function<bool()> cancelled;
};

Result<store::SnapshotInfo> ImportSnapshot(store::Store& store, const ImportOptions& options,
                                           ByteSource* in);

// How a snapshot identity is written in a snapshot record (SnapshotInfo::source_identity).
std::string IdentityText(const SnapshotIdentity& id);

}  // namespace clonefs::exportfmt
