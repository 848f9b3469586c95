#include "store/access/sharing.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error_names.h"
#include "crypto/aead.h"
#include "crypto/hex.h"
#include "store/access/account_id.h"

namespace clonefs::access {

using nlohmann::json;

struct Sharing::State {
  std::map<std::string, std::set<std::string>> restore;  // snapshot -> account ids and "all"
  std::vector<Share> shares;
  std::map<std::string, std::string> cross_account_clones;  // clone -> source
};

namespace {

constexpr int kDocumentVersion = 1;

Result<std::string> NewId(std::string_view prefix) {
  uint8_t bytes[8];
  CLONEFS_RETURN_IF_ERROR(crypto::RandomBytes(bytes, sizeof(bytes)));
  return std::string(prefix) +
         crypto::HexEncode(std::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

json EncodeState(const Sharing::State& s) {
  json restore = json::object();
  for (const auto& [snapshot, values] : s.restore) restore[snapshot] = values;
  json shares = json::array();
  for (const Share& sh : s.shares) {
    json principals = json::array();
    for (const Principal& p : sh.principals) {
      principals.push_back({{"account", p.account},
                            {"invitation", p.invitation_id},
                            {"status", InvitationStatusName(p.status)},
                            {"created_us", p.created_us},
                            {"updated_us", p.updated_us}});
    }
    shares.push_back({{"id", sh.id},
                      {"name", sh.name},
                      {"owner", sh.owner},
                      {"resource", sh.resource},
                      {"created_us", sh.created_us},
                      {"updated_us", sh.updated_us},
                      {"principals", std::move(principals)}});
  }
  return {{"version", kDocumentVersion},
          {"restore", std::move(restore)},
          {"shares", std::move(shares)},
          {"cross_account_clones", s.cross_account_clones}};
}

Result<std::unique_ptr<Sharing::State>> DecodeState(const std::string& bytes) {
  auto s = std::make_unique<Sharing::State>();
  try {
    json doc = json::parse(bytes);
    if (doc.at("version").get<int>() != kDocumentVersion) {
      return Status::Corruption("sharing document: unknown version " + doc.at("version").dump());
    }
    for (const auto& [snapshot, values] : doc.at("restore").items()) {
      s->restore[snapshot] = values.get<std::set<std::string>>();
    }
    for (const json& j : doc.at("shares")) {
      Share sh;
      sh.id = j.at("id").get<std::string>();
      sh.name = j.at("name").get<std::string>();
      sh.owner = j.at("owner").get<std::string>();
      sh.resource = j.at("resource").get<std::string>();
      sh.created_us = j.at("created_us").get<uint64_t>();
      sh.updated_us = j.at("updated_us").get<uint64_t>();
      for (const json& p : j.at("principals")) {
        Principal pr;
        pr.account = p.at("account").get<std::string>();
        pr.invitation_id = p.at("invitation").get<std::string>();
        CLONEFS_ASSIGN_OR_RETURN(pr.status,
                                 ParseInvitationStatus(p.at("status").get<std::string>()));
        pr.created_us = p.at("created_us").get<uint64_t>();
        pr.updated_us = p.at("updated_us").get<uint64_t>();
        sh.principals.push_back(std::move(pr));
      }
      s->shares.push_back(std::move(sh));
    }
    s->cross_account_clones =
        doc.at("cross_account_clones").get<std::map<std::string, std::string>>();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("sharing document: ") + e.what());
  }
  return s;
}

// A pending invitation past its lifetime counts as expired, written down or not.
InvitationStatus Effective(const Principal& p, uint64_t now_us) {
  if (p.status == InvitationStatus::kPending && now_us >= p.created_us + kInvitationLifetimeUs) {
    return InvitationStatus::kExpired;
  }
  return p.status;
}

// Checks a list of values given in one request: each an account id (or, where `allow_public`,
// "all"), none twice.
Status CheckValues(const std::vector<std::string>& values, bool allow_public, const char* what) {
  std::set<std::string> seen;
  for (const std::string& v : values) {
    if (!(allow_public && v == kPublic)) CLONEFS_RETURN_IF_ERROR(ValidateAccountId(v));
    if (!seen.insert(v).second) {
      return errors::InvalidParameterValue(std::string(what) + " '" + v +
                                           "' is given more than once");
    }
  }
  return Status::OK();
}

Status CheckKnown(const std::vector<std::string>& accounts, const Sharing::AccountExists& exists) {
  for (const std::string& a : accounts) {
    if (a != kPublic && !exists(a)) return errors::AccountNotFound(a);
  }
  return Status::OK();
}

}  // namespace

std::string SharingKey(const std::string& store_name, uint64_t id) {
  std::string key = store_name;
  key += '#';
  key += std::to_string(id);
  return key;
}

std::string StoreNameOfKey(const std::string& key) { return key.substr(0, key.rfind('#')); }

std::string_view InvitationStatusName(InvitationStatus s) {
  switch (s) {
    case InvitationStatus::kPending:
      return "pending";
    case InvitationStatus::kAccepted:
      return "accepted";
    case InvitationStatus::kRejected:
      return "rejected";
    case InvitationStatus::kExpired:
      return "expired";
  }
  return "pending";
}

Result<InvitationStatus> ParseInvitationStatus(std::string_view name) {
  for (InvitationStatus s : {InvitationStatus::kPending, InvitationStatus::kAccepted,
                             InvitationStatus::kRejected, InvitationStatus::kExpired}) {
    if (name == InvitationStatusName(s)) return s;
  }
  return errors::InvalidParameterValue(
      "invitation status must be pending, accepted, rejected "
      "or expired, not '" +
      std::string(name) + "'");
}

std::string_view AssociationName(InvitationStatus s) {
  switch (s) {
    case InvitationStatus::kPending:
      return "associating";
    case InvitationStatus::kAccepted:
      return "associated";
    default:
      return "disassociated";
  }
}

Sharing::Sharing(store::Store* store, Env* env, std::unique_ptr<State> state)
    : store_(store), env_(env), state_(std::move(state)) {}

Sharing::~Sharing() = default;

Result<std::unique_ptr<Sharing>> Sharing::Open(store::Store* store, Env* env) {
  auto state = std::make_unique<State>();
  Result<std::string> doc = store->LoadDocument(kDocument);
  if (doc.ok()) {
    CLONEFS_ASSIGN_OR_RETURN(state, DecodeState(*doc));
  } else if (!doc.status().IsNotFound()) {
    return doc.status();
  }
  return std::unique_ptr<Sharing>(new Sharing(store, env, std::move(state)));
}

Status Sharing::CommitLocked(std::unique_ptr<State> next) {
  CLONEFS_RETURN_IF_ERROR(store_->SaveDocument(kDocument, EncodeState(*next).dump()));
  state_ = std::move(next);
  return Status::OK();
}

void Sharing::ExpireLocked(State* s) const {
  const uint64_t now = env_->NowMicros();
  for (Share& sh : s->shares) {
    for (Principal& p : sh.principals) {
      if (Effective(p, now) != p.status) {
        p.status = InvitationStatus::kExpired;
        p.updated_us = now;
      }
    }
  }
}

// --- snapshot restore attribute ---

Result<std::vector<std::string>> Sharing::ModifyRestore(const std::string& owner,
                                                        const std::string& snapshot,
                                                        const std::vector<std::string>& add,
                                                        const std::vector<std::string>& remove,
                                                        const SnapshotFacts& facts,
                                                        const AccountExists& exists) {
  if (add.empty() && remove.empty()) {
    return errors::InvalidParameterValue("give accounts to add or to remove (or both)");
  }
  CLONEFS_RETURN_IF_ERROR(CheckValues(add, /*allow_public=*/true, "account"));
  CLONEFS_RETURN_IF_ERROR(CheckValues(remove, /*allow_public=*/true, "account"));
  for (const std::string& v : add) {
    if (std::find(remove.begin(), remove.end(), v) != remove.end()) {
      return errors::InvalidParameterCombination("'" + v + "' is both added and removed");
    }
    if (v == owner) {
      return errors::InvalidParameterValue("account " + owner +
                                           " owns the snapshot: it needs no sharing");
    }
  }
  if (!facts.manual) {
    return errors::InvalidSnapshotState(
        "only manual snapshots can be shared; copy this one to a "
        "manual snapshot to share it");
  }
  if (!add.empty() && facts.encrypted && facts.default_key) {
    return errors::InvalidParameterCombination(
        "the snapshot is encrypted with the default key of account " + owner +
        ", which no other account can use: copy it under a customer-managed key "
        "(snapshot copy --kms-key) and share the copy");
  }
  if (facts.encrypted && std::find(add.begin(), add.end(), kPublic) != add.end()) {
    return errors::InvalidParameterCombination(
        "an encrypted snapshot cannot be made public ('all'); add account ids instead");
  }
  CLONEFS_RETURN_IF_ERROR(CheckKnown(add, exists));

  std::unique_lock l(mu_);
  std::set<std::string> values;
  if (auto it = state_->restore.find(snapshot); it != state_->restore.end()) values = it->second;
  for (const std::string& v : remove) values.erase(v);
  for (const std::string& v : add) values.insert(v);
  const size_t ids = values.size() - values.count(std::string(kPublic));
  if (ids > kMaxRestoreAccounts) {
    return errors::Named(
        errors::kSharedSnapshotQuotaExceeded,
        Status::QuotaExceeded("a snapshot can be shared with at most " +
                              std::to_string(kMaxRestoreAccounts) +
                              " accounts; this change would make it " + std::to_string(ids)));
  }
  auto next = std::make_unique<State>(*state_);
  if (values.empty()) {
    next->restore.erase(snapshot);
  } else {
    next->restore[snapshot] = values;
  }
  CLONEFS_RETURN_IF_ERROR(CommitLocked(std::move(next)));
  l.unlock();
  return RestoreValues(snapshot);
}

std::vector<std::string> Sharing::RestoreValues(const std::string& snapshot) const {
  std::shared_lock l(mu_);
  std::vector<std::string> out;
  auto it = state_->restore.find(snapshot);
  if (it == state_->restore.end()) return out;
  for (const std::string& v : it->second) {
    if (v != kPublic) out.push_back(v);
  }
  if (it->second.count(std::string(kPublic))) out.emplace_back(kPublic);
  return out;
}

bool Sharing::MayRestore(const std::string& account, const std::string& snapshot) const {
  std::shared_lock l(mu_);
  auto it = state_->restore.find(snapshot);
  return it != state_->restore.end() &&
         (it->second.count(account) > 0 || it->second.count(std::string(kPublic)) > 0);
}

std::vector<std::string> Sharing::SharedSnapshots(const std::string& account) const {
  std::shared_lock l(mu_);
  std::vector<std::string> out;
  for (const auto& [snapshot, values] : state_->restore) {
    if (values.count(account)) out.push_back(snapshot);
  }
  return out;
}

std::vector<std::string> Sharing::PublicSnapshots() const {
  std::shared_lock l(mu_);
  std::vector<std::string> out;
  for (const auto& [snapshot, values] : state_->restore) {
    if (values.count(std::string(kPublic))) out.push_back(snapshot);
  }
  return out;
}

// --- resource shares ---

Result<Share> Sharing::CreateShare(const std::string& owner, const std::string& name,
                                   const std::string& volume,
                                   const std::vector<std::string>& principals,
                                   const VolumeFacts& facts, const AccountExists& exists) {
  CLONEFS_RETURN_IF_ERROR(store::ValidateName(name, "resource share"));
  if (principals.empty()) return errors::InvalidParameterValue("a share needs a principal");
  CLONEFS_RETURN_IF_ERROR(CheckValues(principals, /*allow_public=*/false, "principal"));
  for (const std::string& p : principals) {
    if (p == owner) {
      return errors::InvalidParameterValue("account " + owner +
                                           " owns the volume: it cannot be its principal");
    }
  }
  if (facts.cross_account_clone) {
    return errors::InvalidVolumeState("a cross-account clone cannot be shared");
  }
  if (!facts.available) {
    return errors::InvalidVolumeState("only an available volume can be shared");
  }
  if (facts.encrypted && facts.default_key) {
    return errors::InvalidParameterCombination(
        "the volume is encrypted with the default key of account " + owner +
        ", which no other account can use: it cannot be shared");
  }
  CLONEFS_RETURN_IF_ERROR(CheckKnown(principals, exists));

  std::unique_lock l(mu_);
  for (const Share& sh : state_->shares) {
    if (sh.owner == owner && sh.name == name) {
      return errors::Named(errors::kShareAlreadyExists,
                           Status::AlreadyExists("resource share '" + name + "' already exists"));
    }
  }
  const uint64_t now = env_->NowMicros();
  Share share;
  CLONEFS_ASSIGN_OR_RETURN(share.id, NewId("rs-"));
  share.name = name;
  share.owner = owner;
  share.resource = volume;
  share.created_us = share.updated_us = now;
  for (const std::string& p : principals) {
    Principal pr;
    pr.account = p;
    CLONEFS_ASSIGN_OR_RETURN(pr.invitation_id, NewId("inv-"));
    pr.created_us = pr.updated_us = now;
    share.principals.push_back(std::move(pr));
  }
  auto next = std::make_unique<State>(*state_);
  next->shares.push_back(share);
  CLONEFS_RETURN_IF_ERROR(CommitLocked(std::move(next)));
  return share;
}

Status Sharing::DeleteShare(const std::string& owner, const std::string& name) {
  std::unique_lock l(mu_);
  auto next = std::make_unique<State>(*state_);
  auto it = std::find_if(next->shares.begin(), next->shares.end(),
                         [&](const Share& s) { return s.owner == owner && s.name == name; });
  if (it == next->shares.end()) {
    return errors::Named(errors::kShareNotFound,
                         Status::NotFound("resource share '" + name + "' does not exist"));
  }
  next->shares.erase(it);
  return CommitLocked(std::move(next));
}

std::vector<Share> Sharing::SharesOf(const std::string& owner) const {
  std::shared_lock l(mu_);
  const uint64_t now = env_->NowMicros();
  std::vector<Share> out;
  for (Share sh : state_->shares) {
    if (sh.owner != owner) continue;
    for (Principal& p : sh.principals) p.status = Effective(p, now);
    out.push_back(std::move(sh));
  }
  std::sort(out.begin(), out.end(), [](const Share& a, const Share& b) { return a.name < b.name; });
  return out;
}

std::vector<PrincipalOfResource> Sharing::PrincipalsOf(const std::string& volume) const {
  std::shared_lock l(mu_);
  const uint64_t now = env_->NowMicros();
  std::vector<PrincipalOfResource> out;
  for (const Share& sh : state_->shares) {
    if (sh.resource != volume) continue;
    for (Principal p : sh.principals) {
      p.status = Effective(p, now);
      out.push_back({std::move(p), sh.id, sh.name});
    }
  }
  return out;
}

std::vector<Invitation> Sharing::InvitationsOf(const std::string& account,
                                               std::optional<InvitationStatus> status) const {
  std::shared_lock l(mu_);
  const uint64_t now = env_->NowMicros();
  std::vector<Invitation> out;
  for (const Share& sh : state_->shares) {
    for (const Principal& p : sh.principals) {
      if (p.account != account) continue;
      const InvitationStatus s = Effective(p, now);
      if (status && *status != s) continue;
      out.push_back(
          {p.invitation_id, sh.id, sh.name, sh.resource, sh.owner, p.account, s, p.created_us});
    }
  }
  std::sort(out.begin(), out.end(), [](const Invitation& a, const Invitation& b) {
    return a.created_us != b.created_us ? a.created_us > b.created_us : a.id < b.id;
  });
  return out;
}

namespace {

Status InvitationNotFound(const std::string& id) {
  return errors::Named(errors::kInvitationNotFound,
                       Status::NotFound("invitation '" + id + "' does not exist"));
}

// Answers invitation `id` of `account`: accepted when `accept`, else rejected.
Result<Invitation> Answer(Sharing::State* s, const std::string& account, const std::string& id,
                          bool accept, uint64_t now) {
  for (Share& sh : s->shares) {
    for (Principal& p : sh.principals) {
      if (p.invitation_id != id || p.account != account) continue;
      switch (p.status) {
        case InvitationStatus::kAccepted:
          return errors::Named(errors::kInvitationAlreadyAccepted,
                               Status::InvalidState("invitation '" + id + "' is already accepted"));
        case InvitationStatus::kRejected:
          return errors::Named(errors::kInvitationAlreadyRejected,
                               Status::InvalidState("invitation '" + id + "' is already rejected"));
        case InvitationStatus::kExpired:
          return errors::Named(errors::kInvitationExpired,
                               Status::InvalidState("invitation '" + id + "' has expired"));
        case InvitationStatus::kPending:
          break;
      }
      p.status = accept ? InvitationStatus::kAccepted : InvitationStatus::kRejected;
      p.updated_us = now;
      sh.updated_us = now;
      return Invitation{p.invitation_id, sh.id,     sh.name,  sh.resource,
                        sh.owner,        p.account, p.status, p.created_us};
    }
  }
  return InvitationNotFound(id);
}

}  // namespace

Result<Invitation> Sharing::Respond(const std::string& account, const std::string& id,
                                    bool accept) {
  std::unique_lock l(mu_);
  auto next = std::make_unique<State>(*state_);
  ExpireLocked(next.get());
  Result<Invitation> r = Answer(next.get(), account, id, accept, env_->NowMicros());
  // An expiry found on the way is written down even when the answer is refused.
  Status saved = CommitLocked(std::move(next));
  CLONEFS_RETURN_IF_ERROR(r.status());
  CLONEFS_RETURN_IF_ERROR(saved);
  return r;
}

bool Sharing::MayClone(const std::string& account, const std::string& volume) const {
  std::shared_lock l(mu_);
  for (const Share& sh : state_->shares) {
    if (sh.resource != volume) continue;
    for (const Principal& p : sh.principals) {
      if (p.account == account && p.status == InvitationStatus::kAccepted) return true;
    }
  }
  return false;
}

std::vector<std::string> Sharing::SharedVolumes(const std::string& account) const {
  std::shared_lock l(mu_);
  std::set<std::string> out;
  for (const Share& sh : state_->shares) {
    for (const Principal& p : sh.principals) {
      if (p.account == account && p.status == InvitationStatus::kAccepted) {
        out.insert(sh.resource);
      }
    }
  }
  return {out.begin(), out.end()};
}

// --- cross-account clones ---

Status Sharing::CheckCrossAccountClone(const std::string& source, const Alive& alive) const {
  std::shared_lock l(mu_);
  size_t n = 0;
  for (const auto& [clone, from] : state_->cross_account_clones) {
    n += from == source && alive(clone) ? 1 : 0;
  }
  if (n >= kMaxCrossAccountClones) {
    return errors::Named(errors::kCloneQuotaExceeded,
                         Status::QuotaExceeded("the volume already has " + std::to_string(n) +
                                               " cross-account clones, the most it may have"));
  }
  return Status::OK();
}

Status Sharing::RecordCrossAccountClone(const std::string& clone, const std::string& source) {
  std::unique_lock l(mu_);
  auto next = std::make_unique<State>(*state_);
  next->cross_account_clones[clone] = source;
  return CommitLocked(std::move(next));
}

bool Sharing::IsCrossAccountClone(const std::string& volume) const {
  std::shared_lock l(mu_);
  return state_->cross_account_clones.count(volume) > 0;
}

// --- rename ---

Result<store::VolumeInfo> Sharing::RenameVolume(const std::string& volume,
                                                const std::string& new_name) {
  std::unique_lock l(mu_);  // held throughout: no share of the old name can start meanwhile
  for (const Share& sh : state_->shares) {
    if (sh.resource != volume) continue;
    return errors::InvalidVolumeState(
        "the volume is shared with other accounts through resource share '" + sh.name +
        "', and a shared volume cannot be renamed: delete the share first (clonectl share "
        "delete " +
        sh.name + ")");
  }
  const std::string renamed = new_name + volume.substr(volume.rfind('#'));
  auto moved = [&](const std::string& key) { return key == volume ? renamed : key; };
  const State before = *state_;
  auto both = std::make_unique<State>(before);   // old and new keys: either name is covered
  auto after = std::make_unique<State>(before);  // new keys only
  after->cross_account_clones.clear();
  bool touched = false;
  for (const auto& [clone, source] : before.cross_account_clones) {
    touched = touched || clone == volume || source == volume;
    both->cross_account_clones[moved(clone)] = moved(source);
    after->cross_account_clones[moved(clone)] = moved(source);
  }
  if (touched) CLONEFS_RETURN_IF_ERROR(CommitLocked(std::move(both)));
  Result<store::VolumeInfo> v = store_->RenameVolume(StoreNameOfKey(volume), new_name);
  if (!touched) return v;
  // Not renamed: the entries under the new key would be inert, but need not stay.
  if (!v.ok()) after = std::make_unique<State>(before);
  Status settled = CommitLocked(std::move(after));
  if (!settled.ok()) {
    spdlog::warn("sharing: records of {} under both names stay (the unused ones are inert): {}",
                 volume, settled.ToString());
  }
  return v;
}

}  // namespace clonefs::access
