// libFuzzer target for the control protocol: arbitrary bytes as one request line through the
// Dispatcher, as the daemon's socket hands them over (JSON parsing, request shape, every
// command's argument checks, names, ARNs, sizes, tags, policies), against a real store in
// /dev/shm holding a volume "v" and a snapshot "s". Every answer must be a well-formed response.
// Requests that would run long by design (full copies, exports and imports, key pair
// generation) are left out so that a timeout means a hang. The store starts afresh every 512
// inputs. Built by tools/fuzz.sh with clang; nothing may crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "store/store.h"
#include "tools/control/commands.h"

namespace {

using nlohmann::json;
using namespace clonefs;

struct Fixture {
  std::string dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<control::Dispatcher> dispatcher;
  int inputs = 0;

  void Reset() {
    dispatcher.reset();
    store.reset();
    if (dir.empty()) dir = "/dev/shm/clonefs-control-fuzz-" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    if (!store::Store::Create(dir, "us-east-1", Env::Default()).ok()) std::abort();
    store::StoreOptions o;
    o.background_threads = false;
    o.cache_bytes = 16ull << 20;
    auto s = store::Store::Open(dir, o);
    if (!s.ok()) std::abort();
    store = std::move(s).value();
    store::VolumeOptions v;
    v.size_bytes = 1 << 20;
    if (!store->CreateVolume("v", v).ok() || !store->CreateSnapshot("v", "s", {}).ok()) {
      std::abort();
    }
    dispatcher = std::make_unique<control::Dispatcher>(store.get());
  }
};

bool RunsLong(const json& request) {
  if (!request.is_object()) return false;
  const std::string command = request.value("command", json()).is_string()
                                  ? request["command"].get<std::string>()
                                  : std::string();
  if (command == "snapshot.export" || command == "snapshot.import" || command == "key.create") {
    return true;
  }
  const json& args = request.contains("args") ? request["args"] : json();
  return args.is_object() && args.contains("full_copy");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Never destroyed: at exit RocksDB's own statics may already be gone.
  static Fixture& f = *new Fixture;
  if (f.inputs++ % 512 == 0) f.Reset();
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  if (RunsLong(json::parse(line, nullptr, /*allow_exceptions=*/false))) return 0;
  const json response = f.dispatcher->HandleLine(line, control::Caller(0, 1));
  const bool ok = response.value("ok", json()).is_boolean() && response["ok"].get<bool>();
  if (!response.is_object() || !response.contains("ok") ||
      (!ok &&
       !(response.contains("error") && response["error"].value("Code", json()).is_string()))) {
    std::abort();  // every answer is {"ok": true, "result"} or {"ok": false, "error": {"Code"}}
  }
  return 0;
}
