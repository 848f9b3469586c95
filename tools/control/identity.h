// Who a control request comes from, in account terms: the Unix user of the connection (or of
// this process in direct mode) mapped to its account (store/access/account_registry.h), and,
// for root only, the account named with --account. The Dispatcher does this before any handler
// runs, so no command can be reached without an account. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "store/access/account_registry.h"
#include "store/store.h"
#include "tools/control/commands.h"

namespace clonefs::control {

// The name of Unix user `uid` ("uid N" when it has none).
std::string UserNameOf(uint32_t uid);
// The uid of Unix user `name`; NotFound when there is none.
Result<uint32_t> UidOfUser(const std::string& name);

// The account registry of `store`, whose owner is the Unix user owning the store directory.
Result<std::unique_ptr<access::AccountRegistry>> OpenAccountRegistry(store::Store* store);

// `caller` (uid and pid known) with its acting account and administrator bit filled in.
// `as_account` is the request's "account" field: honoured for root only. AccessDenied for a uid
// with no account (the message says what to ask the store owner for) or a non-root
// `as_account`, InvalidParameterValue for a malformed one, AccountNotFound for an unknown one.
Result<Caller> IdentifyCaller(const access::AccountRegistry& accounts,
                              const store::StoreInfo& store, Caller caller,
                              const std::optional<std::string>& as_account);

}  // namespace clonefs::control
