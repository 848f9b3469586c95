// Running one control request the way the command-line tools do: sent to the daemon when one
// answers on the store's control socket, else executed in this process against the store
// opened directly (the same Dispatcher, so a command behaves the same either way). Shared by
// clonectl and clonefs-export.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tools/control/commands.h"

namespace clonefs::control {

struct RunOptions {
  std::string store_dir;
  std::string key_file;         // the key store's root secret in direct mode (see KeyFilePath)
  std::string passphrase_file;  // a passphrase instead
  double timeout_seconds = 300;
  // Told how a long command is getting on (may be empty).
  std::function<void(uint64_t done, uint64_t total)> on_progress;
  // A long command run in this process stops (and undoes its work) on SIGINT/SIGTERM/SIGHUP.
  bool interruptible = false;
  // Passed with the request (a stream to write or read); the caller keeps and closes them.
  std::vector<int> fds;
};

nlohmann::json RunRequest(const RunOptions& o, const nlohmann::json& request);

// The key file of a store: `flag` if given, else $CLONEFS_KEY_FILE, else STORE.key.
std::string KeyFilePath(const std::string& flag, const std::string& store_dir);

// `dir` made absolute and normal, without trailing slashes (as a store is named in messages).
std::string NormalizeStoreDir(const std::string& dir);

// {"ok": false, "error": {code, message}}
nlohmann::json Failure(std::string_view code, std::string message);

}  // namespace clonefs::control
