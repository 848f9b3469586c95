#include "tools/control/cli.h"

#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "crypto/key_file.h"
#include "store/keys/key_service.h"
#include "store/keys/root_secret.h"
#include "store/store.h"
#include "tools/control/cli_backups.h"
#include "tools/control/cli_completion.h"
#include "tools/control/cli_output.h"
#include "tools/control/cli_sharing.h"
#include "tools/control/client.h"
#include "tools/control/commands.h"
#include "tools/control/errors.h"
#include "tools/control/json_views.h"
#include "tools/control/runner.h"
#include "tools/control/server.h"
#include "tools/control/sizes.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

struct CliOptions {
  std::string store_dir;
  std::string account;  // --account ID: root acts as that account
  CLI::Option* account_opt = nullptr;
  std::string account_id;          // `account create|show ID`
  std::vector<std::string> users;  // `account create --user NAME`
  bool json = false;
  double timeout_seconds = 300;
  std::string region = "local";
  std::string name;
  std::string size;
  std::string page_size;
  std::string compression;
  std::string source;    // `volume clone SOURCE_VOLUME`
  std::string snapshot;  // `snapshot create VOLUME SNAPSHOT`, `volume restore SNAPSHOT`, ...
  std::string volume;    // `snapshot create VOLUME`, `snapshot list --volume`
  std::vector<std::string> tags;      // `--tag KEY=VALUE`; `tag add ARN KEY=VALUE...`
  std::string tag_resource;           // `tag add|list|remove ARN`
  std::vector<std::string> tag_keys;  // `tag remove ARN KEY...`
  bool full_copy = false;
  bool allow_shrink = false;  // `volume resize --allow-shrink`
  std::string new_name;       // `volume modify --new-name`
  std::string target;         // `snapshot copy SOURCE TARGET`
  bool copy_tags = false;     // `snapshot copy`, `volume clone|restore` --copy-tags
  bool wait = false;          // `snapshot copy --wait`
  // Encryption and keys.
  std::string key_file;         // --key-file: the key store's root secret (default STORE.key)
  std::string passphrase_file;  // --passphrase-file: a passphrase instead of a key file
  bool encrypted = false;       // `volume create --encrypted`
  std::string kms_key;          // `--kms-key KEY` of volume create/clone/restore/rekey
  std::string key;              // `key show KEY`, ...
  std::string alias;            // `key create --alias`
  std::string description;      // `key create --description`
  int days = 30;                // `key schedule-deletion --days`
  std::string policy;           // `key policy put --policy JSON`
  std::string policy_file;      // `key policy put --policy-file PATH`
  std::string key_spec;         // `key create --key-spec`
  std::string public_key_out;   // `key get-public-key --out FILE`
  SharingCliOptions sharing;    // `snapshot attribute`, `share`, `invitation`
  BackupCliOptions backups;     // backup policies, `volume delete --final-snapshot`, ...
  std::string command;          // "volume.create", "init", ... set by the chosen subcommand
  // Given on the command line (possibly as an empty string)?
  CLI::Option* name_opt = nullptr;       // of `volume usage`
  CLI::Option* page_size_opt = nullptr;  // of `volume create`
  CLI::Option* volume_opt = nullptr;     // of `snapshot list`
  bool include_shared = false;           // `volume list`, `snapshot list --include-shared`
  bool include_public = false;           // `snapshot list --include-public`
};

// A progress bar on stderr, drawn only when stderr is a terminal and --json is not given.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(const CliOptions& o)
      : enabled_(!o.json && ::isatty(STDERR_FILENO) == 1), label_("Copying to " + o.name) {}
  ~ProgressDisplay() { Clear(); }
  bool enabled() const { return enabled_; }
  void Update(uint64_t done, uint64_t total) {
    if (!enabled_) return;
    std::cerr << '\r' << FormatProgressBar(label_, done, total) << "\033[K" << std::flush;
    drawn_ = true;
  }
  // Erases the bar, so that the result (or the error) starts on a clean line.
  void Clear() {
    if (drawn_) std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }

 private:
  const bool enabled_;
  const std::string label_;
  bool drawn_ = false;
};

