#include "tools/control/identity.h"

#include <pwd.h>
#include <sys/stat.h>

#include <cerrno>
#include <vector>

#include "base/error_names.h"
#include "store/access/account_id.h"

namespace clonefs::control {

std::string UserNameOf(uint32_t uid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return "uid " + std::to_string(uid);
}

Result<uint32_t> UidOfUser(const std::string& name) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return static_cast<uint32_t>(found->pw_uid);
  }
  return Status::NotFound("Unix user '" + name + "'");
}

Result<std::unique_ptr<access::AccountRegistry>> OpenAccountRegistry(store::Store* store) {
  const std::string& dir = store->info().dir;
  struct stat dir_st;
  if (::stat(dir.c_str(), &dir_st) != 0) return Status::FromErrno(errno, "stat " + dir);
  // The store's creation, as the owner account's: the format file is written once, by Create.
  struct stat format_st;
  uint64_t since_us = 0;
  if (::stat((dir + "/FORMAT").c_str(), &format_st) == 0) {
    since_us = static_cast<uint64_t>(format_st.st_mtim.tv_sec) * 1000000 +
               static_cast<uint64_t>(format_st.st_mtim.tv_nsec) / 1000;
  }
  const uint32_t owner_uid = dir_st.st_uid;
  return access::AccountRegistry::Open(
      store, {store->info().account_id, {UserNameOf(owner_uid), owner_uid}, since_us});
}

Result<Caller> IdentifyCaller(const access::AccountRegistry& accounts,
                              const store::StoreInfo& store, Caller caller,
                              const std::optional<std::string>& as_account) {
  std::optional<access::Account> own = accounts.AccountOfUid(caller.uid);
  if (!own.has_value()) {
    const std::string user = UserNameOf(caller.uid);
    return errors::AccessDenied("Unix user '" + user + "' (uid " + std::to_string(caller.uid) +
                                ") has no clonefs account in the store " + store.dir +
                                "; ask the store owner to run: clonectl account create "
                                "ACCOUNT_ID --user " +
                                user);
  }
  caller.account = own->id;
  // Root and the directory's owner are exactly the owner account's users.
  caller.admin = own->store_owner;
  if (!as_account.has_value()) return caller;
  if (caller.uid != 0) {
    return errors::AccessDenied("only root may act as another account (--account " + *as_account +
                                ")");
  }
  CLONEFS_RETURN_IF_ERROR(access::ValidateAccountId(*as_account));
  std::optional<access::Account> acted = accounts.Find(*as_account);
  if (!acted.has_value()) return errors::AccountNotFound(*as_account);
  caller.account = acted->id;
  caller.admin = acted->store_owner;  // root acting as an account has that account's rights
  return caller;
}

}  // namespace clonefs::control
