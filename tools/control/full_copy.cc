#include "tools/control/full_copy.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "tools/control/errors.h"

namespace clonefs::control {
namespace {

bool AllZeros(const char* p, size_t n) {
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

// Copies every non-zero chunk of `source` into `target` and syncs it.
Status CopyChunks(store::VolumeHandle& source, store::VolumeHandle& target, uint64_t size,
                  const ProgressFn& progress, const CancelledFn& cancelled) {
  using Clock = std::chrono::steady_clock;
  std::unique_ptr<char[]> buf(new char[kCopyChunkBytes]);
  if (progress) progress(0, size);
  Clock::time_point last_report = Clock::now();
  for (uint64_t offset = 0; offset < size;) {
    if (cancelled && cancelled()) {
      return NamedError(errors::kOperationCancelled, Status::Code::kIOError,
                        "the full copy to '" + target.info().name +
                            "' was cancelled; the partial volume was deleted");
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kCopyChunkBytes, size - offset));
    CLONEFS_RETURN_IF_ERROR(source.Read(offset, n, buf.get()));
    if (!AllZeros(buf.get(), n)) {
      CLONEFS_RETURN_IF_ERROR(target.Write(offset, std::string_view(buf.get(), n)));
    }
    offset += n;
    if (progress && offset < size && Clock::now() - last_report >= kProgressInterval) {
      progress(offset, size);
      last_report = Clock::now();
    }
  }
  CLONEFS_RETURN_IF_ERROR(target.Sync());
  if (progress) progress(size, size);
  return Status::OK();
}

}  // namespace

Result<store::VolumeInfo> FullCopy(store::Store* store, store::VolumeHandle& source,
                                   const std::string& name, const std::string& kms_key,
                                   const store::Tags& tags, const ProgressFn& progress,
                                   const CancelledFn& cancelled) {
  const uint64_t size = source.size();
  store::VolumeOptions options;
  options.size_bytes = size;
  options.page_size = source.info().page_size;
  options.compression = source.info().compression;
  // As for a copy-on-write clone: encrypted stays encrypted, unencrypted cannot become so.
  if (!source.info().encrypted && !kms_key.empty()) {
    return NamedError("InvalidParameterCombination", Status::Code::kInvalidArgument,
                      "'" + source.info().name +
                          "' is not encrypted, so a copy of it cannot be encrypted either");
  }
  options.encrypted = source.info().encrypted;
  options.kms_key = kms_key.empty() ? source.info().kms_key_id : kms_key;
  options.tags = tags;
  CLONEFS_RETURN_IF_ERROR(store->CreateVolume(name, options).status());
  Status s;
  {
    auto target = store->OpenVolume(name);
    s = target.ok() ? CopyChunks(source, **target, size, progress, cancelled) : target.status();
  }  // the handle must be closed before the volume can be deleted
  if (!s.ok()) {
    Status undo = store->DeleteVolume(name);
    if (!undo.ok()) {
      spdlog::error("full copy to {} failed ({}) and its partial volume could not be deleted: {}",
                    name, s.ToString(), undo.ToString());
    }
    return s;
  }
  CLONEFS_ASSIGN_OR_RETURN(store::VolumeInfo copied, store->GetVolume(name));
  spdlog::info("volume {} is a full copy of {} ({} bytes)", name, source.info().name, size);
  return copied;
}

}  // namespace clonefs::control
