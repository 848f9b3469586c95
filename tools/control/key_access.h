// What a caller needs of the KMS keys to make a resource of its own from another account's
// encrypted one (a restore or copy of a shared snapshot, a clone of a shared volume), checked
// before any work so that the refusal names the key, the operation and who can allow it.
//
// The store engine enforces the same rules at every unwrap (a volume's key ring acts as its
// owning account, store/keys/volume_key_ring.h); these checks only make the error clear.
#pragma once

#include <string>

#include "base/result.h"
#include "tools/control/commands.h"

namespace clonefs::control {

// For a new resource of the caller's made from `source` ("snapshot ARN", "volume ARN"),
// encrypted under KMS key `source_key_id` and owned by another account: the caller needs
// Decrypt on that key and, when the new resource keeps it (`kms_key` empty), ReEncrypt too.
// A key named by `kms_key` is the engine's to check (it resolves the caller's aliases).
// KMSKeyNotAccessible otherwise, naming the key's ARN and what its owner can grant.
Status CheckKeysToDerive(CommandContext& ctx, const std::string& source,
                         const std::string& source_key_id, const std::string& kms_key);

// Whether `key_id` is a default key of `account` (who owns the resource encrypted with it): such a
// key is never shared, so nothing under it can be used by another account.
bool IsDefaultKeyOf(CommandContext& ctx, const std::string& account, const std::string& key_id);

}  // namespace clonefs::control
