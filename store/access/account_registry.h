// AccountRegistry: the accounts of one store and the Unix users each maps to.
//
// An account is a 12-digit id with one or more Unix users ({name, uid}); a uid maps to at most
// one account, so a caller's identity is never ambiguous. The store owner's account
// (StoreInfo::account_id) always exists: it maps to the Unix user owning the store directory
// and to root (uid 0), is never written down (it follows the directory's owner) and cannot be
// created. Every other account is kept in the store document "accounts" (docs/FORMAT.md), so
// it lives wherever the store's metadata does.
//
// Thread-safe: lookups take a shared lock; Create() is serialised and applies a new account
// only once the document holding it is durable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/result.h"
#include "store/store.h"

namespace clonefs::access {

struct AccountUser {
  std::string name;  // the Unix user name, as it was when the account was created
  uint32_t uid = 0;
  bool operator==(const AccountUser&) const = default;
};

struct Account {
  std::string id;
  std::vector<AccountUser> users;
  uint64_t creation_time_us = 0;
  bool store_owner = false;
};

class AccountRegistry {
 public:
  static constexpr std::string_view kDocument = "accounts";

  // Who owns the store: its account, the Unix user owning its directory, and the time shown as
  // the owner account's creation (the store's).
  struct StoreOwner {
    std::string account_id;
    AccountUser user;
    uint64_t since_us = 0;
  };

  // Loads the accounts of `store`. Corruption when the document cannot be read back.
  // REQUIRES: `store` and `env` outlive the registry.
  static Result<std::unique_ptr<AccountRegistry>> Open(store::Store* store, StoreOwner owner,
                                                       Env* env = Env::Default());

  const std::string& owner_account() const { return owner_.id; }
  // The account `uid` belongs to, if any.
  std::optional<Account> AccountOfUid(uint32_t uid) const;
  std::optional<Account> Find(std::string_view id) const;
  std::vector<Account> List() const;  // sorted by id

  // Creates account `id` for `users` (at least one; each a uid of no other account, none
  // twice), durably. InvalidParameterValue for a malformed id or such users,
  // AccountAlreadyExists for an id in use (the owner's included).
  Result<Account> Create(std::string_view id, std::vector<AccountUser> users);

 private:
  AccountRegistry(store::Store* store, Account owner, std::vector<Account> accounts, Env* env)
      : store_(store), env_(env), owner_(std::move(owner)), accounts_(std::move(accounts)) {}

  // REQUIRES: mu_ held (either way).
  const Account* FindLocked(std::string_view id) const;
  const Account* OfUidLocked(uint32_t uid) const;
  Status CheckUsersLocked(const std::vector<AccountUser>& users) const;

  store::Store* const store_;
  Env* const env_;
  const Account owner_;
  mutable std::shared_mutex mu_;   // guards accounts_
  std::vector<Account> accounts_;  // the created ones, sorted by id
};

}  // namespace clonefs::access