// lowercase letters, digits and hyphens, 1-32 characters ("us-east-1").
bool ValidRegion(const std::string& region) {
  if (region.empty() || region.size() > 32) return false;
  for (char c : region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// The key file the store's key store uses: --key-file, else $CLONEFS_KEY_FILE, else STORE.key.
std::string KeyFilePath(const CliOptions& o) {
  return control::KeyFilePath(o.key_file, o.store_dir);
}

// `key get-public-key --out FILE`: FILE must be new and its directory must exist. Checked
// before the command runs, and again as the file is written.
Status CheckPublicKeyOut(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path file(path);
  if (path.empty() || !file.has_filename()) {
    return errors::InvalidParameterValue("--out '" + path + "' does not name a file");
  }
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return errors::InvalidParameterValue("--out " + path + ": the directory " + dir.string() +
                                         " does not exist");
  }
  if (fs::exists(fs::symlink_status(file, ec))) {
    return errors::InvalidParameterValue("--out " + path +
                                         " already exists; remove it or choose another file");
  }
  return Status::OK();
}

// Writes `pem` to the new file `path`, mode 0644, atomically: into a temporary file beside it,
// synced, then moved into place only if `path` still does not exist, so that no reader ever
// sees a partial key and no existing file is replaced.
Status WritePublicKeyFile(const std::string& path, const std::string& pem) {
  CLONEFS_RETURN_IF_ERROR(CheckPublicKeyOut(path));
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Status::IOError("cannot create a file beside " + path, errno);
  // Removes the temporary file (closing it first when `open_fd` is set) and reports errno.
  auto fail = [&](const std::string& what, bool open_fd = false) {
    const int err = errno;
    if (open_fd) ::close(fd);
    ::unlink(tmp.c_str());
    return Status::IOError(what + " " + path + ": " + std::strerror(err), err);
  };
  size_t done = 0;
  while (done < pem.size()) {
    const ssize_t n = ::write(fd, pem.data() + done, pem.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;
    if (n <= 0) return fail("cannot write", true);
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) return fail("cannot write", true);
  if (::close(fd) != 0) return fail("cannot write");
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) {
      ::unlink(tmp.c_str());
      return errors::InvalidParameterValue("--out " + path +
                                           " already exists; remove it or choose another file");
    }
    // A filesystem without RENAME_NOREPLACE: a hard link is just as atomic and as refusing.
    if (errno != EINVAL && errno != ENOSYS) return fail("cannot create");
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        ::unlink(tmp.c_str());
        return errors::InvalidParameterValue("--out " + path +
                                             " already exists; remove it or choose another file");
      }
      return fail("cannot create");
    }
    ::unlink(tmp.c_str());
  }
  const std::string dir = std::filesystem::path(path).has_parent_path()
                              ? std::filesystem::path(path).parent_path().string()
                              : ".";
  return Env::Default()->SyncDir(dir);
}

// Saves the PublicKey of a successful `key get-public-key --out FILE` response to FILE and
// notes it in the result ("PublicKeyFile"); an error response when it cannot be written.
json SavePublicKey(const CliOptions& o, json response) {
  if (!response.value("ok", false)) return response;
  json& result = response["result"];
  if (!result.is_object() || !result.contains("PublicKey") || !result["PublicKey"].is_string()) {
    return Failure(errors::kInternalError, "the answer holds no public key: " + result.dump());
  }
  Status s = WritePublicKeyFile(o.public_key_out, result["PublicKey"].get<std::string>());
  if (!s.ok()) return ErrorResponse(ToApiError(s, "key"));
  result["PublicKeyFile"] = o.public_key_out;
  return response;
}

// Creates the store, then its root secret (a new key file unless one exists or a passphrase
// file is given), then opens it once, which creates the key store with that secret.
json Init(const CliOptions& o) {
  Env* env = Env::Default();
  if (!ValidRegion(o.region)) {
    return Failure(errors::kInvalidParameterValue,
                   "invalid --region '" + o.region +
                       "': use 1-32 lowercase letters, digits and hyphens (e.g. us-east-1)");
  }
  if (store::Store::IsStore(env, o.store_dir)) {
    return Failure(errors::kStoreAlreadyExists, o.store_dir + " is already a clonefs store");
  }
  const std::string key_file = o.passphrase_file.empty() ? KeyFilePath(o) : "";
  bool key_file_exists = false;
  if (!key_file.empty()) {
    // An existing key file is used as it is, after the same checks an open makes.
    Result<crypto::SecretBytes> existing = crypto::ReadKeyFile(key_file);
    key_file_exists = existing.ok();
    if (!existing.ok() && !existing.status().IsNotFound()) {
      return ErrorResponse(ToApiError(existing.status(), "store", o.store_dir));
    }
  }
  auto root = store::LoadRootSecret(o.store_dir, key_file, o.passphrase_file);
  if (!root.ok()) return ErrorResponse(ToApiError(root.status(), "store", o.store_dir));
  Status s = store::Store::Create(o.store_dir, o.region, env);
  if (!s.ok()) return ErrorResponse(ToApiError(s, "store", o.store_dir));
  if (!key_file.empty() && !key_file_exists) {
    s = crypto::CreateKeyFile(key_file);
    if (!s.ok()) return ErrorResponse(ToApiError(s, "store", o.store_dir));
  }
  json result = {{"StoreDirectory", o.store_dir}, {"Region", o.region}};
  store::StoreOptions options;
  options.background_threads = false;
  options.root_secret = *root;
  auto opened = store::Store::Open(o.store_dir, options);
  if (!opened.ok()) return ErrorResponse(ToApiError(opened.status(), "store", o.store_dir));
  result = StoreInfoToJson((*opened)->info());
  if (!key_file.empty()) {
    result["KeyFile"] = key_file;
    result["KeyFileCreated"] = !key_file_exists;
  } else {
    result["RootSecret"] = "passphrase";
  }
  const Status& locked = (*opened)->keys().lock_reason();
  if (!locked.ok()) return ErrorResponse(ToApiError(locked, "store", o.store_dir));
  return OkResponse(std::move(result));
}

