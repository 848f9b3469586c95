#include "store/access/account_id.h"

#include <string>

#include "base/error_names.h"
#include "store/types.h"

namespace clonefs::access {

Status ValidateAccountId(std::string_view id) {
  if (store::IsAccountId(id)) return Status::OK();
  const std::string quoted = "account id '" + std::string(id) + "'";
  for (char c : id) {
    if (c < '0' || c > '9') {
      return errors::InvalidParameterValue(quoted +
                                           " must be 12 digits (0-9 only, no signs, "
                                           "spaces or letters)");
    }
  }
  return errors::InvalidParameterValue(quoted + " must be exactly 12 digits, not " +
                                       std::to_string(id.size()));
}

}  // namespace clonefs::access
