// Account ids: exactly 12 ASCII digits, leading zeros allowed. Always a string (in JSON too),
// never a number, so that 012345678901 keeps its zero. Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "base/status.h"

namespace clonefs::access {

// InvalidParameterValue naming what is wrong with `id` (too short or long, not digits).
Status ValidateAccountId(std::string_view id);

}  // namespace clonefs::access
