#include "tools/control/export_cli.h"

#include <fcntl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "base/env.h"
#include "tools/control/cli.h"
#include "tools/control/cli_output.h"
#include "tools/control/errors.h"
#include "tools/control/json_views.h"
#include "tools/control/runner.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

struct ExportCliOptions {
  std::string command;  // "snapshot.export" | "snapshot.import"
  std::string store_dir;
  std::string key_file;
  std::string passphrase_file;
  double timeout_seconds = 300;
  bool json = false;
  std::string snapshot;   // export: the snapshot; import: the new snapshot's name
  std::string since;      // export --since
  std::string recipient;  // export --recipient PEM file
  bool compress = false;  // export --compress
  std::string to;         // export --to FILE|-
  std::string from;       // import --from FILE|-
  std::string kms_key;    // import --kms-key
  std::string base;       // import --base
  std::vector<std::string> tags;
};

Result<json> ParseTags(const std::vector<std::string>& tags) {
  json out = json::array();
  for (const std::string& t : tags) {
    const size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("invalid --tag '" + t + "': use KEY=VALUE");
    }
    out.push_back({{"Key", t.substr(0, eq)}, {"Value", t.substr(eq + 1)}});
  }
  return out;
}

int Fail(const ExportCliOptions& o, const ApiError& e) {
  std::cerr << "clonefs-export: " << e.code << ": " << e.message << '\n';
  if (o.json) std::cout << JsonToString(ErrorToJson(e), 2) << '\n';
  return kExitFailed;
}

int Fail(const ExportCliOptions& o, const Status& s) {
  return Fail(o, ToApiError(s, "snapshot", o.snapshot));
}

// Where an export goes. A regular file is written under a temporary name beside it and
// renamed over it only once the stream is complete and synced, so that a failed export never
// leaves a stream cut short nor destroys an older one of that name. Anything else (stdout, a
// pipe, a character device such as /dev/null) is written as it is.
class OutputFile {
 public:
  static Result<OutputFile> Open(const std::string& path) {
    if (path == "-") {
      if (::isatty(STDOUT_FILENO) == 1) {
        return errors::InvalidParameterValue(
            "refusing to write an export stream to a terminal; use --to FILE or a pipe");
      }
      return OutputFile(STDOUT_FILENO, "", "");
    }
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      if (S_ISDIR(st.st_mode))
        return errors::InvalidParameterValue("--to " + path + " is a directory");
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        return errors::InvalidParameterValue("cannot open --to " + path + ": " +
                                             std::strerror(errno));
      return OutputFile(fd, "", "");
    }
    const std::string temp = path + ".partial-" + std::to_string(::getpid());
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      return errors::InvalidParameterValue("cannot create " + temp + " for --to " + path + ": " +
                                           std::strerror(errno));
    }
    return OutputFile(fd, path, temp);
  }
  OutputFile(OutputFile&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)),
        path_(std::move(other.path_)),
        temp_(std::exchange(other.temp_, "")) {}
  ~OutputFile() {
    if (fd_ > STDOUT_FILENO) ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());  // not finished: the old file stays as it was
  }
  int fd() const { return fd_; }
  // A file export: makes the stream durable (ready to be a backup) and gives it its name.
  Status Finish() {
    if (temp_.empty()) return Status::OK();
    if (::fsync(fd_) != 0) return Status::FromErrno(errno, "fsync " + temp_);
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      return Status::FromErrno(errno, "rename " + temp_ + " to " + path_);
    }
    temp_.clear();
    const size_t slash = path_.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
    return Env::Default()->SyncDir(dir);
  }

 private:
  OutputFile(int fd, std::string path, std::string temp)
      : fd_(fd), path_(std::move(path)), temp_(std::move(temp)) {}
  int fd_;
  std::string path_;
  std::string temp_;  // the file being written, until Finish() renames it
};

json Run(const ExportCliOptions& o, json args, int fd) {
  RunOptions r;
  r.store_dir = o.store_dir;
  r.key_file = KeyFilePath(o.key_file, o.store_dir);
  r.passphrase_file = o.passphrase_file;
  r.timeout_seconds = o.timeout_seconds;
  r.interruptible = true;
  r.fds = {fd};
  return RunRequest(r, MakeRequest(o.command, std::move(args)));
}

