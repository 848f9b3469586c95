// Dispatcher: executes one control request against a Store. The daemon's control server and
// clonectl's direct mode both go through here, so a command behaves the same either way.
//
// A request is {"command": "volume.create", "args": {...}}, with "account": ID when root acts as
// another account (--account); the response is
// {"ok": true, "result": ...} or {"ok": false, "error": {"Code": ..., "Message": ...}}
// (docs/CLI.md). A request may add "progress": true to be told how a long command (a
// --full-copy) is getting on; the transport decides how (ProgressHooks). Commands live in a
// table: each `Register*Commands()` function adds one family (volume_commands.cc,
// store_commands.cc, snapshot_commands.cc, key_commands.cc), so new families only add a file
// and a line.
//
// Thread-safe: a Dispatcher holds no mutable state and the Store is thread-safe, so many
// connections may call Handle() at once. Never throws.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/store.h"
#include "tools/control/errors.h"

namespace clonefs::access {
class AccountRegistry;
class Sharing;
}  // namespace clonefs::access

namespace clonefs::control {

class BackupService;
class CopyService;

// Long-lived parts of a daemon that some commands use; any may be null (clonectl's direct mode
// has none, and such commands then do their work inside the request or refuse).
struct Services {
  CopyService* copies = nullptr;
  BackupService* backups = nullptr;  // null: no automated backups (direct mode, backups=off)
  // Who the accounts are and what they share. The daemon passes its own, which its mount uses
  // as well; when null the Dispatcher opens them itself.
  access::AccountRegistry* accounts = nullptr;
  access::Sharing* sharing = nullptr;
  // Manual snapshots one account may have (snapshot_quota.h).
  size_t account_snapshot_quota = 100;
};

// Who sent a request: uid and pid from SO_PEERCRED (or the current process in direct mode);
// the rest is filled in by the Dispatcher (identity.h) before any handler runs.
struct Caller {
  Caller() = default;
  Caller(uint32_t uid_in, int32_t pid_in) : uid(uid_in), pid(pid_in) {}

  uint32_t uid = 0;
  int32_t pid = 0;
  std::string account;  // the acting account: the uid's, or the one root named with --account
  bool admin = false;   // acting as the store owner's account as root or the directory's owner
};

// Typed, validated access to a request's "args" object. Every accessor fails with
// InvalidArgument naming the argument. (Unknown arguments are rejected before a handler runs.)
class Args {
 public:
  explicit Args(const nlohmann::json& args) : args_(args) {}

  Result<std::string> RequiredString(const std::string& key);
  Result<std::optional<std::string>> OptionalString(const std::string& key);
  // A non-empty list of non-empty strings.
  Result<std::vector<std::string>> RequiredStrings(const std::string& key);
  // The same, or empty when absent.
  Result<std::vector<std::string>> OptionalStrings(const std::string& key);
  // A size: a JSON integer of bytes, or a string such as "10G" (see ParseSize()).
  Result<std::optional<uint64_t>> OptionalSize(const std::string& key);
  Result<std::optional<uint64_t>> OptionalUint(const std::string& key);
  // A JSON boolean; absent is false.
  Result<bool> OptionalBool(const std::string& key);
  // A TagList: [{"Key": string, "Value": string}, ...]; absent is empty. Only the shape is
  // checked here (base/tags.h has the rules).
  Result<store::Tags> OptionalTags(const std::string& key);

 private:
  const nlohmann::json* Find(const std::string& key) const;

  const nlohmann::json& args_;
};

// Reports how far a long command has got: `done` of `total` bytes.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;
// True when a long command should stop (its client went away, the daemon is stopping, ^C).
using CancelledFn = std::function<bool()>;

// What the transport lends a long-running command. Both may be empty. `report` is only passed
// on to commands whose request asked for progress ("progress": true); `cancelled` always is.
struct ProgressHooks {
  ProgressFn report;
  CancelledFn cancelled;
  // Descriptors the client passed with the request (a stream to write to or read from). The
  // transport owns and closes them.
  std::vector<int> fds;
};

// What a command handler gets. `subject` is set by the handler to the identifier it acts on so
// that NotFound/AlreadyExists errors name it. `progress` and `cancelled` may be empty.
struct CommandContext {
  store::Store* store;
  Args& args;
  const Caller& caller;
  std::string subject;
  ProgressFn progress;
  CancelledFn cancelled;
  std::vector<int> fds = {};  // passed with the request; not the handler's to close
  const Services* services = nullptr;
  access::AccountRegistry* accounts = nullptr;  // never null in a handler
};

using CommandHandler = std::function<Result<nlohmann::json>(CommandContext&)>;

struct CommandSpec {
  std::string name;         // "volume.create"
  std::string resource;     // "volume": names NotFound/AlreadyExists errors (VolumeNotFound)
  std::string description;  // one line, for help and docs
  std::vector<std::string> params;  // accepted argument names; anything else is rejected
  CommandHandler handler;
};

// The registry of all commands, built once.
const std::vector<CommandSpec>& AllCommands();
void RegisterVolumeCommands(std::vector<CommandSpec>& table);
void RegisterStoreCommands(std::vector<CommandSpec>& table);
void RegisterSnapshotCommands(std::vector<CommandSpec>& table);
void RegisterKeyCommands(std::vector<CommandSpec>& table);
void RegisterStreamCommands(std::vector<CommandSpec>& table);
void RegisterCopyCommands(std::vector<CommandSpec>& table);
void RegisterAccountCommands(std::vector<CommandSpec>& table);
void RegisterSharingCommands(std::vector<CommandSpec>& table);
void RegisterTagCommands(std::vector<CommandSpec>& table);

class Dispatcher {
 public:
  // Loads the store's accounts and sharing unless `services` has them (a failure is every
  // request's answer).
  // REQUIRES: `store` and `services` outlive the Dispatcher.
  explicit Dispatcher(store::Store* store, Services services = {});
  ~Dispatcher();

  // One request line in, one response object out (malformed input gets an error response).
  // `command` receives the command name when the request names one (for logging). `hooks`
  // (may be null) serve long commands; they are called on this thread, before Handle returns.
  nlohmann::json HandleLine(std::string_view line, const Caller& caller,
                            std::string* command = nullptr,
                            const ProgressHooks* hooks = nullptr) const;
  nlohmann::json Handle(const nlohmann::json& request, const Caller& caller,
                        std::string* command = nullptr, const ProgressHooks* hooks = nullptr) const;

 private:
  store::Store* store_;
  Services services_;  // accounts and sharing never null once the constructor succeeded
  std::unique_ptr<access::AccountRegistry> own_accounts_;
  std::unique_ptr<access::Sharing> own_sharing_;
  Status opened_;  // why accounts or sharing could not be read, if they could not
};

// Response builders shared by the dispatcher, server, client and clonectl.
nlohmann::json OkResponse(nlohmann::json result);
nlohmann::json ErrorResponse(const ApiError& error);
nlohmann::json MakeRequest(std::string_view command, nlohmann::json args);
// {"progress": {"done": N, "total": M}}: sent before the response to a request that asked.
nlohmann::json ProgressMessage(uint64_t done, uint64_t total);
// True (and fills done/total) when `message` is a well-formed progress message.
bool ParseProgressMessage(const nlohmann::json& message, uint64_t* done, uint64_t* total);

}  // namespace clonefs::control
