#include "store/keys/key_service.h"

#include <spdlog/spdlog.h>

#include "base/error_names.h"

namespace clonefs::store {

Result<crypto::KeyMetadata> KeyService::Changed(std::string_view ref) {
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key, keys_->DescribeKey(account_, ref));
  spdlog::info("KMS key {} is now {}", key.key_id, crypto::KeyStateName(key.state));
  if (on_state_change_) on_state_change_(key.key_id);
  return key;
}

Result<crypto::KeyMetadata> KeyService::DisableKey(std::string_view ref) {
  CLONEFS_RETURN_IF_ERROR(keys_->DisableKey(account_, ref));
  return Changed(ref);
}

Result<crypto::KeyMetadata> KeyService::EnableKey(std::string_view ref) {
  CLONEFS_RETURN_IF_ERROR(keys_->EnableKey(account_, ref));
  return Changed(ref);
}

Result<crypto::KeyMetadata> KeyService::ScheduleKeyDeletion(std::string_view ref, int days) {
  CLONEFS_RETURN_IF_ERROR(keys_->ScheduleKeyDeletion(account_, ref, days).status());
  return Changed(ref);
}

Result<crypto::KeyMetadata> KeyService::CancelKeyDeletion(std::string_view ref) {
  CLONEFS_RETURN_IF_ERROR(keys_->CancelKeyDeletion(account_, ref));
  return Changed(ref);
}

Result<std::string> KeyService::UsableKeyId(std::string_view ref) {
  crypto::KeyMetadata key;
  // The default key is made on first use, also when named.
  if (ref.empty() || ref == "default" || ref == "alias/default") {
    CLONEFS_ASSIGN_OR_RETURN(key, keys_->DefaultKey(account_));
  } else {
    CLONEFS_ASSIGN_OR_RETURN(key, keys_->DescribeKey(account_, ref));
  }
  if (key.key_spec != crypto::kSymmetricKeySpec) {
    return errors::Named(
        errors::kInvalidKeyUsage,
        Status::InvalidArgument("KMS key " + key.key_id + " is an " + key.key_spec +
                                " key for export recipients; data keys "
                                "need a symmetric key"));
  }
  switch (key.state) {
    case crypto::KeyState::kEnabled:
      return key.key_id;
    case crypto::KeyState::kDisabled:
      return errors::Named(errors::kKeyDisabled,
                           Status::InvalidState("KMS key " + key.key_id + " is disabled"));
    case crypto::KeyState::kPendingDeletion:
      return errors::Named(errors::kKmsInvalidState,
                           Status::InvalidState("KMS key " + key.key_id + " is pending deletion"));
  }
  return Status::InvalidState("KMS key " + key.key_id + " is in an unknown state");
}

}  // namespace clonefs::store
