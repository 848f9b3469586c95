// The mount's AccessPolicy (fs/access_policy.h) over the store's accounts and sharing: a
// request's uid is looked up in the account registry, store names are split and made the way
// the control plane makes them (store/access/store_names.h), so a volume has one name for an
// account in clonectl and in the mount, and a snapshot is shared with whom its restore
// attribute names. Thread-safe, as the registry and the sharing state are.
#pragma once

#include "fs/access_policy.h"
#include "store/access/account_registry.h"
#include "store/access/sharing.h"

namespace clonefs::control {

class AccountsAccessPolicy final : public fs::AccessPolicy {
 public:
  // REQUIRES: `accounts` and `sharing` outlive this object.
  AccountsAccessPolicy(const access::AccountRegistry* accounts, const access::Sharing* sharing)
      : accounts_(accounts), sharing_(sharing) {}

  std::optional<std::string> AccountOfUid(uint32_t uid) const override;
  std::string StoreNameOf(const std::string& account, const std::string& name) const override;
  Owned OwnerOf(const std::string& store_name) const override;
  uint32_t UidOfAccount(const std::string& account) const override;
  bool SnapshotSharedWith(const std::string& account,
                          const store::SnapshotInfo& snapshot) const override;
  std::vector<std::string> SnapshotsSharedWith(const std::string& account) const override;

 private:
  const access::AccountRegistry* const accounts_;
  const access::Sharing* const sharing_;
};

}  // namespace clonefs::control
