// Per-account names over the store's one flat namespace.
//
// Names are per account: accounts A and B may both own a volume "db1". The store keeps a single
// namespace, so a resource of an account other than the store owner's is kept under the store
// name ACCOUNT.NAME (its 12-digit id, a dot, the name as typed), which no typed name can be
// (typed names start with a letter). The owner account's resources keep their plain names, so
// stores made before accounts existed read unchanged. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace clonefs::access {

// A resource's owner and its name as the owner typed it.
struct OwnedName {
  std::string account;
  std::string name;
  bool operator==(const OwnedName&) const = default;
};

// The store name of `account`'s resource `name`. `owner_account` is the store owner's.
// REQUIRES: `account` is an account id and `name` a typed name (store::ValidateName).
std::string StoreName(std::string_view owner_account, std::string_view account,
                      std::string_view name);

// The owner and typed name of `store_name`: ACCOUNT.NAME is ACCOUNT's, anything else the store
// owner's.
OwnedName SplitStoreName(std::string_view owner_account, std::string_view store_name);

}  // namespace clonefs::access
