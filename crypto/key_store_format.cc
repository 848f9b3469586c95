// keystore.json: reading, writing and authenticating it, and deriving the keys that protect it
// from the root secret. docs/ENCRYPTION.md describes the format in prose; keep them in step.
#include <cstring>

#include "crypto/hex.h"
#include "crypto/key_file.h"
#include "crypto/key_store_internal.h"
#include "crypto/recipient.h"

namespace clonefs::crypto::internal {
namespace {

using nlohmann::json;

constexpr const char* kFormatName = "clonefs-keystore";
// Version 2 adds recipient keys. A store that holds none is still written as version 1, so that
// a build that predates them keeps opening it; one that holds any is written as version 2, so
// that such a build refuses it (NotSupported) instead of calling it damaged.
constexpr uint64_t kFormatVersion = 1;
constexpr uint64_t kRecipientFormatVersion = 2;
constexpr const char* kMacMember = "mac";
// HKDF labels: one per purpose so the derived keys are independent.
constexpr std::string_view kSealLabel = "clonefs/keystore/v1/seal";
constexpr std::string_view kMacLabel = "clonefs/keystore/v1/mac";
constexpr std::string_view kVerifyLabel = "clonefs/keystore/v1/verify";
constexpr std::string_view kVerifierMessage = "clonefs keystore verifier v1";

Status Malformed(const std::string& what) {
  return Status::Corruption("keystore.json is malformed: " + what);
}

std::string HexOf(const void* data, size_t n) {
  return HexEncode(std::string_view(static_cast<const char*>(data), n));
}

// Reads typed members of one JSON object; any missing or mistyped member makes ok() false,
// so a parser reads everything first and checks once.
class Reader {
 public:
  explicit Reader(const json& obj) : obj_(obj), ok_(obj.is_object()) {}
  bool ok() const { return ok_; }

  const json* Member(const char* name, json::value_t type) {
    if (!ok_) return nullptr;
    auto it = obj_.find(name);
    if (it == obj_.end() || it->type() != type) return Fail();
    return &*it;
  }
  std::string Str(const char* name) {
    const json* j = Member(name, json::value_t::string);
    return j ? j->get<std::string>() : std::string();
  }
  uint64_t U64(const char* name) {
    const json* j = Member(name, json::value_t::number_unsigned);
    return j ? j->get<uint64_t>() : 0;
  }
  uint32_t U32(const char* name) {
    uint64_t v = U64(name);
    if (v > UINT32_MAX) Fail();
    return static_cast<uint32_t>(v);
  }
  bool Bool(const char* name) {
    const json* j = Member(name, json::value_t::boolean);
    return j ? j->get<bool>() : false;
  }
  // A hex member that must decode to exactly `n` bytes.
  std::string Bytes(const char* name, size_t n) {
    auto bytes = HexDecode(Str(name));
    if (!bytes || bytes->size() != n) {
      Fail();
      return {};
    }
    return std::move(*bytes);
  }

