#include "store/access/store_names.h"

#include "store/types.h"

namespace clonefs::access {

std::string StoreName(std::string_view owner_account, std::string_view account,
                      std::string_view name) {
  if (account == owner_account) return std::string(name);
  std::string out(account);
  out += '.';
  out += name;
  return out;
}

OwnedName SplitStoreName(std::string_view owner_account, std::string_view store_name) {
  if (store_name.size() > 13 && store_name[12] == '.' &&
      store::IsAccountId(store_name.substr(0, 12))) {
    return {std::string(store_name.substr(0, 12)), std::string(store_name.substr(13))};
  }
  return {std::string(owner_account), std::string(store_name)};
}

}  // namespace clonefs::access
