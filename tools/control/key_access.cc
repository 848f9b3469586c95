#include "tools/control/key_access.h"

#include "crypto/key_store.h"
#include "store/keys/key_service.h"
#include "tools/control/json_views.h"

namespace clonefs::control {
namespace {

Status Refused(CommandContext& ctx, const std::string& source, const std::string& key_id,
               crypto::KeyOperation op, const Status& why) {
  const std::string arn = KeyArn(*ctx.store, key_id);
  std::string message = source;
  message += " is encrypted with KMS key ";
  message += arn;
  message += ", which account ";
  message += ctx.caller.account;
  message += " may not use to ";
  message += crypto::KeyOperationName(op);
  message += " (";
  message += why.message();
  message += "); the key's owner can allow it in the key's policy (clonectl key policy put ";
  message += arn;
  message += " --policy '{\"accounts\": {\"";
  message += ctx.caller.account;
  message += "\": [\"Decrypt\", \"ReEncrypt\"]}}')";
  // Keeping the source's key needs ReEncrypt; a key of the caller's own avoids that.
  if (op == crypto::KeyOperation::kReEncrypt)
    message += ", or name a key of your own with --kms-key";
  return errors::KmsKeyNotAccessible(message);
}

}  // namespace

Status CheckKeysToDerive(CommandContext& ctx, const std::string& source,
                         const std::string& source_key_id, const std::string& kms_key) {
  crypto::KeyStore& keys = *ctx.store->keys().key_store();
  Status decrypt =
      keys.CheckOperation(ctx.caller.account, source_key_id, crypto::KeyOperation::kDecrypt);
  if (!decrypt.ok()) {
    return Refused(ctx, source, source_key_id, crypto::KeyOperation::kDecrypt, decrypt);
  }
  if (!kms_key.empty()) return Status::OK();
  Status reencrypt =
      keys.CheckOperation(ctx.caller.account, source_key_id, crypto::KeyOperation::kReEncrypt);
  if (!reencrypt.ok()) {
    return Refused(ctx, source, source_key_id, crypto::KeyOperation::kReEncrypt, reencrypt);
  }
  return Status::OK();
}

bool IsDefaultKeyOf(CommandContext& ctx, const std::string& account, const std::string& key_id) {
  Result<crypto::KeyMetadata> key = ctx.store->KeysOf(account)->DescribeKey(key_id);
  return key.ok() && key->is_default;
}

}  // namespace clonefs::control