 private:
  const json* Fail() {
    ok_ = false;
    return nullptr;
  }
  const json& obj_;
  bool ok_;
};

// Each field is a 4-byte big-endian length and the bytes, so no two field lists encode alike.
void AppendField(std::string* out, std::string_view field) {
  const uint32_t n = static_cast<uint32_t>(field.size());
  const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(len, 4);
  out->append(field);
}

std::string BigEndian(uint64_t v, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) out[bytes - 1 - i] = static_cast<char>(v >> (8 * i));
  return out;
}

bool KeyStateFromName(std::string_view name, KeyState* state) {
  for (KeyState s : {KeyState::kEnabled, KeyState::kDisabled, KeyState::kPendingDeletion}) {
    if (KeyStateName(s) == name) {
      *state = s;
      return true;
    }
  }
  return false;
}

json RootToJson(const RootKdf& root) {
  if (!root.passphrase) return {{"kind", "key_file"}};
  return {{"kind", "passphrase"}, {"kdf", "scrypt"},    {"n", root.scrypt.n},
          {"r", root.scrypt.r},   {"p", root.scrypt.p}, {"salt", HexEncode(root.salt)}};
}

bool RootFromJson(const json& doc, RootKdf* root) {
  Reader r(doc);
  const std::string kind = r.Str("kind");
  if (!r.ok()) return false;
  if (kind == "key_file") return true;
  if (kind != "passphrase" || r.Str("kdf") != "scrypt") return false;
  root->passphrase = true;
  root->scrypt.n = r.U64("n");
  root->scrypt.r = r.U32("r");
  root->scrypt.p = r.U32("p");
  root->salt = r.Bytes("salt", kRootSaltSize);
  // Bounded parameters keep a doctored file from making an open take forever.
  return r.ok() && root->scrypt.Validate().ok();
}

// The "key_spec" member: absent (a file from before recipient keys) or "SYMMETRIC_DEFAULT"
// for a KEK, else the recipient kind's canonical name.
bool KeySpecFromJson(const json& doc, KeyRecord* k) {
  auto it = doc.find("key_spec");
  if (it == doc.end()) return true;
  if (!it->is_string()) return false;
  const std::string spec = it->get<std::string>();
  if (spec == kSymmetricKeySpec) return true;
  for (RecipientKind kind : {RecipientKind::kRsa3072, RecipientKind::kX25519}) {
    if (spec == RecipientKindName(kind)) {
      k->recipient = kind;
      return true;
    }
  }
  return false;
}

json KeyToJson(const KeyRecord& k) {
  json versions = json::array();
  for (const SealedKeyVersion& v : k.versions) {
    versions.push_back({{"version", v.version},
                        {"creation_date_us", v.creation_date_us},
                        {"iv", HexOf(v.iv.data(), v.iv.size())},
                        {"sealed", HexEncode(v.sealed)}});
  }
  json grants = json::array();
  for (const GrantRecord& g : k.grants) {
    grants.push_back({{"grant_id", g.grant_id},
                      {"grantee", g.grantee},
                      {"operations", OperationNames(g.operations)},
                      {"creation_date_us", g.creation_date_us}});
  }
  json out = {{"key_id", k.key_id},
              {"owner", k.owner},
              {"aliases", k.aliases},
              {"description", k.description},
              {"is_default", k.is_default},
              {"state", std::string(KeyStateName(k.state))},
              {"creation_date_us", k.creation_date_us},
              {"deletion_date_us", k.deletion_date_us},
              {"primary_version", k.primary_version},
              {"versions", std::move(versions)},
              {"policy", PolicyToJson(k.policy)},
              {"grants", std::move(grants)}};
  // Only recipient keys carry the members version 2 added, so a KEK's entry is as version 1
  // wrote it.
  if (k.recipient) {
    out["key_spec"] = KeySpecName(k);
    out["public_key"] = k.public_pem;
  }
  // Likewise "tags" only on a key that has some; a build that predates tags ignores it.
  if (!k.tags.empty()) {
    json tags = json::array();
    for (const auto& [key, value] : k.tags) tags.push_back({{"Key", key}, {"Value", value}});
    out["tags"] = std::move(tags);
  }
  return out;
}

bool VersionsFromJson(const json& doc, KeyRecord* k) {
  if (!doc.is_array() || doc.empty()) return false;
  // A recipient key has exactly one version: its sealed private key, of variable length.
  if (k->recipient && doc.size() != 1) return false;
  for (const json& item : doc) {
    Reader r(item);
    SealedKeyVersion v;
    v.version = r.U32("version");
    v.creation_date_us = r.U64("creation_date_us");
    std::string iv = r.Bytes("iv", kNonceSize);
    if (k->recipient) {
      auto sealed = HexDecode(r.Str("sealed"));
      if (!sealed || sealed->size() <= kTagSize || sealed->size() > kMaxSealedPrivateKey) {
        return false;
      }
      v.sealed = std::move(*sealed);
    } else {
      v.sealed = r.Bytes("sealed", kAeadKeySize + kTagSize);
    }
    // Versions are numbered 1, 2, ... in order.
    if (!r.ok() || v.version != k->versions.size() + 1) return false;
    std::memcpy(v.iv.data(), iv.data(), kNonceSize);
    k->versions.push_back(std::move(v));
  }
  return k->primary_version >= 1 && k->primary_version <= k->versions.size();
}

// The public key of a recipient key, which must be of the key's kind.
bool PublicKeyFromJson(const json& doc, KeyRecord* k) {
  auto it = doc.find("public_key");
  if (!k->recipient) return it == doc.end();
  if (it == doc.end() || !it->is_string()) return false;
  k->public_pem = it->get<std::string>();
  auto info = DescribePublicKey(k->public_pem);
  if (!info.ok() || info->kind != *k->recipient) return false;
  k->fingerprint = std::move(info->fingerprint);
  return true;
}

bool GrantsFromJson(const json& doc, KeyRecord* k) {
  if (!doc.is_array()) return false;
  for (const json& item : doc) {
    Reader r(item);
    GrantRecord g;
    g.grant_id = r.Str("grant_id");
    g.grantee = r.Str("grantee");
    g.creation_date_us = r.U64("creation_date_us");
    const json* ops = r.Member("operations", json::value_t::array);
    if (!r.ok() || !ValidateAccount(g.grantee).ok()) return false;
    for (const json& op : *ops) {
      OperationSet bit = 0;
      if (!op.is_string() || !OperationFromName(op.get<std::string>(), &bit)) return false;
      g.operations |= bit;
    }
    if (g.operations == 0) return false;
    k->grants.push_back(std::move(g));
  }
  return true;
}

// The optional "tags" member: [{"Key": string, "Value": string}, ...].
bool TagsFromJson(const json& doc, KeyRecord* k) {
  auto it = doc.find("tags");
  if (it == doc.end()) return true;
  if (!it->is_array()) return false;
  for (const json& item : *it) {
    Reader r(item);
    std::string key = r.Str("Key");
    std::string value = r.Str("Value");
    if (!r.ok()) return false;
    k->tags.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

Result<KeyRecord> KeyFromJson(const json& doc) {
  Reader r(doc);
  KeyRecord k;
  k.key_id = r.Str("key_id");
  k.owner = r.Str("owner");
  k.description = r.Str("description");
  k.is_default = r.Bool("is_default");
  const std::string state = r.Str("state");
  k.creation_date_us = r.U64("creation_date_us");
  k.deletion_date_us = r.U64("deletion_date_us");
  k.primary_version = r.U32("primary_version");
  const json* aliases = r.Member("aliases", json::value_t::array);
  const json* versions = r.Member("versions", json::value_t::array);
  const json* policy = r.Member("policy", json::value_t::object);
  const json* grants = r.Member("grants", json::value_t::array);
  if (!r.ok() || !IsKeyId(k.key_id) || !ValidateAccount(k.owner).ok() ||
      !KeyStateFromName(state, &k.state)) {
    return Malformed("a key entry");
  }
  const std::string where = "key " + k.key_id;
  if (!KeySpecFromJson(doc, &k) || (k.recipient && k.is_default)) {
    return Malformed(where + ": key_spec");
  }
  if (!PublicKeyFromJson(doc, &k)) return Malformed(where + ": public_key");
  for (const json& a : *aliases) {
    if (!a.is_string() || !ValidateAlias(a.get<std::string>(), k.is_default).ok()) {
      return Malformed(where + ": alias");
    }
    k.aliases.push_back(a.get<std::string>());
  }
  if (!VersionsFromJson(*versions, &k)) return Malformed(where + ": versions");
  if (!GrantsFromJson(*grants, &k)) return Malformed(where + ": grants");
  if (!TagsFromJson(doc, &k)) return Malformed(where + ": tags");
  auto parsed_policy = PolicyFromJson(*policy);
  if (!parsed_policy.ok()) return Malformed(where + ": policy");
  k.policy = std::move(parsed_policy).value();
  return k;
}

}  // namespace

std::string KekSealAad(std::string_view keystore_id, std::string_view key_id,
                       std::string_view owner, uint32_t version) {
  std::string aad;
  AppendField(&aad, "clonefs/kek-seal/v1");
  AppendField(&aad, keystore_id);
  AppendField(&aad, key_id);
  AppendField(&aad, owner);
  AppendField(&aad, BigEndian(version, 4));
  return aad;
}

std::string RecipientSealAad(std::string_view keystore_id, std::string_view key_id,
                             std::string_view owner, RecipientKind kind) {
  std::string aad;
  AppendField(&aad, "clonefs/recipient-seal/v1");
  AppendField(&aad, keystore_id);
  AppendField(&aad, key_id);
  AppendField(&aad, owner);
  AppendField(&aad, RecipientKindName(kind));
  return aad;
}

std::string DekWrapAad(std::string_view key_id, uint32_t version, uint64_t dek_id,
                       std::string_view context) {
  std::string aad;
  AppendField(&aad, "clonefs/dek-wrap/v1");
  AppendField(&aad, key_id);
  AppendField(&aad, BigEndian(version, 4));
  AppendField(&aad, BigEndian(dek_id, 8));
  AppendField(&aad, context);
  return aad;
}

Result<SecretBytes> RootKeyMaterial(const RootSecret& secret, const RootKdf& kdf) {
  switch (secret.kind()) {
    case RootSecret::Kind::kNone:
      return Status::InvalidArgument("no root secret was given");
    case RootSecret::Kind::kKeyFile:
      if (kdf.passphrase) {
        return Status::InvalidArgument(
            "this key store is unlocked with a passphrase, not a key file");
      }
      return ReadKeyFile(secret.key_file());
    case RootSecret::Kind::kPassphrase:
      if (!kdf.passphrase) {
        return Status::InvalidArgument(
            "this key store is unlocked with a key file, not a passphrase");
      }
      if (secret.passphrase().empty()) return Status::InvalidArgument("the passphrase is empty");
      return Scrypt(secret.passphrase(), kdf.salt, kdf.scrypt, kAeadKeySize);
  }
  return Status::InvalidArgument("unknown kind of root secret");
}

Result<StoreKeys> DeriveStoreKeys(const SecretBytes& root_material, std::string_view keystore_id) {
  StoreKeys keys;
  CLONEFS_ASSIGN_OR_RETURN(SecretBytes seal,
                           HkdfSha256(root_material, keystore_id, kSealLabel, kAeadKeySize));
  CLONEFS_ASSIGN_OR_RETURN(keys.seal, Aes256GcmKey::Create(seal));
  CLONEFS_ASSIGN_OR_RETURN(keys.mac,
                           HkdfSha256(root_material, keystore_id, kMacLabel, kHmacSha256Size));
  CLONEFS_ASSIGN_OR_RETURN(SecretBytes verify,
                           HkdfSha256(root_material, keystore_id, kVerifyLabel, kHmacSha256Size));
  CLONEFS_ASSIGN_OR_RETURN(HmacSha256Tag verifier, HmacSha256(verify, kVerifierMessage));
  keys.verifier.assign(reinterpret_cast<const char*>(verifier.data()), verifier.size());
  return keys;
}

Result<DocumentHeader> ParseHeader(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  Reader r(doc);
  DocumentHeader h;
  const std::string format = r.Str("format");
  const uint64_t version = r.U64("format_version");
  if (!r.ok() || format != kFormatName) return Malformed("not a clonefs key store");
  if (version != kFormatVersion && version != kRecipientFormatVersion) {
    return Status::NotSupported("keystore.json has format version " + std::to_string(version) +
                                "; this build reads versions 1 and 2");
  }
  h.keystore_id = r.Bytes("keystore_id", kKeystoreIdSize);
  h.region = r.Str("region");
  h.verifier = r.Bytes("verifier", kHmacSha256Size);
  const json* root = r.Member("root", json::value_t::object);
  if (!r.ok() || !RootFromJson(*root, &h.root)) return Malformed("header");
  return h;
}

Result<VerifiedBody> ParseVerifiedBody(std::string_view text, const SecretBytes& mac_key) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  Reader r(doc);
  const std::string mac = r.Bytes(kMacMember, kHmacSha256Size);
  if (!r.ok()) return Malformed("no MAC");
  doc.erase(kMacMember);
  // The MAC covers the parsed document re-serialised compactly (members sorted by name), so
  // what is verified is exactly what is then used, whatever the file's whitespace.
  CLONEFS_ASSIGN_OR_RETURN(HmacSha256Tag expected, HmacSha256(mac_key, doc.dump()));
  if (!ConstantTimeEquals(
          mac, std::string_view(reinterpret_cast<const char*>(expected.data()), expected.size()))) {
    return Status::Corruption(
        "keystore.json fails its integrity check (HMAC mismatch): it was "
        "modified outside clonefs or damaged");
  }
  VerifiedBody body;
  body.seq = r.U64("seq");
  const uint64_t version = r.U64("format_version");
  const json* keys = r.Member("keys", json::value_t::array);
  if (!r.ok()) return Malformed("header");
  for (const json& item : *keys) {
    CLONEFS_ASSIGN_OR_RETURN(KeyRecord k, KeyFromJson(item));
    if (!body.records.empty() && body.records.back().key_id >= k.key_id) {
      return Malformed("keys out of order or repeated");
    }
    if (k.recipient && version < kRecipientFormatVersion) {
      return Malformed("key " + k.key_id + ": a recipient key in a version 1 document");
    }
    body.records.push_back(std::move(k));
  }
  return body;
}

Result<std::string> SerializeDocument(const KeyStoreState& state, const std::string& region,
                                      const std::vector<KeyRecord>& records, uint64_t seq) {
  json keys = json::array();
  uint64_t version = kFormatVersion;
  for (const KeyRecord& k : records) {
    keys.push_back(KeyToJson(k));
    if (k.recipient) version = kRecipientFormatVersion;
  }
  json doc = {{"format", kFormatName},
              {"format_version", version},
              {"keystore_id", HexEncode(state.keystore_id)},
              {"region", region},
              {"root", RootToJson(state.root)},
              {"verifier", HexEncode(state.keys.verifier)},
              {"seq", seq},
              {"keys", std::move(keys)}};
  try {
    CLONEFS_ASSIGN_OR_RETURN(HmacSha256Tag mac, HmacSha256(state.keys.mac, doc.dump()));
    doc[kMacMember] = HexOf(mac.data(), mac.size());
    return doc.dump(2) + "\n";
  } catch (const json::exception& e) {
    // Only invalid UTF-8 in a caller-supplied string can get here; inputs are checked first.
    return Status::InvalidArgument(std::string("cannot encode the key store: ") + e.what());
  }
}

}  // namespace clonefs::crypto::internal