int Export(const ExportCliOptions& o) {
  json args = {{"name", o.snapshot}};
  if (!o.since.empty()) args["since"] = o.since;
  if (o.compress) args["codec"] = "zstd";
  if (!o.recipient.empty()) {
    auto pem = ReadFileToString(Env::Default(), o.recipient);
    if (!pem.ok()) {
      return Fail(o, errors::InvalidParameterValue("cannot read --recipient " + o.recipient + ": " +
                                                   pem.status().message()));
    }
    args["recipient_pem"] = *pem;
  }
  auto out = OutputFile::Open(o.to);
  if (!out.ok()) return Fail(o, out.status());
  json response = Run(o, std::move(args), out->fd());
  if (response.value("ok", false)) {
    Status s = out->Finish();
    if (!s.ok()) return Fail(o, s);
    const json& result = response["result"];
    if (o.json) {
      // stdout may be the stream itself: the summary goes to stderr then.
      (o.to == "-" ? std::cerr : std::cout) << JsonToString(result, 2) << '\n';
    } else {
      std::cerr << "exported " << result.value("SourceSnapshotArn", "") << ": "
                << result.value("Pages", 0) << " pages, " << result.value("ZeroPages", 0)
                << " zero pages" << (result.value("Incremental", false) ? " (incremental)" : "")
                << '\n';
    }
    return kExitOk;
  }
  return Fail(o, ErrorFromJson(response.value("error", json())));
}

int Import(const ExportCliOptions& o) {
  json args = {{"name", o.snapshot}};
  if (!o.base.empty()) args["base"] = o.base;
  if (!o.kms_key.empty()) args["kms_key"] = o.kms_key;
  auto tags = ParseTags(o.tags);
  if (!tags.ok()) return Fail(o, tags.status());
  if (!tags->empty()) args["tags"] = *tags;
  int fd = STDIN_FILENO;
  if (o.from != "-") {
    fd = ::open(o.from.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Fail(o, errors::InvalidParameterValue("cannot open --from " + o.from + ": " +
                                                   std::strerror(errno)));
    }
  }
  json response = Run(o, std::move(args), fd);
  if (fd != STDIN_FILENO) ::close(fd);
  if (!response.value("ok", false)) return Fail(o, ErrorFromJson(response.value("error", json())));
  const json& result = response["result"];
  if (o.json) {
    std::cout << JsonToString(result, 2) << '\n';
  } else {
    PrintHuman(std::cout, "snapshot.show", result);
  }
  return kExitOk;
}

void Define(CLI::App& app, ExportCliOptions& o) {
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--store", o.store_dir,
                 "Store directory ($CLONEFS_HOME, else /var/lib/clonefs/local)")
      ->type_name("DIR");
  app.add_flag("--json", o.json, "Print the result (or error) as JSON");
  app.add_option("--timeout", o.timeout_seconds, "Seconds the daemon may stay silent")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--key-file", o.key_file, "Key file of the store's key store (direct mode)")
      ->type_name("PATH");
  app.add_option("--passphrase-file", o.passphrase_file, "Passphrase file instead (direct mode)")
      ->type_name("PATH");

  CLI::App* ex = app.add_subcommand("export", "Write a snapshot as an export stream");
  ex->callback([&o] { o.command = "snapshot.export"; });
  ex->add_option("SNAPSHOT", o.snapshot, "The snapshot to export")->required();
  ex->add_option("--since", o.since, "Only what changed since this older snapshot of its lineage")
      ->type_name("BASE_SNAPSHOT");
  ex->add_option("--recipient", o.recipient,
                 "Seal the stream for this public key (PEM, e.g. from clonectl key "
                 "get-public-key); required for an encrypted snapshot")
      ->type_name("PEM");
  ex->add_flag("--compress", o.compress, "Compress chunks with zstd");
  ex->add_option("--to", o.to, "Output file, or - for stdout")->required()->type_name("FILE|-");

  CLI::App* im = app.add_subcommand("import", "Read an export stream into a new snapshot");
  im->callback([&o] { o.command = "snapshot.import"; });
  im->add_option("TARGET", o.snapshot, "The new snapshot's name")->required();
  im->add_option("--from", o.from, "Input file, or - for stdin")->required()->type_name("FILE|-");
  im->add_option("--kms-key", o.kms_key, "Encrypt the new snapshot under this KMS key")
      ->type_name("KEY");
  im->add_option("--base", o.base, "For an incremental stream: the snapshot it applies to")
      ->type_name("SNAPSHOT");
  im->add_option("--tag", o.tags, "A tag, KEY=VALUE (repeatable)")->type_name("KEY=VALUE");
}

}  // namespace

int RunCloneFsExport(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("clonefs-export");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  ::signal(SIGPIPE, SIG_IGN);  // a reader that goes away is an error, not a death
  ExportCliOptions o;
  o.store_dir = DefaultStoreDir();
  CLI::App app("Export snapshots as streams and import them again.", "clonefs-export");
  Define(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  o.store_dir = NormalizeStoreDir(o.store_dir);
  return o.command == "snapshot.export" ? Export(o) : Import(o);
}

}  // namespace clonefs::control
