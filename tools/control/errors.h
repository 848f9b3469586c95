// The control plane's API errors and the one function that turns a Status into one of them.
// Pure functions; thread-safe.
//
// Every failure a client sees is an ApiError: a stable machine-readable `code` (the names of
// base/error_names.h, documented in docs/CLI.md) and a human-readable `message`. Scripts match on
// the code only.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/error_names.h"
#include "base/status.h"

namespace clonefs::control {

// The stable names (errors::k*) are those of base/error_names.h.
namespace errors = clonefs::errors;

struct ApiError {
  std::string code;
  std::string message;
};

// The single mapping from Status to API error. `resource` ("volume", "snapshot", "store") names
// the kind of object the command acts on and `identifier` its name (may be empty).
//
// A Status that already carries a specific name (Status::WithName) keeps it and its message:
// the store names the object it could not find (SnapshotNotFound, VolumeNotFound for a
// snapshot's source volume), CloneQuotaExceeded, InvalidSnapshotState and so on. Otherwise:
// NotFound -> <Resource>NotFound, AlreadyExists -> <Resource>AlreadyExists, InvalidArgument ->
// InvalidParameterValue, NoSpace -> InsufficientStorage, Busy -> StoreBusy, InvalidState ->
// Invalid<Resource>State, QuotaExceeded -> <Resource>QuotaExceeded, anything else ->
// InternalError. For NotFound/AlreadyExists with an identifier the message is rewritten to the
// canonical "volume 'x' does not exist" / "volume 'x' already exists".
ApiError ToApiError(const Status& status, std::string_view resource,
                    std::string_view identifier = {});

// A Status carrying the stable name `code` (code is one of errors::k*).
Status NamedError(std::string_view code, Status::Code status_code, std::string message);

// {"Code": ..., "Message": ...}
nlohmann::json ErrorToJson(const ApiError& error);
// Reads an error object back; a malformed one becomes InternalError.
ApiError ErrorFromJson(const nlohmann::json& j);

}  // namespace clonefs::control
