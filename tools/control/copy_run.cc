#include "tools/control/copy_run.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/tags.h"
#include "crypto/recipient.h"
#include "store/access/arn.h"
#include "store/access/store_names.h"
#include "store/keys/key_service.h"
#include "store/keys/root_secret.h"
#include "tools/control/client.h"
#include "tools/control/commands.h"
#include "tools/control/errors.h"
#include "tools/control/json_views.h"
#include "tools/control/regions.h"
#include "tools/control/server.h"
#include "tools/export/byte_io.h"
#include "tools/export/exporter.h"
#include "tools/export/importer.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

constexpr uint64_t kCopyPages = 256;  // pages per read and write of a local copy
constexpr auto kRemoteTimeout = std::chrono::seconds(120);

Status KeyNotAccessible(const std::string& key, const Status& why) {
  return errors::Named(
      errors::kKmsKeyNotAccessible,
      Status::IOError("KMS key '" + key + "' cannot be used for the copy: " + why.message()));
}

// The failure an error response of another region's daemon describes.
Status FromResponse(const json& response) {
  ApiError e = ErrorFromJson(response.value("error", json()));
  Status::Code code = Status::Code::kIOError;
  if (e.code.find("NotFound") != std::string::npos) code = Status::Code::kNotFound;
  if (e.code.find("State") != std::string::npos) code = Status::Code::kInvalidState;
  if (e.code.find("Invalid") == 0 && code == Status::Code::kIOError) {
    code = Status::Code::kInvalidArgument;
  }
  return NamedError(e.code, code, e.message);
}

Result<store::SnapshotInfo> SnapshotFromJson(const json& j) {
  store::SnapshotInfo s;
  try {
    s.name = j.at("SnapshotIdentifier").get<std::string>();
    s.volume_name = j.value("VolumeIdentifier", "");
    s.size_bytes = j.at("SizeBytes").get<uint64_t>();
    s.page_size = j.at("PageSize").get<uint32_t>();
    s.encrypted = j.at("StorageEncrypted").get<bool>();
    if (j.value("Status", "") != "available") s.status = store::SnapshotStatus::kCreating;
    for (const json& t : j.value("TagList", json::array())) {
      s.tags.emplace_back(t.at("Key").get<std::string>(), t.at("Value").get<std::string>());
    }
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("malformed snapshot description: ") + e.what());
  }
  return s;
}

// The other region's store opened here, when no daemon serves it.
Result<std::unique_ptr<store::Store>> OpenRegionStore(const std::string& dir) {
  store::StoreOptions options;
  options.background_threads = false;
  options.cache_bytes = 64ull << 20;
  CLONEFS_ASSIGN_OR_RETURN(options.root_secret,
                           store::LoadRootSecret(dir, store::DefaultKeyFilePath(dir), ""));
  auto opened = store::Store::Open(dir, options);
  if (!opened.ok()) {
    return Status::IOError("cannot reach the store " + dir + " (no daemon answers on its socket " +
                           "and opening it failed: " + opened.status().message() + ")");
  }
  return opened;
}

Result<store::SnapshotInfo> DescribeRemote(const CopyPlan& plan) {
  auto client = ControlClient::Connect(ControlSocketPath(plan.source_dir));
  if (client.ok()) {
    CLONEFS_ASSIGN_OR_RETURN(
        json response, (*client)->Call(MakeRequest("snapshot.show", {{"name", plan.source_name}}),
                                       kRemoteTimeout));
    if (!response.value("ok", false)) return FromResponse(response);
    const json& result = response["result"];
    if (result.value("SnapshotArn", "") != plan.source_arn) {
      return errors::SnapshotNotFound(plan.source_arn);  // another account's: not ours to see
    }
    return SnapshotFromJson(result);
  }
  CLONEFS_ASSIGN_OR_RETURN(auto store, OpenRegionStore(plan.source_dir));
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s, store->GetSnapshot(plan.source_name));
  if (SnapshotArn(store->info(), s.name) != plan.source_arn) {
    return errors::SnapshotNotFound(plan.source_arn);
  }
  return s;
}

