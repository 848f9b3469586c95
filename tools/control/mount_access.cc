#include "tools/control/mount_access.h"

#include <algorithm>

#include "store/access/store_names.h"

namespace clonefs::control {

std::optional<std::string> AccountsAccessPolicy::AccountOfUid(uint32_t uid) const {
  std::optional<access::Account> a = accounts_->AccountOfUid(uid);
  if (!a.has_value()) return std::nullopt;
  return a->id;
}

std::string AccountsAccessPolicy::StoreNameOf(const std::string& account,
                                              const std::string& name) const {
  return access::StoreName(accounts_->owner_account(), account, name);
}

fs::AccessPolicy::Owned AccountsAccessPolicy::OwnerOf(const std::string& store_name) const {
  access::OwnedName o = access::SplitStoreName(accounts_->owner_account(), store_name);
  return {std::move(o.account), std::move(o.name)};
}

uint32_t AccountsAccessPolicy::UidOfAccount(const std::string& account) const {
  // The owner account's first user is the one owning the store directory.
  std::optional<access::Account> a = accounts_->Find(account);
  if (!a.has_value() || a->users.empty()) return 0;
  return a->users.front().uid;
}

bool AccountsAccessPolicy::SnapshotSharedWith(const std::string& account,
                                              const store::SnapshotInfo& snapshot) const {
  return OwnerOf(snapshot.name).account != account &&
         sharing_->MayRestore(account, access::SharingKey(snapshot.name, snapshot.id));
}

std::vector<std::string> AccountsAccessPolicy::SnapshotsSharedWith(
    const std::string& account) const {
  std::vector<std::string> keys = sharing_->SharedSnapshots(account);
  for (std::string& key : sharing_->PublicSnapshots()) keys.push_back(std::move(key));
  std::vector<std::string> out;
  for (const std::string& key : keys) {
    std::string name = access::StoreNameOfKey(key);
    if (OwnerOf(name).account != account && std::find(out.begin(), out.end(), name) == out.end()) {
      out.push_back(std::move(name));
    }
  }
  return out;
}

}  // namespace clonefs::control
