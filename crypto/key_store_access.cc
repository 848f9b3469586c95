// Key store names, references, access rules, policies and error names.
#include <cerrno>
#include <optional>

#include "base/error_names.h"
#include "crypto/dek.h"
#include "crypto/hex.h"
#include "crypto/key_store_internal.h"

namespace clonefs::crypto::internal {
namespace {

using nlohmann::json;

constexpr size_t kMaxPolicyBytes = 32 * 1024;
constexpr OperationSet kOperations[] = {static_cast<OperationSet>(KeyOperation::kDecrypt),
                                        static_cast<OperationSet>(KeyOperation::kReEncrypt),
                                        static_cast<OperationSet>(KeyOperation::kCreateGrant)};

bool IsNameChar(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

bool IsName(std::string_view s, size_t max_len, std::string_view extra) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (!IsNameChar(c, extra)) return false;
  }
  return true;
}

std::string RandomHexId(std::string_view prefix) {
  uint64_t id = 0;
  // RandomBytes fails only when the CSPRNG is unusable; then every key operation fails
  // anyway (sealing needs it too), so a zero id here is never persisted.
  RandomBytes(&id, sizeof(id)).IgnoreError();
  return std::string(prefix) + DekIdToHex(id);
}

Status MalformedPolicy(const std::string& why) {
  return Status::InvalidArgument("malformed key policy: " + why +
                                 R"( (expected {"accounts": {"ACCOUNT": ["Decrypt", ...]}}))")
      .WithName(errors::kMalformedPolicyDocument);
}

}  // namespace

// --- names -----------------------------------------------------------------------------------

Status ValidateAccount(std::string_view account) {
  if (IsName(account, 64, "._-")) return Status::OK();
  return Status::InvalidArgument("account id '" + std::string(account) +
                                 "' must be 1-64 letters, digits, '.', '_' or '-'");
}

Status ValidateRegion(std::string_view region) {
  if (IsName(region, 64, "_-")) return Status::OK();
  return Status::InvalidArgument("region '" + std::string(region) +
                                 "' must be 1-64 letters, digits, '_' or '-'");
}

Status ValidateAlias(std::string_view alias, bool allow_default) {
  std::string why;
  if (!IsName(alias, 63, "_-")) {
    why = "must be 1-63 letters, digits, '_' or '-'";
  } else if (alias == "default" && !allow_default) {
    why = "is reserved for the account's default key";
  } else if (alias.substr(0, 4) == "key-") {
    why = "must not start with 'key-' (that is how key ids look)";
  } else {
    return Status::OK();
  }
  return Status::InvalidArgument("alias '" + std::string(alias) + "' " + why)
      .WithName(errors::kInvalidAliasName);
}

bool IsKeyId(std::string_view s) {
  return s.size() == 20 && s.substr(0, 4) == "key-" && HexDecode(s.substr(4)).has_value();
}

std::string NewKeyId() { return RandomHexId("key-"); }
std::string NewGrantId() { return RandomHexId("grant-"); }

std::string Arn(std::string_view region, const KeyRecord& key) {
  return "arn:clonefs:" + std::string(region) + ":" + key.owner + ":key:" + key.key_id;
}

// --- references and access -------------------------------------------------------------------

Result<size_t> FindKey(const std::vector<KeyRecord>& records, std::string_view region,
                       std::string_view account, std::string_view ref) {
  std::string_view key_id = ref;
  std::optional<std::string_view> arn_owner;
  constexpr std::string_view kArnPrefix = "arn:clonefs:";
  if (ref.substr(0, kArnPrefix.size()) == kArnPrefix) {
    // arn:clonefs:REGION:ACCOUNT:key:KEY_ID; a key of another region is not here at all.
    std::string_view rest = ref.substr(kArnPrefix.size());
    const size_t a = rest.find(':');
    const size_t b = a == std::string_view::npos ? a : rest.find(':', a + 1);
    if (b == std::string_view::npos || rest.substr(0, a) != region ||
        rest.substr(b, 5) != ":key:") {
      return KeyNotFound(ref);
    }
    arn_owner = rest.substr(a + 1, b - a - 1);
    key_id = rest.substr(b + 5);
  }
  if (IsKeyId(key_id)) {
    for (size_t i = 0; i < records.size(); ++i) {
      const KeyRecord& k = records[i];
      if (k.key_id == key_id && (!arn_owner || *arn_owner == k.owner)) return i;
    }
    return KeyNotFound(ref);
  }
  if (arn_owner) return KeyNotFound(ref);
  // Aliases are per account: NAME only ever means one of the caller's own keys.
  std::string_view alias = ref.substr(0, 6) == "alias/" ? ref.substr(6) : ref;
  for (size_t i = 0; i < records.size(); ++i) {
    const KeyRecord& k = records[i];
    if (k.owner != account) continue;
    for (const std::string& a : k.aliases) {
      if (a == alias) return i;
    }
  }
  return KeyNotFound(ref);
}

OperationSet AllowedOperations(const KeyRecord& key, std::string_view account) {
  if (key.owner == account) return kAllOperations;
  OperationSet ops = 0;
  auto it = key.policy.find(std::string(account));
  if (it != key.policy.end()) ops |= it->second;
  for (const GrantRecord& g : key.grants) {
    if (g.grantee == account) ops |= g.operations;
  }
  return ops;
}