// Writes the source as an export stream sealed for `recipient_pem` into `fd`: the other
// region's daemon does it (the pipe passed to it), or this thread with the store opened here.
Status ExportRemote(const CopyPlan& plan, const std::string& recipient_pem, int fd,
                    const std::function<bool()>& cancelled) {
  auto client = ControlClient::Connect(ControlSocketPath(plan.source_dir));
  if (client.ok()) {
    json args = {{"name", plan.source_name}, {"recipient_pem", recipient_pem}};
    CLONEFS_ASSIGN_OR_RETURN(json response,
                             (*client)->Call(MakeRequest("snapshot.export", std::move(args)),
                                             kRemoteTimeout, [](uint64_t, uint64_t) {}, {fd}));
    return response.value("ok", false) ? Status::OK() : FromResponse(response);
  }
  CLONEFS_ASSIGN_OR_RETURN(auto store, OpenRegionStore(plan.source_dir));
  exportfmt::ExportOptions o;
  o.snapshot = plan.source_name;
  o.recipient_pem = recipient_pem;
  o.cancelled = cancelled;
  exportfmt::FdSink sink(fd, cancelled);
  return exportfmt::ExportSnapshot(*store, o, &sink).status();
}

Result<store::SnapshotInfo> CopyFromRegion(store::Store* store, const CopyPlan& plan,
                                           const std::function<void(uint64_t, uint64_t)>& progress,
                                           const std::function<bool()>& cancelled) {
  // A key pair for this one copy: the stream is sealed for it, the private half never leaves
  // this process.
  CLONEFS_ASSIGN_OR_RETURN(crypto::RecipientKeyPair pair,
                           crypto::GenerateRecipientKey(crypto::RecipientKind::kX25519));
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  // A whole chunk in flight at once: far fewer wake-ups than the default 64 KiB (best effort).
  ::fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  std::atomic<bool> stop{false};
  auto stopped = [&] { return stop.load() || (cancelled && cancelled()); };
  Status produced;
  std::thread producer([&] {
    produced = ExportRemote(plan, pair.public_pem, p[1], stopped);
    ::close(p[1]);
  });
  exportfmt::ImportOptions o;
  o.target = plan.request.target;
  o.kms_key = plan.kms_key;
  o.recipient_private_pem = &pair.private_pem;
  o.tags = plan.tags;
  o.volume_name = plan.source.volume_name;
  o.progress = progress;
  o.cancelled = cancelled;
  exportfmt::FdSource source(p[0], cancelled);
  Result<store::SnapshotInfo> imported = exportfmt::ImportSnapshot(*store, o, &source);
  stop = true;
  ::close(p[0]);  // a producer still writing gets EPIPE and stops
  producer.join();
  if (!imported.ok() && !produced.ok() && !(cancelled && cancelled())) {
    // The source side failed first (the stream then looks cut short): its reason is the one.
    return produced;
  }
  return imported;
}

Result<store::SnapshotInfo> CopyLocal(store::Store* store, const CopyPlan& plan,
                                      const std::function<void(uint64_t, uint64_t)>& progress,
                                      const std::function<bool()>& cancelled) {
  std::shared_ptr<store::SnapshotPin> pin = plan.pin;
  if (pin == nullptr) {
    CLONEFS_ASSIGN_OR_RETURN(pin, store->PinSnapshot(plan.source_name));
  }
  const store::SnapshotInfo& src = pin->info();
  uint64_t total = 0;
  CLONEFS_RETURN_IF_ERROR(store->VisitPinnedChanges(*pin, nullptr, [&](const store::PageRun& r) {
    total += r.count;
    return Status::OK();
  }));
  store::SnapshotImportOptions o;
  o.volume.size_bytes = src.size_bytes;
  o.volume.page_size = src.page_size;
  o.volume.compression = src.compression;
  o.volume.encrypted = src.encrypted;
  o.volume.kms_key = plan.kms_key;
  o.volume_name = src.volume_name;
  o.tags = plan.tags;
  o.source_snapshot_arn = plan.source_arn;
  CLONEFS_ASSIGN_OR_RETURN(exportfmt::SnapshotIdentity identity,
                           exportfmt::IdentityOf(store->info(), src));
  o.source_identity = exportfmt::IdentityText(identity);
  CLONEFS_ASSIGN_OR_RETURN(auto import, store->BeginSnapshotImport(plan.request.target, o));
  store::VolumeHandle& to = import->volume();
  const uint64_t ps = src.page_size;
  uint64_t done = 0;
  std::string buf;
  if (progress) progress(0, total);
  CLONEFS_RETURN_IF_ERROR(store->VisitPinnedChanges(*pin, nullptr, [&](const store::PageRun& r) {
    for (uint64_t i = 0; i < r.count;) {
      if (cancelled && cancelled()) {
        return NamedError(errors::kOperationCancelled, Status::Code::kIOError,
                          "the copy to '" + plan.request.target + "' was cancelled");
      }
      const uint64_t n = std::min(kCopyPages, r.count - i);
      buf.resize(n * ps);
      const uint64_t offset = (r.first + i) * ps;
      CLONEFS_RETURN_IF_ERROR(pin->reader().Read(offset, buf.size(), buf.data()));
      CLONEFS_RETURN_IF_ERROR(to.Write(offset, buf));
      i += n;
      done += n;
      if (progress) progress(done, total);
    }
    return Status::OK();
  }));
  return import->Commit();
}

}  // namespace

