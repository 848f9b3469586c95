// Stable error names: the one list of the machine-readable names a failure carries
// (Status::WithName), and helpers that build the common ones with their canonical message.
//
// Clients match on these names (the control socket's "Code", clonectl's exit output), so a name
// never changes once released; docs/CLI.md lists them. The store, the key store, the mount and
// the control plane all take their names from here.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace clonefs::errors {

// --- volumes, snapshots, clones (the store) ---
inline constexpr std::string_view kVolumeNotFound = "VolumeNotFound";
inline constexpr std::string_view kVolumeAlreadyExists = "VolumeAlreadyExists";
inline constexpr std::string_view kInvalidVolumeState = "InvalidVolumeState";
inline constexpr std::string_view kSnapshotNotFound = "SnapshotNotFound";
inline constexpr std::string_view kSnapshotAlreadyExists = "SnapshotAlreadyExists";
inline constexpr std::string_view kInvalidSnapshotState = "InvalidSnapshotState";
inline constexpr std::string_view kCloneQuotaExceeded = "CloneQuotaExceeded";
inline constexpr std::string_view kSnapshotQuotaExceeded = "SnapshotQuotaExceeded";
// A point-in-time restore to a time outside the volume's restore window (named in the message).
inline constexpr std::string_view kInvalidRestoreTime = "InvalidRestoreTime";
// A snapshot copy that was accepted could not be finished (its reason in the message).
inline constexpr std::string_view kSnapshotCopyFailed = "SnapshotCopyFailed";
inline constexpr std::string_view kInvalidParameterValue = "InvalidParameterValue";
inline constexpr std::string_view kInvalidParameterCombination = "InvalidParameterCombination";
inline constexpr std::string_view kStoreNotFound = "StoreNotFound";
inline constexpr std::string_view kStoreAlreadyExists = "StoreAlreadyExists";
inline constexpr std::string_view kStoreBusy = "StoreBusy";
inline constexpr std::string_view kInsufficientStorage = "InsufficientStorage";
// Tags (base/tags.h): more than 50 on one resource.
inline constexpr std::string_view kTagQuotaPerResourceExceeded = "TagQuotaPerResourceExceeded";

// --- keys (the key store and encrypted volumes; KMS-style names) ---
inline constexpr std::string_view kKmsKeyNotAccessible = "KMSKeyNotAccessible";
inline constexpr std::string_view kKmsInvalidState = "KMSInvalidStateException";
inline constexpr std::string_view kKeyDisabled = "DisabledException";
inline constexpr std::string_view kKeyNotFound = "NotFoundException";
inline constexpr std::string_view kKeyAlreadyExists = "AlreadyExistsException";
inline constexpr std::string_view kKeyAccessDenied = "AccessDeniedException";
inline constexpr std::string_view kInvalidAliasName = "InvalidAliasNameException";
inline constexpr std::string_view kMalformedPolicyDocument = "MalformedPolicyDocumentException";
inline constexpr std::string_view kUnsupportedOperation = "UnsupportedOperationException";
// A key used for what its key spec does not allow (a data key under a public-key recipient key,
// the public key of a symmetric key).
inline constexpr std::string_view kInvalidKeyUsage = "InvalidKeyUsageException";
inline constexpr std::string_view kKeyFilePermissionsTooOpen = "KeyFilePermissionsTooOpen";
inline constexpr std::string_view kDekExhausted = "DekExhausted";

// --- the control plane ---
inline constexpr std::string_view kAccessDenied = "AccessDenied";
// Accounts (store/access): a well-formed account id with no account, or one taken already.
inline constexpr std::string_view kAccountNotFound = "AccountNotFound";
inline constexpr std::string_view kAccountAlreadyExists = "AccountAlreadyExists";
// Sharing (store/access/sharing.h): a snapshot's restore attribute past 20 accounts; resource
// shares of volumes and the invitations they send (AWS RAM's, under shorter names).
inline constexpr std::string_view kSharedSnapshotQuotaExceeded = "SharedSnapshotQuotaExceeded";
inline constexpr std::string_view kShareNotFound = "ShareNotFound";
inline constexpr std::string_view kShareAlreadyExists = "ShareAlreadyExists";
inline constexpr std::string_view kInvitationNotFound = "InvitationNotFound";
inline constexpr std::string_view kInvitationAlreadyAccepted = "InvitationAlreadyAccepted";
inline constexpr std::string_view kInvitationAlreadyRejected = "InvitationAlreadyRejected";
inline constexpr std::string_view kInvitationExpired = "InvitationExpired";
inline constexpr std::string_view kDaemonUnavailable = "DaemonUnavailable";
inline constexpr std::string_view kInternalError = "InternalError";
// A long command (a --full-copy) was stopped before it finished; it left nothing behind.
inline constexpr std::string_view kOperationCancelled = "OperationCancelled";
// Protocol-level failures: the request itself could not be understood.
inline constexpr std::string_view kMalformedRequest = "MalformedRequest";
inline constexpr std::string_view kInvalidAction = "InvalidAction";

// `status` carrying the stable name `name`.
inline Status Named(std::string_view name, const Status& status) { return status.WithName(name); }

// "volume 'db' does not exist" (NotFound, VolumeNotFound).
inline Status VolumeNotFound(const std::string& volume) {
  return Named(kVolumeNotFound, Status::NotFound("volume '" + volume + "' does not exist"));
}
inline Status VolumeAlreadyExists(const std::string& volume) {
  return Named(kVolumeAlreadyExists,
               Status::AlreadyExists("volume '" + volume + "' already exists"));
}
inline Status SnapshotNotFound(const std::string& snapshot) {
  return Named(kSnapshotNotFound, Status::NotFound("snapshot '" + snapshot + "' does not exist"));
}
inline Status SnapshotAlreadyExists(const std::string& snapshot) {
  return Named(kSnapshotAlreadyExists,
               Status::AlreadyExists("snapshot '" + snapshot + "' already exists"));
}
// The object exists but is not in a state that allows the request (message says why).
inline Status InvalidVolumeState(std::string message) {
  return Named(kInvalidVolumeState, Status::InvalidState(std::move(message)));
}
inline Status InvalidSnapshotState(std::string message) {
  return Named(kInvalidSnapshotState, Status::InvalidState(std::move(message)));
}
inline Status InvalidParameterValue(std::string message) {
  return Named(kInvalidParameterValue, Status::InvalidArgument(std::move(message)));
}
inline Status InvalidParameterCombination(std::string message) {
  return Named(kInvalidParameterCombination, Status::InvalidArgument(std::move(message)));
}
inline Status AccessDenied(std::string message) {
  return Named(kAccessDenied, Status::InvalidState(std::move(message)));
}
inline Status AccountNotFound(const std::string& account) {
  return Named(kAccountNotFound, Status::NotFound("account '" + account + "' does not exist"));
}
inline Status AccountAlreadyExists(const std::string& account) {
  return Named(kAccountAlreadyExists,
               Status::AlreadyExists("account '" + account + "' already exists"));
}
// A KMS key that cannot be used now (disabled, pending deletion, store locked, no grant).
inline Status KmsKeyNotAccessible(std::string message) {
  return Named(kKmsKeyNotAccessible, Status::IOError(std::move(message), 13 /*EACCES*/));
}

}  // namespace clonefs::errors