Status CheckAccess(const KeyRecord& key, std::string_view account, std::string_view ref,
                   Access access) {
  const OperationSet allowed = AllowedOperations(key, account);
  if (allowed == 0) return KeyNotFound(ref);  // indistinguishable from a key that is not there
  OperationSet needed = 0;
  switch (access) {
    case Access::kDescribe:
      return Status::OK();
    case Access::kOwner:
      if (key.owner == account) return Status::OK();
      return AccessDenied("only the owner of key " + key.key_id + " may do that");
    case Access::kDecrypt:
      needed = static_cast<OperationSet>(KeyOperation::kDecrypt);
      break;
    case Access::kReEncrypt:
      needed = static_cast<OperationSet>(KeyOperation::kReEncrypt);
      break;
    case Access::kCreateGrant:
      needed = static_cast<OperationSet>(KeyOperation::kCreateGrant);
      break;
  }
  if ((allowed & needed) != 0) return Status::OK();
  return AccessDenied("account " + std::string(account) + " may not " +
                      OperationNames(needed).front() + " with key " + key.key_id);
}

Status CheckUsable(const KeyRecord& key) {
  switch (key.state) {
    case KeyState::kEnabled:
      return Status::OK();
    case KeyState::kDisabled:
      return Status::InvalidState("key " + key.key_id + " is disabled")
          .WithName(errors::kKeyDisabled);
    case KeyState::kPendingDeletion:
      return InvalidKeyState("key " + key.key_id + " is pending deletion");
  }
  return InvalidKeyState("key " + key.key_id + " is in an unknown state");
}

Status CheckSymmetric(const KeyRecord& key) {
  if (!key.recipient) return Status::OK();
  return InvalidKeyUsage("key " + key.key_id + " is an " + KeySpecName(key) +
                         " key for export recipients; data keys need a symmetric key");
}

std::string KeySpecName(const KeyRecord& key) {
  return std::string(key.recipient ? RecipientKindName(*key.recipient) : kSymmetricKeySpec);
}

// --- policies ----------------------------------------------------------------------------------

std::vector<std::string> OperationNames(OperationSet ops) {
  std::vector<std::string> names;
  for (OperationSet op : kOperations) {
    if ((ops & op) != 0) names.emplace_back(KeyOperationName(static_cast<KeyOperation>(op)));
  }
  return names;
}

bool OperationFromName(std::string_view name, OperationSet* op) {
  for (OperationSet candidate : kOperations) {
    if (KeyOperationName(static_cast<KeyOperation>(candidate)) == name) {
      *op = candidate;
      return true;
    }
  }
  return false;
}

Result<Policy> PolicyFromJson(const json& doc) {
  if (!doc.is_object() || doc.size() != 1 || !doc.contains("accounts")) {
    return MalformedPolicy("the document must be an object with exactly one member, accounts");
  }
  const json& accounts = doc["accounts"];
  if (!accounts.is_object()) return MalformedPolicy("accounts must be an object");
  Policy policy;
  for (const auto& [account, ops] : accounts.items()) {
    if (!ValidateAccount(account).ok()) return MalformedPolicy("bad account id '" + account + "'");
    if (!ops.is_array()) return MalformedPolicy("the operations of an account must be a list");
    OperationSet set = 0;
    for (const json& op : ops) {
      OperationSet bit = 0;
      if (!op.is_string() || !OperationFromName(op.get<std::string>(), &bit)) {
        return MalformedPolicy("unknown operation " + op.dump());
      }
      set |= bit;
    }
    if (set != 0) policy[account] = set;
  }
  return policy;
}

Result<Policy> ParsePolicy(std::string_view text) {
  if (text.size() > kMaxPolicyBytes) return MalformedPolicy("longer than 32 KiB");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return MalformedPolicy("not valid JSON");
  return PolicyFromJson(doc);
}

json PolicyToJson(const Policy& policy) {
  json accounts = json::object();
  for (const auto& [account, ops] : policy) accounts[account] = OperationNames(ops);
  return {{"accounts", std::move(accounts)}};
}

KeyMetadata MakeMetadata(const KeyRecord& key, std::string_view region, std::string_view account) {
  KeyMetadata m;
  m.key_id = key.key_id;
  m.arn = Arn(region, key);
  if (key.owner == account) m.aliases = key.aliases;  // aliases are the owner's names
  m.description = key.description;
  m.owner = key.owner;
  m.region = std::string(region);
  m.is_default = key.is_default;
  m.key_spec = KeySpecName(key);
  m.key_usage = std::string(kKeyUsageEncryptDecrypt);
  m.state = key.state;
  m.creation_date_us = key.creation_date_us;
  m.deletion_date_us = key.deletion_date_us;
  m.primary_version = key.primary_version;
  for (const SealedKeyVersion& v : key.versions) {
    m.versions.push_back({v.version, v.creation_date_us});
  }
  return m;
}

// --- errors ------------------------------------------------------------------------------------

Status KeyNotFound(std::string_view ref) {
  return Status::NotFound("key '" + std::string(ref) + "' does not exist")
      .WithName(errors::kKeyNotFound);
}

// Both access errors carry EACCES so that a filesystem caller reports "permission denied".
Status AccessDenied(std::string message) {
  return Status::IOError(std::move(message), EACCES).WithName(errors::kKeyAccessDenied);
}

Status Locked(std::string message) {
  return Status::IOError(std::move(message), EACCES).WithName(errors::kKmsKeyNotAccessible);
}

Status Unsupported(std::string message) {
  return Status::NotSupported(std::move(message)).WithName(errors::kUnsupportedOperation);
}

Status InvalidKeyState(std::string message) {
  return Status::InvalidState(std::move(message)).WithName(errors::kKmsInvalidState);
}

Status InvalidKeyUsage(std::string message) {
  return Status::InvalidArgument(std::move(message)).WithName(errors::kInvalidKeyUsage);
}

}  // namespace clonefs::crypto::internal