Result<CopyPlan> PlanCopy(store::Store* store, const CopyRequest& request,
                          const std::function<bool(const std::string&)>& target_taken) {
  CopyPlan plan;
  plan.request = request;
  CLONEFS_RETURN_IF_ERROR(store::ValidateStoreName(request.target, "snapshot"));
  CLONEFS_RETURN_IF_ERROR(tags::CheckTags(request.tags));
  if (store->GetSnapshot(request.target).ok() || (target_taken && target_taken(request.target))) {
    return errors::SnapshotAlreadyExists(request.target);
  }
  const store::StoreInfo& here = store->info();
  if (access::LooksLikeArn(request.source)) {
    CLONEFS_ASSIGN_OR_RETURN(access::Arn arn,
                             access::ParseArn(request.source, access::kSnapshotType));
    plan.source_arn = access::FormatArn(arn);
    plan.source_name = arn.name;
    if (arn.region != here.region) {
      CLONEFS_ASSIGN_OR_RETURN(RegionMap regions, LoadRegions());
      auto it = regions.dirs.find(arn.region);
      if (it == regions.dirs.end()) {
        return errors::InvalidParameterValue("region '" + arn.region + "' of " + plan.source_arn +
                                             " is not listed in " + regions.origin);
      }
      plan.source_region = arn.region;
      plan.source_dir = it->second;
    } else if (arn.account != here.account_id) {
      return errors::SnapshotNotFound(plan.source_arn);
    }
  } else {
    plan.source_name = request.source;
    plan.source_arn = SnapshotArn(here, request.source);
  }
  if (plan.source_region.empty()) {
    if (target_taken && target_taken(plan.source_name)) {
      return errors::InvalidSnapshotState("snapshot '" + plan.source_name +
                                          "' is still being copied; copy it once it is available");
    }
    CLONEFS_ASSIGN_OR_RETURN(plan.source, store->GetSnapshot(plan.source_name));
    CLONEFS_ASSIGN_OR_RETURN(plan.pin, store->PinSnapshot(plan.source_name));
  } else {
    CLONEFS_ASSIGN_OR_RETURN(plan.source, DescribeRemote(plan));
    if (plan.source.status != store::SnapshotStatus::kAvailable) {
      return errors::InvalidSnapshotState("snapshot " + plan.source_arn + " is not available");
    }
  }
  // Encryption: an encrypted source makes an encrypted copy; no encrypt-on-copy.
  if (!plan.source.encrypted && !request.kms_key.empty()) {
    return errors::InvalidParameterCombination(
        "snapshot " + plan.source_arn +
        " is not encrypted, and a copy cannot encrypt it: leave out --kms-key");
  }
  if (plan.source.encrypted) {
    if (request.kms_key.empty() && !plan.source_region.empty()) {
      return errors::InvalidParameterCombination(
          "snapshot " + plan.source_arn + " is encrypted: a copy from region " +
          plan.source_region + " needs --kms-key, a KMS key of region " + here.region);
    }
    const std::string key = request.kms_key.empty() ? plan.source.kms_key_id : request.kms_key;
    // As the target's owner names and may use keys (its aliases, keys shared with it).
    const std::string owner = access::SplitStoreName(here.account_id, request.target).account;
    auto usable = store->KeysOf(owner)->UsableKeyId(key);
    if (!usable.ok()) return KeyNotAccessible(key, usable.status());
    plan.kms_key = *usable;
  }
  // The given tags override copied ones with the same key.
  CLONEFS_ASSIGN_OR_RETURN(
      plan.tags, tags::AddTags(request.copy_tags ? plan.source.tags : store::Tags{}, request.tags));
  return plan;
}

Result<store::SnapshotInfo> ExecuteCopy(store::Store* store, const CopyPlan& plan,
                                        const std::function<void(uint64_t, uint64_t)>& progress,
                                        const std::function<bool()>& cancelled) {
  Result<store::SnapshotInfo> copied = plan.source_region.empty()
                                           ? CopyLocal(store, plan, progress, cancelled)
                                           : CopyFromRegion(store, plan, progress, cancelled);
  if (copied.ok()) {
    spdlog::info("snapshot {} copied from {}", plan.request.target, plan.source_arn);
  } else {
    spdlog::warn("copy of {} to {} failed: {}", plan.source_arn, plan.request.target,
                 copied.status().ToString());
  }
  return copied;
}

}  // namespace clonefs::control
