#include "store/access/account_registry.h"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error_names.h"
#include "store/access/account_id.h"

namespace clonefs::access {
namespace {

using nlohmann::json;

constexpr int kDocumentVersion = 1;

json Encode(const std::vector<Account>& accounts) {
  json list = json::array();
  for (const Account& a : accounts) {
    json users = json::array();
    for (const AccountUser& u : a.users) users.push_back({{"name", u.name}, {"uid", u.uid}});
    list.push_back({{"id", a.id}, {"users", std::move(users)}, {"created_us", a.creation_time_us}});
  }
  return {{"version", kDocumentVersion}, {"accounts", std::move(list)}};
}

Result<std::vector<Account>> Decode(const std::string& bytes) {
  std::vector<Account> out;
  try {
    json doc = json::parse(bytes);
    if (doc.at("version").get<int>() != kDocumentVersion) {
      return Status::Corruption("accounts document: unknown version " + doc.at("version").dump());
    }
    for (const json& a : doc.at("accounts")) {
      Account account;
      account.id = a.at("id").get<std::string>();
      account.creation_time_us = a.at("created_us").get<uint64_t>();
      for (const json& u : a.at("users")) {
        account.users.push_back({u.at("name").get<std::string>(), u.at("uid").get<uint32_t>()});
      }
      out.push_back(std::move(account));
    }
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("accounts document: ") + e.what());
  }
  std::sort(out.begin(), out.end(), [](const Account& a, const Account& b) { return a.id < b.id; });
  return out;
}

Account OwnerAccount(const AccountRegistry::StoreOwner& owner) {
  Account a{owner.account_id, {owner.user}, owner.since_us, /*store_owner=*/true};
  if (owner.user.uid != 0) a.users.push_back({"root", 0});
  return a;
}

}  // namespace

Result<std::unique_ptr<AccountRegistry>> AccountRegistry::Open(store::Store* store,
                                                               StoreOwner owner, Env* env) {
  std::vector<Account> accounts;
  Result<std::string> doc = store->LoadDocument(kDocument);
  if (doc.ok()) {
    CLONEFS_ASSIGN_OR_RETURN(accounts, Decode(*doc));
  } else if (!doc.status().IsNotFound()) {
    return doc.status();
  }
  return std::unique_ptr<AccountRegistry>(
      new AccountRegistry(store, OwnerAccount(owner), std::move(accounts), env));
}

const Account* AccountRegistry::FindLocked(std::string_view id) const {
  if (id == owner_.id) return &owner_;
  for (const Account& a : accounts_) {
    if (a.id == id) return &a;
  }
  return nullptr;
}

// The owner's users first: root and the directory's owner are always the owner account's,
// whatever an older document says.
const Account* AccountRegistry::OfUidLocked(uint32_t uid) const {
  for (const AccountUser& u : owner_.users) {
    if (u.uid == uid) return &owner_;
  }
  for (const Account& a : accounts_) {
    for (const AccountUser& u : a.users) {
      if (u.uid == uid) return &a;
    }
  }
  return nullptr;
}

std::optional<Account> AccountRegistry::AccountOfUid(uint32_t uid) const {
  std::shared_lock l(mu_);
  const Account* a = OfUidLocked(uid);
  return a == nullptr ? std::nullopt : std::optional<Account>(*a);
}

std::optional<Account> AccountRegistry::Find(std::string_view id) const {
  std::shared_lock l(mu_);
  const Account* a = FindLocked(id);
  return a == nullptr ? std::nullopt : std::optional<Account>(*a);
}

std::vector<Account> AccountRegistry::List() const {
  std::shared_lock l(mu_);
  std::vector<Account> all = accounts_;
  all.push_back(owner_);
  std::sort(all.begin(), all.end(), [](const Account& a, const Account& b) { return a.id < b.id; });
  return all;
}

Status AccountRegistry::CheckUsersLocked(const std::vector<AccountUser>& users) const {
  if (users.empty()) return errors::InvalidParameterValue("an account needs at least one user");
  std::set<uint32_t> seen;
  for (const AccountUser& u : users) {
    if (!seen.insert(u.uid).second) {
      return errors::InvalidParameterValue("Unix user '" + u.name + "' is given more than once");
    }
    if (const Account* other = OfUidLocked(u.uid)) {
      return errors::InvalidParameterValue("Unix user '" + u.name + "' (uid " +
                                           std::to_string(u.uid) + ") already belongs to account " +
                                           other->id + "; a user belongs to one account only");
    }
  }
  return Status::OK();
}

Result<Account> AccountRegistry::Create(std::string_view id, std::vector<AccountUser> users) {
  CLONEFS_RETURN_IF_ERROR(ValidateAccountId(id));
  std::unique_lock l(mu_);  // held across the save: creates are rare, and must not interleave
  if (FindLocked(id) != nullptr) return errors::AccountAlreadyExists(std::string(id));
  CLONEFS_RETURN_IF_ERROR(CheckUsersLocked(users));
  Account account{std::string(id), std::move(users), env_->NowMicros(), false};
  std::vector<Account> next = accounts_;
  next.push_back(account);
  std::sort(next.begin(), next.end(),
            [](const Account& a, const Account& b) { return a.id < b.id; });
  CLONEFS_RETURN_IF_ERROR(store_->SaveDocument(kDocument, Encode(next).dump()));
  accounts_ = std::move(next);
  return account;
}

}  // namespace clonefs::access