// Sends the request to the daemon when one answers on the store's socket, else runs it here.
json Execute(const CliOptions& o, json request) {
  if (o.account_opt->count() > 0) request["account"] = o.account;
  RunOptions r;
  r.store_dir = o.store_dir;
  r.key_file = KeyFilePath(o);
  r.passphrase_file = o.passphrase_file;
  r.timeout_seconds = o.timeout_seconds;
  ProgressDisplay display(o);
  if (display.enabled()) {
    r.on_progress = [&display](uint64_t done, uint64_t total) { display.Update(done, total); };
  }
  r.interruptible = o.full_copy;
  return RunRequest(r, request);
}

// "KEY=VALUE" -> {"Key": KEY, "Value": VALUE}; the value may be empty or hold '='.
Result<json> ParseTag(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos) {
    return Status::InvalidArgument("invalid tag '" + text + "': use KEY=VALUE");
  }
  if (eq == 0) {
    return Status::InvalidArgument("invalid tag '" + text + "': the key must not be empty");
  }
  return json{{"Key", text.substr(0, eq)}, {"Value", text.substr(eq + 1)}};
}

// The request's "args" from the command line; an InvalidParameterValue response on bad input.
json BuildArgs(const CliOptions& o, json* args) {
  *args = json::object();
  const std::string& c = o.command;
  if (SharingArgs(c, o.sharing, args)) return json();
  if (c == "volume.create" || c == "volume.show" || c == "volume.resize" || c == "volume.delete" ||
      c == "volume.modify" || (c == "volume.usage" && o.name_opt->count() > 0)) {
    (*args)["name"] = o.name;
  }
  if (c == "volume.create" || c == "volume.resize") {
    auto size = ParseSize(o.size, "--size");
    if (!size.ok()) return ErrorResponse(ToApiError(size.status(), "volume"));
    (*args)["size"] = *size;
  }
  if (c == "volume.create" && o.page_size_opt->count() > 0) {
    auto page = ParseSize(o.page_size, "--page-size");
    if (!page.ok()) return ErrorResponse(ToApiError(page.status(), "volume"));
    (*args)["page_size"] = *page;
  }
  if (c == "volume.create" && !o.compression.empty()) (*args)["compression"] = o.compression;
  if (c == "volume.create" && o.encrypted) (*args)["encrypted"] = true;
  if ((c == "volume.create" || c == "volume.clone" || c == "volume.restore" ||
       c == "volume.restore_to_time" || c == "volume.rekey") &&
      !o.kms_key.empty()) {
    (*args)["kms_key"] = o.kms_key;
  }
  if (c == "volume.rekey") (*args)["name"] = o.name;
  if (c == "account.create" || c == "account.show") (*args)["id"] = o.account_id;
  if (c == "account.create") (*args)["users"] = o.users;
  if (c.rfind("key.", 0) == 0 && c != "key.create" && c != "key.list") (*args)["key"] = o.key;
  if (c == "key.create" && !o.alias.empty()) (*args)["alias"] = o.alias;
  if (c == "key.create" && !o.description.empty()) (*args)["description"] = o.description;
  if (c == "key.create" && !o.key_spec.empty()) (*args)["key_spec"] = o.key_spec;
  if (c == "key.get_public_key" && !o.public_key_out.empty()) {
    Status out = CheckPublicKeyOut(o.public_key_out);
    if (!out.ok()) return ErrorResponse(ToApiError(out, "key"));
  }
  if (c == "key.schedule_deletion") (*args)["days"] = o.days;
  if (c == "key.policy_put") {
    std::string policy = o.policy;
    if (!o.policy_file.empty()) {
      Result<std::string> text = ReadFileToString(Env::Default(), o.policy_file);
      if (!text.ok()) return ErrorResponse(ToApiError(text.status(), "key"));
      policy = *text;
    }
    if (policy.empty()) {
      return Failure(errors::kInvalidParameterValue,
                     "key policy put needs the policy: --policy JSON or --policy-file PATH");
    }
    (*args)["policy"] = policy;
  }
  if (c == "volume.clone" || c == "volume.restore_to_time") {
    (*args)["source"] = o.source;
    (*args)["name"] = o.name;
  }
  if (c == "volume.restore") {
    (*args)["snapshot"] = o.snapshot;
    (*args)["name"] = o.name;
  }
  if ((c == "volume.clone" || c == "volume.restore") && o.full_copy) (*args)["full_copy"] = true;
  if (c == "volume.resize" && o.allow_shrink) (*args)["allow_shrink"] = true;
  if (c == "volume.modify" && !o.new_name.empty()) (*args)["new_name"] = o.new_name;
  BackupArgs(c, o.backups, args);
  if ((c == "volume.clone" || c == "volume.restore") && o.copy_tags) (*args)["copy_tags"] = true;
  if (c.rfind("tag.", 0) == 0) (*args)["resource"] = o.tag_resource;
  if (c == "tag.remove") (*args)["keys"] = o.tag_keys;
  if (c == "snapshot.create" || c == "snapshot.show" || c == "snapshot.delete") {
    (*args)["name"] = o.snapshot;
  }
  if ((c == "volume.list" || c == "snapshot.list") && o.include_shared) {
    (*args)["include_shared"] = true;
  }
  if (c == "snapshot.list" && o.include_public) (*args)["include_public"] = true;
  if (c == "snapshot.create" || (c == "snapshot.list" && o.volume_opt->count() > 0)) {
    (*args)["volume"] = o.volume;
  }
  if (c == "snapshot.copy") {
    (*args)["source"] = o.source;
    (*args)["target"] = o.target;
    if (!o.kms_key.empty()) (*args)["kms_key"] = o.kms_key;
    if (o.copy_tags) (*args)["copy_tags"] = true;
  }
  const bool tagged = c == "snapshot.create" || c == "snapshot.copy" || c == "volume.create" ||
                      c == "volume.clone" || c == "volume.restore" ||
                      c == "volume.restore_to_time" || c == "key.create" || c == "tag.add";
  if (tagged && !o.tags.empty()) {
    json tags = json::array();
    for (const std::string& t : o.tags) {
      Result<json> tag = ParseTag(t);
      if (!tag.ok()) return ErrorResponse(ToApiError(tag.status(), "snapshot"));
      tags.push_back(std::move(tag).value());
    }
    (*args)["tags"] = std::move(tags);
  }
  return json();
}

