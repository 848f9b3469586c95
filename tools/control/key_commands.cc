// key.* commands: the store's KMS keys (docs/ENCRYPTION.md, docs/CLI.md "Keys").
//
// They act as the calling account (Store::KeysOf): each account has its own keys, aliases and
// default key, and sees another account's key only as that key's policy or grants allow. In a
// daemon they run where the key store is unlocked, and a disabled key takes effect on the open
// volumes at once.
// Answers carry metadata only: no command returns secret key material (a recipient key's public
// key is not secret).
#include "base/tags.h"
#include "crypto/recipient.h"
#include "store/keys/key_service.h"
#include "tools/control/commands.h"
#include "tools/control/json_views.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

// The key store as the caller's account sees it.
std::unique_ptr<store::KeyService> CallerKeys(const CommandContext& ctx) {
  return ctx.store->KeysOf(ctx.caller.account);
}

// Reads the "key" argument and makes it the subject of NotFound errors.
Result<std::string> KeyRef(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string key, ctx.args.RequiredString("key"));
  ctx.subject = key;
  return key;
}

// A new key's answer, once it has the tags of "tags" (checked before it was made, so that only
// an I/O error can leave it untagged).
Result<json> Created(store::KeyService& keys, const crypto::KeyMetadata& key,
                     const store::Tags& tags) {
  if (!tags.empty()) CLONEFS_RETURN_IF_ERROR(keys.TagKey(key.key_id, tags));
  return KeyToJson(key);
}

// "key_spec": absent or SYMMETRIC_DEFAULT for a KEK (as AWS KMS CreateKey's KeySpec), RSA_3072
// or X25519 (also ECC_X25519) for a public-key recipient key.
Result<json> Create(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> alias, ctx.args.OptionalString("alias"));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> description,
                           ctx.args.OptionalString("description"));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> spec, ctx.args.OptionalString("key_spec"));
  CLONEFS_ASSIGN_OR_RETURN(store::Tags tags, ctx.args.OptionalTags("tags"));
  CLONEFS_RETURN_IF_ERROR(tags::CheckTags(tags));
  std::unique_ptr<store::KeyService> caller_keys = CallerKeys(ctx);
  store::KeyService& keys = *caller_keys;
  if (!spec || *spec == crypto::kSymmetricKeySpec) {
    CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key,
                             keys.CreateKey(alias.value_or(""), description.value_or("")));
    return Created(keys, key, tags);
  }
  Result<crypto::RecipientKind> kind = crypto::ParseRecipientKind(*spec);
  if (!kind.ok()) {
    return errors::InvalidParameterValue(
        "argument 'key_spec' must be SYMMETRIC_DEFAULT, RSA_3072 or X25519 (also ECC_X25519), "
        "not '" +
        *spec + "'");
  }
  CLONEFS_ASSIGN_OR_RETURN(
      crypto::KeyMetadata key,
      keys.CreateRecipientKey(*kind, alias.value_or(""), description.value_or("")));
  return Created(keys, key, tags);
}

// {"KeyId", "KeySpec", "KeyUsage", "PublicKey"}: as AWS KMS GetPublicKey answers, with the
// public key as PEM (SubjectPublicKeyInfo) rather than base64 DER.
Result<json> GetPublicKey(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, KeyRef(ctx));
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key, CallerKeys(ctx)->DescribeKey(ref));
  CLONEFS_ASSIGN_OR_RETURN(std::string pem, CallerKeys(ctx)->GetPublicKey(key.key_id));
  return json{{"KeyId", key.key_id},
              {"KeySpec", key.key_spec},
              {"KeyUsage", key.key_usage},
              {"PublicKey", pem}};
}

Result<json> List(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::vector<crypto::KeyMetadata> keys, CallerKeys(ctx)->ListKeys());
  json out = json::array();
  for (const crypto::KeyMetadata& k : keys) out.push_back(KeyToJson(k));
  return json{{"Keys", std::move(out)}};
}

Result<json> Show(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, KeyRef(ctx));
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key, CallerKeys(ctx)->DescribeKey(ref));
  return KeyToJson(key);
}

