// ImportSnapshot: an export stream into a new snapshot of a store. Every chunk and the
// trailer are verified before the snapshot becomes visible (Store::BeginSnapshotImport); a
// stream that is damaged, truncated, for another recipient or for another base leaves nothing.
#pragma once

#include <string>

#include "crypto/secret.h"
#include "store/store.h"
#include "tools/export/byte_io.h"
#include "tools/export/stream_format.h"

namespace clonefs::exportfmt {

struct ImportOptions {
  std::string target;  // the new snapshot's name
  // Incremental streams: the snapshot of this store the stream applies to, which must be the
  // stream's base (imported from it, or the very snapshot when exported from this store).
  std::string base;
  // Encrypt the new snapshot under this KMS key. A stream of an encrypted snapshot always
  // makes an encrypted one (under the account's default key when none is named).
  std::string kms_key;
  // The recipient's private key (PEM), for a stream sealed for a recipient.
  const crypto::SecretBytes* recipient_private_pem = nullptr;
};

Result<store::SnapshotInfo> ImportSnapshot(store::Store& store, const ImportOptions& options,
                                           ByteSource* in);

// How a snapshot identity is written in a snapshot record (SnapshotInfo::source_identity).
std::string IdentityText(const SnapshotIdentity& id);

}  // namespace clonefs::exportfmt