// `snapshot copy --wait`: follows the copy (snapshot.show) until it is available, showing its
// PercentProgress as a bar on a terminal and as plain lines otherwise. A copy that failed or
// was cancelled meanwhile is an error.
json WaitForCopy(const CliOptions& o, json response) {
  if (!response.value("ok", false)) return response;
  const bool bar = !o.json && ::isatty(STDERR_FILENO) == 1;
  int shown = -2;
  for (;;) {
    const json& r = response["result"];
    const std::string status = r.value("Status", "");
    const int percent = r.contains("PercentProgress") ? r["PercentProgress"].get<int>() : -1;
    if (status == "available") {
      if (bar) std::cerr << "\r\033[K" << std::flush;
      return response;
    }
    if (status == "failed") {
      if (bar) std::cerr << "\r\033[K" << std::flush;
      return Failure(errors::kSnapshotCopyFailed,
                     "the copy to '" + o.target + "' failed: " + r.value("StatusMessage", ""));
    }
    if (percent != shown) {
      if (bar) {
        std::cerr << '\r'
                  << FormatProgressBar("Copying to " + o.target,
                                       static_cast<uint64_t>(std::max(percent, 0)), 100)
                  << "\033[K" << std::flush;
      } else if (!o.json) {
        std::cerr << "copying to " << o.target << ": "
                  << (percent < 0 ? std::string("queued") : std::to_string(percent) + "%") << '\n';
      }
      shown = percent;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    response = Execute(o, MakeRequest("snapshot.show", {{"name", o.target}}));
    if (!response.value("ok", false)) {
      if (bar) std::cerr << "\r\033[K" << std::flush;
      return response;  // deleted meanwhile: the copy was cancelled
    }
  }
}

int Report(const CliOptions& o, const json& response) {
  if (response.value("ok", false)) {
    const json& result = response["result"];
    if (o.json) {
      std::cout << JsonToString(result, 2) << '\n';
    } else {
      PrintHuman(std::cout, o.command, result);
    }
    return kExitOk;
  }
  ApiError e = ErrorFromJson(response.value("error", json()));
  std::cerr << "clonectl: " << e.code << ": " << e.message << '\n';
  if (o.json) std::cout << JsonToString(ErrorToJson(e), 2) << '\n';
  return kExitFailed;
}

// A leaf subcommand that selects `command`.
CLI::App* Leaf(CLI::App* parent, const std::string& name, const std::string& help, CliOptions& o,
               const std::string& command) {
  CLI::App* sub = parent->add_subcommand(name, help);
  sub->callback([&o, command] { o.command = command; });
  return sub;
}

// --tag KEY=VALUE (repeatable).
void AddTagOption(CLI::App* sub, CliOptions& o, const std::string& help) {
  sub->add_option("--tag", o.tags, help + ", KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
}

// `tag add|list|remove ARN ...`: the tags of a volume, snapshot or key.
void DefineTagCommands(CLI::App& app, CliOptions& o) {
  CLI::App* tag = app.add_subcommand("tag", "Tag volumes, snapshots and keys (by ARN)");
  tag->require_subcommand(1);
  const std::string arn_help = "arn:clonefs:REGION:ACCOUNT:volume:NAME (snapshot:NAME, key:KEY_ID)";
  CLI::App* add = Leaf(tag, "add", "Add tags (an existing key takes the new value)", o, "tag.add");
  add->add_option("ARN", o.tag_resource, arn_help)->required();
  add->add_option("TAG", o.tags, "KEY=VALUE")->required()->type_name("KEY=VALUE");
  Leaf(tag, "list", "List the tags of a resource", o, "tag.list")
      ->add_option("ARN", o.tag_resource, arn_help)
      ->required();
  CLI::App* remove = Leaf(tag, "remove", "Remove tags by key", o, "tag.remove");
  remove->add_option("ARN", o.tag_resource, arn_help)->required();
  remove->add_option("KEY", o.tag_keys, "A tag key")->required();
}

void DefineVolumeCommands(CLI::App& app, CliOptions& o) {
  CLI::App* volume =
      app.add_subcommand("volume", "Create, inspect, resize, modify and delete volumes");
  volume->require_subcommand(1);
  CLI::App* create = Leaf(volume, "create", "Create an empty volume", o, "volume.create");
  create->add_option("NAME", o.name, "Volume name (letters, digits, hyphens)")->required();
  create->add_option("--size", o.size, "Size, e.g. 10G or 512MiB")->required()->type_name("SIZE");
  o.page_size_opt =
      create->add_option("--page-size", o.page_size, "Page size: 4K to 64K, a power of two")
          ->type_name("SIZE");
  create->add_option("--compression", o.compression, "Page compression")
      ->check(CLI::IsMember({"none", "zstd"}));
  Leaf(volume, "list", "List volumes", o, "volume.list")
      ->add_flag("--include-shared", o.include_shared,
                 "Also the volumes other accounts share with you (accepted shares)");
  Leaf(volume, "show", "Describe a volume (also: describe)", o, "volume.show")
      ->alias("describe")
      ->add_option("NAME", o.name, "Volume name or ARN")
      ->required();
  CLI::App* resize = Leaf(volume, "resize", "Grow or shrink a volume", o, "volume.resize");
  resize->add_option("NAME", o.name, "Volume name or ARN")->required();
  resize->add_option("--size", o.size, "New size, e.g. 20G")->required()->type_name("SIZE");
  resize->add_flag("--allow-shrink", o.allow_shrink,
                   "Allow a smaller size (discards the data past it; refused while in use)");
  CLI::App* modify = Leaf(volume, "modify", "Change a volume's settings", o, "volume.modify");
  modify->add_option("NAME", o.name, "Volume name or ARN")->required();
  modify
      ->add_option("--new-name", o.new_name,
                   "Rename the volume (refused while it is shared with other accounts)")
      ->type_name("NAME");
  Leaf(volume, "delete", "Delete a volume and free its pages", o, "volume.delete")
      ->add_option("NAME", o.name, "Volume name or ARN")
      ->required();
  o.name_opt =
      Leaf(volume, "usage", "Space used by one volume, or by every volume", o, "volume.usage")
          ->add_option("NAME", o.name, "Volume name or ARN (default: all your volumes)");
  CLI::App* clone =
      Leaf(volume, "clone", "Clone a volume as of now (copy-on-write)", o, "volume.clone");
  clone->add_option("SOURCE_VOLUME", o.source, "The volume to clone (name or ARN)")->required();
  clone->add_option("NEW_VOLUME", o.name, "The new volume's name")->required();
  clone->add_flag("--full-copy", o.full_copy,
                  "Copy every byte into an independent volume (a new clone lineage)");
  CLI::App* restore = Leaf(volume, "restore", "Create a volume from a snapshot (copy-on-write)", o,
                           "volume.restore");
  restore->add_option("SNAPSHOT", o.snapshot, "The snapshot to restore (name or ARN)")->required();
  restore->add_option("NEW_VOLUME", o.name, "The new volume's name")->required();
  restore->add_flag("--full-copy", o.full_copy,
                    "Copy every byte into an independent volume (a new clone lineage)");
  create->add_flag("--encrypted", o.encrypted,
                   "Encrypt its pages (AES-256-GCM) under --kms-key or the default key");
  const std::string kms_help = "KMS key: key id, ARN, alias/NAME or NAME";
  create->add_option("--kms-key", o.kms_key, kms_help + " (implies --encrypted)")->type_name("KEY");
  clone
      ->add_option("--kms-key", o.kms_key,
                   kms_help + "; default: the source's (an encrypted source only)")
      ->type_name("KEY");
  restore
      ->add_option("--kms-key", o.kms_key,
                   kms_help + "; default: the snapshot's (an encrypted snapshot only)")
      ->type_name("KEY");
  CLI::App* to_time = Leaf(volume, "restore-to-time",
                           "Create a volume from another as of a point in time (copy-on-write)", o,
                           "volume.restore_to_time");
  to_time->add_option("SOURCE_VOLUME", o.source, "The volume to restore (name or ARN)")->required();
  to_time->add_option("NEW_VOLUME", o.name, "The new volume's name")->required();
  DefineRestoreTimeOptions(*to_time, o.backups);
  to_time
      ->add_option("--kms-key", o.kms_key,
                   kms_help + "; default: the source's (an encrypted source only)")
      ->type_name("KEY");
  for (CLI::App* made : {create, clone, restore, to_time}) {
    AddTagOption(made, o, "A tag of the new volume");
  }
  for (CLI::App* from : {clone, restore}) {
    from->add_flag("--copy-tags", o.copy_tags,
                   "Give the new volume the source's tags (your own source only); --tag "
                   "overrides copied ones");
  }
  CLI::App* rekey = Leaf(volume, "rekey", "Re-wrap an encrypted volume's data keys under a key", o,
                         "volume.rekey");
  rekey->add_option("NAME", o.name, "Volume name or ARN")->required();
  rekey->add_option("--kms-key", o.kms_key, kms_help)->required()->type_name("KEY");
}

void DefineKeyCommands(CLI::App& app, CliOptions& o) {
  CLI::App* key = app.add_subcommand("key", "Manage the store's KMS keys");
  key->require_subcommand(1);
  CLI::App* create = Leaf(key, "create", "Create a KMS key", o, "key.create");
  create->add_option("--alias", o.alias, "An alias for the key (letters, digits, - and _)")
      ->type_name("NAME");
  create->add_option("--description", o.description, "A description")->type_name("TEXT");
  create
      ->add_option("--key-spec", o.key_spec,
                   "SYMMETRIC_DEFAULT (default: wraps volume data keys), or RSA_3072 or X25519: "
                   "a key pair that snapshot exports can be sealed for")
      ->check(CLI::IsMember({"SYMMETRIC_DEFAULT", "RSA_3072", "X25519", "ECC_X25519"}))
      ->type_name("SPEC");
  AddTagOption(create, o, "A tag of the key");
  Leaf(key, "list", "List the KMS keys", o, "key.list");
  auto with_key = [&](CLI::App* sub) {
    sub->add_option("KEY", o.key, "Key id, ARN, alias/NAME or NAME")->required();
    return sub;
  };
  with_key(Leaf(key, "show", "Describe a KMS key", o, "key.show"));
  with_key(Leaf(key, "get-public-key", "Print (or save) the public key of an RSA_3072/X25519 key",
                o, "key.get_public_key"))
      ->add_option("--out", o.public_key_out,
                   "Write the PEM to this new file (mode 0644) instead of printing it")
      ->type_name("FILE.pem");
  CLI::App* policy = key->add_subcommand("policy", "Read or replace a key's policy");
  policy->require_subcommand(1);
  with_key(Leaf(policy, "get", "Print the key's policy document", o, "key.policy_get"));
  CLI::App* put = with_key(Leaf(policy, "put", "Replace the key's policy", o, "key.policy_put"));
  auto* text = put->add_option("--policy", o.policy,
                               "Policy JSON: {\"accounts\": {\"ACCOUNT\": [\"Decrypt\", ...]}}")
                   ->type_name("JSON");
  auto* file = put->add_option("--policy-file", o.policy_file, "Read the policy from a file")
                   ->type_name("PATH");
  text->excludes(file);
  with_key(Leaf(key, "disable", "Disable a key: its volumes stop reading and writing", o,
                "key.disable"));
  with_key(Leaf(key, "enable", "Enable a disabled key", o, "key.enable"));
  with_key(Leaf(key, "schedule-deletion", "Delete the key after a waiting period", o,
                "key.schedule_deletion"))
      ->add_option("--days", o.days, "Waiting period, 7 to 30 days")
      ->check(CLI::Range(7, 30))
      ->capture_default_str();
  with_key(Leaf(key, "cancel-deletion", "Cancel a scheduled deletion (the key stays disabled)", o,
                "key.cancel_deletion"));
  with_key(Leaf(key, "rotate", "Add a new version of the key for new data keys", o, "key.rotate"));
}

void DefineSnapshotCommands(CLI::App& app, CliOptions& o) {
  CLI::App* snapshot = app.add_subcommand("snapshot", "Take, inspect and delete snapshots");
  snapshot->require_subcommand(1);
  CLI::App* create =
      Leaf(snapshot, "create", "Take a point-in-time snapshot of a volume", o, "snapshot.create");
  create->add_option("VOLUME", o.volume, "The volume to snapshot (name or ARN)")->required();
  create->add_option("SNAPSHOT", o.snapshot, "The snapshot's name")->required();
  AddTagOption(create, o, "A tag");
  CLI::App* list = Leaf(snapshot, "list", "List snapshots", o, "snapshot.list");
  o.volume_opt = list->add_option("--volume", o.volume, "Only the snapshots of this volume")
                     ->type_name("VOLUME");
  list->add_flag("--include-shared", o.include_shared,
                 "Also other accounts' snapshots shared with you (type shared)");
  list->add_flag("--include-public", o.include_public,
                 "Also other accounts' public snapshots (type public)");
  Leaf(snapshot, "show", "Describe a snapshot (also: describe)", o, "snapshot.show")
      ->alias("describe")
      ->add_option("SNAPSHOT", o.snapshot, "Snapshot name or ARN")
      ->required();
  CLI::App* copy = Leaf(snapshot, "copy",
                        "Copy a snapshot of this region, or of another by its ARN, into a new "
                        "manual snapshot",
                        o, "snapshot.copy");
  copy->add_option("SOURCE", o.source,
                   "A snapshot name, or an ARN arn:clonefs:REGION:ACCOUNT:snapshot:NAME")
      ->required();
  copy->add_option("TARGET", o.target, "The copy's name")->required();
  copy->add_option("--kms-key", o.kms_key,
                   "Encrypt the copy under this KMS key (an encrypted source only; required "
                   "from another region)")
      ->type_name("KEY");
  copy->add_flag("--copy-tags", o.copy_tags, "Give the copy the source's tags");
  AddTagOption(copy, o, "A tag for the copy");
  copy->add_flag("--wait", o.wait, "Wait until the copy is available, showing its progress");
  Leaf(snapshot, "delete", "Delete a snapshot (the target of a copy: cancel the copy)", o,
       "snapshot.delete")
      ->add_option("SNAPSHOT", o.snapshot, "Snapshot name or ARN")
      ->required();
}

void DefineAccountCommands(CLI::App& app, CliOptions& o) {
  CLI::App* account =
      app.add_subcommand("account", "Accounts: who owns which volumes, snapshots and keys");
  account->require_subcommand(1);
  CLI::App* create = Leaf(account, "create", "Create an account for Unix users (store owner only)",
                          o, "account.create");
  create->add_option("ACCOUNT_ID", o.account_id, "12 digits, e.g. 012345678901")->required();
  create->add_option("--user", o.users, "A Unix user of the account (repeatable)")
      ->required()
      ->type_name("NAME")
      ->allow_extra_args(false);
  Leaf(account, "list", "List accounts (yours, unless you own the store)", o, "account.list");
  Leaf(account, "show", "Describe an account", o, "account.show")
      ->add_option("ACCOUNT_ID", o.account_id, "12 digits")
      ->required();
}

void DefineCommands(CLI::App& app, CliOptions& o) {
  app.fallthrough();  // global options may follow the subcommand
  app.require_subcommand(1);
  app.add_option("--store", o.store_dir,
                 "Store directory ($CLONEFS_HOME, else /var/lib/clonefs/local)")
      ->type_name("DIR");
  app.add_flag("--json", o.json, "Print the result (or error) as JSON");
  o.account_opt = app.add_option("--account", o.account,
                                 "Act as this account (12 digits; root only, for administration "
                                 "and tests)")
                      ->type_name("ID");
  app.add_option("--timeout", o.timeout_seconds, "Seconds to wait for the daemon's answer")
      ->check(CLI::PositiveNumber)
      ->type_name("SECONDS")
      ->capture_default_str();
  app.add_option("--key-file", o.key_file,
                 "Key file of the store's key store ($CLONEFS_KEY_FILE, else STORE.key); "
                 "unused when a daemon serves the store")
      ->type_name("PATH");
  app.add_option("--passphrase-file", o.passphrase_file,
                 "Unlock the key store with the passphrase in this file instead")
      ->type_name("PATH");
  Leaf(&app, "init", "Create a new, empty store", o, "init")
      ->add_option("--region", o.region, "Region name, e.g. us-east-1")
      ->type_name("NAME")
      ->capture_default_str();
  DefineVolumeCommands(app, o);
  DefineSnapshotCommands(app, o);
  DefineBackupOptions(app, o.backups);
  DefineKeyCommands(app, o);
  DefineAccountCommands(app, o);
  DefineTagCommands(app, o);
  DefineSharingCommands(
      app, o.sharing,
      [&o](CLI::App* parent, const std::string& name, const std::string& help,
           const std::string& command) { return Leaf(parent, name, help, o, command); });
  CLI::App* st = app.add_subcommand("store", "Inspect and maintain the store");
  st->require_subcommand(1);
  Leaf(st, "info", "Region, directory, account and format version", o, "store.info");
  Leaf(st, "usage", "Segment space: total, live and garbage", o, "store.usage");
  Leaf(st, "stats", "I/O counts, bytes and latencies, cache hit rate, GC progress", o,
       "store.stats");
  Leaf(st, "sync", "Make every acknowledged write durable", o, "store.sync");
  Leaf(&app, "gc", "Run one garbage-collection pass now", o, "store.gc");
}

void QuietLogging() {
  // Library logs go to stderr and only when they matter: stdout carries results (and --json).
  auto logger = spdlog::stderr_color_mt("clonectl");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace

std::string DefaultStoreDir() {
  const char* home = std::getenv("CLONEFS_HOME");
  if (home != nullptr && *home != '\0') return home;
  return "/var/lib/clonefs/local";
}

int RunClonectl(int argc, char** argv) {
  QuietLogging();
  CliOptions o;
  o.store_dir = DefaultStoreDir();
  CLI::App app("Manage clonefs volumes and stores.", "clonectl");
  DefineCommands(app, o);
  if (argc >= 2 && std::string(argv[1]) == kCompleteCommand) {
    for (const std::string& c : CompletionCandidates(app, {argv + 2, argv + argc})) {
      std::cout << c << '\n';
    }
    return kExitOk;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (o.store_dir.empty()) {
    std::cerr << "clonectl: --store must not be empty\n";
    return kExitUsage;
  }
  o.store_dir = NormalizeStoreDir(o.store_dir);

  if (o.command == "init") return Report(o, Init(o));
  json args;
  json bad = BuildArgs(o, &args);
  if (!bad.is_null()) return Report(o, bad);
  json response = Execute(o, MakeRequest(o.command, std::move(args)));
  if (o.command == "snapshot.copy" && o.wait) response = WaitForCopy(o, std::move(response));
  if (o.command == "key.get_public_key" && !o.public_key_out.empty()) {
    response = SavePublicKey(o, std::move(response));
  }
  return Report(o, response);
}

}  // namespace clonefs::control