// {"KeyId", "Policy"}: the policy document as a string, as AWS KMS GetKeyPolicy answers.
Result<json> PolicyGet(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, KeyRef(ctx));
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key, CallerKeys(ctx)->DescribeKey(ref));
  CLONEFS_ASSIGN_OR_RETURN(std::string policy, CallerKeys(ctx)->GetPolicy(key.key_id));
  return json{{"KeyId", key.key_id}, {"Policy", policy}};
}

Result<json> PolicyPut(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, KeyRef(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::string policy, ctx.args.RequiredString("policy"));
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key, CallerKeys(ctx)->DescribeKey(ref));
  CLONEFS_RETURN_IF_ERROR(CallerKeys(ctx)->PutPolicy(key.key_id, policy));
  CLONEFS_ASSIGN_OR_RETURN(std::string stored, CallerKeys(ctx)->GetPolicy(key.key_id));
  return json{{"KeyId", key.key_id}, {"Policy", stored}};
}

Result<json> Disable(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, KeyRef(ctx));
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key, CallerKeys(ctx)->DisableKey(ref));
  return KeyToJson(key);
}

Result<json> Enable(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, KeyRef(ctx));
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key, CallerKeys(ctx)->EnableKey(ref));
  return KeyToJson(key);
}

// "days": 7-30, default 30 (AWS KMS's PendingWindowInDays).
Result<json> ScheduleDeletion(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, KeyRef(ctx));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<uint64_t> days, ctx.args.OptionalUint("days"));
  const uint64_t d = days.value_or(30);
  if (d < 7 || d > 30) {
    return Status::InvalidArgument("argument 'days' must be 7 to 30, not " + std::to_string(d));
  }
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key,
                           CallerKeys(ctx)->ScheduleKeyDeletion(ref, static_cast<int>(d)));
  return KeyToJson(key);
}

Result<json> CancelDeletion(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, KeyRef(ctx));
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key, CallerKeys(ctx)->CancelKeyDeletion(ref));
  return KeyToJson(key);
}

Result<json> Rotate(CommandContext& ctx) {
  CLONEFS_ASSIGN_OR_RETURN(std::string ref, KeyRef(ctx));
  CLONEFS_ASSIGN_OR_RETURN(crypto::KeyMetadata key, CallerKeys(ctx)->RotateKey(ref));
  return KeyToJson(key);
}

}  // namespace

void RegisterKeyCommands(std::vector<CommandSpec>& all) {
  std::vector<CommandSpec> table;
  table.push_back({"key.create",
                   "key",
                   "Create a KMS key (symmetric: one fresh 256-bit version; or a key pair)",
                   {"alias", "description", "key_spec", "tags"},
                   Create});
  table.push_back({"key.list", "key", "List the account's KMS keys", {}, List});
  table.push_back({"key.show", "key", "Describe one KMS key", {"key"}, Show});
  table.push_back({"key.get_public_key",
                   "key",
                   "The public key (PEM) of an RSA_3072 or X25519 key",
                   {"key"},
                   GetPublicKey});
  table.push_back({"key.policy_get", "key", "A key's policy document", {"key"}, PolicyGet});
  table.push_back(
      {"key.policy_put", "key", "Replace a key's policy document", {"key", "policy"}, PolicyPut});
  table.push_back({"key.disable",
                   "key",
                   "Disable a key: volumes under it refuse to open, open ones fail I/O",
                   {"key"},
                   Disable});
  table.push_back({"key.enable", "key", "Enable a disabled key again", {"key"}, Enable});
  table.push_back({"key.schedule_deletion",
                   "key",
                   "Schedule a key's deletion in 7-30 days; it is unusable meanwhile",
                   {"key", "days"},
                   ScheduleDeletion});
  table.push_back({"key.cancel_deletion",
                   "key",
                   "Cancel a scheduled deletion (the key is then Disabled)",
                   {"key"},
                   CancelDeletion});
  table.push_back({"key.rotate",
                   "key",
                   "Add a new key version for new data keys; old versions still unwrap",
                   {"key"},
                   Rotate});
  for (CommandSpec& spec : table) all.push_back(std::move(spec));
}

}  // namespace clonefs::control
