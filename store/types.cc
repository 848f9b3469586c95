// Identifier and option validation shared by every entry point (CLI, socket, FUSE create), and
// the names of the catalog's enums (as stored in catalog records and shown in JSON).
#include "store/types.h"

#include <algorithm>
#include <cctype>

namespace clonefs::store {

Status ValidateName(std::string_view name, std::string_view kind) {
  const std::string quoted = std::string(kind) + " name '" + std::string(name) + "'";
  if (name.empty() || name.size() > 63) {
    return Status::InvalidArgument(quoted + " must be 1 to 63 characters long");
  }
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) {
    return Status::InvalidArgument(quoted + " must start with a letter");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (!(std::isalnum(c) && c < 0x80) && c != '-') {
      return Status::InvalidArgument(quoted + " may contain only letters, digits and hyphens");
    }
    if (c == '-' && i > 0 && name[i - 1] == '-') {
      return Status::InvalidArgument(quoted + " must not contain two consecutive hyphens");
    }
  }
  if (name.back() == '-') return Status::InvalidArgument(quoted + " must not end with a hyphen");
  return Status::OK();
}

bool IsAccountId(std::string_view id) {
  return id.size() == 12 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status ValidateStoreName(std::string_view name, std::string_view kind) {
  if (name.size() > 13 && name[12] == '.' && IsAccountId(name.substr(0, 12))) {
    return ValidateName(name.substr(13), kind);
  }
  return ValidateName(name, kind);
}

namespace {

bool HasAccountPrefix(std::string_view name) {
  return name.size() > 13 && name[12] == '.' && IsAccountId(name.substr(0, 12));
}

}  // namespace

Status ValidateAutomatedSnapshotStoreName(std::string_view name) {
  std::string_view typed = HasAccountPrefix(name) ? name.substr(13) : name;
  if (IsAutomatedSnapshotName(typed)) return Status::OK();
  std::string message = "'";
  message += typed;
  message += "' is not an automated snapshot's name (";
  message += kAutomatedSnapshotPrefix;
  message += "VOLUME-YYYY-MM-DD-HH-MM)";
  return Status::InvalidArgument(message);
}

std::string_view AccountOfStoreName(std::string_view name) {
  // ACCOUNT.auto:NAME (an automated snapshot) or PREFIX:ACCOUNT.NAME (a hidden volume).
  if (HasAccountPrefix(name)) return name.substr(0, 12);
  const size_t colon = name.rfind(':');
  if (colon != std::string_view::npos) name = name.substr(colon + 1);
  if (HasAccountPrefix(name)) return name.substr(0, 12);
  return {};
}

std::string_view CompressionName(Compression c) {
  return c == Compression::kZstd ? "zstd" : "none";
}

Result<Compression> ParseCompression(std::string_view name) {
  if (name == "none") return Compression::kNone;
  if (name == "zstd") return Compression::kZstd;
  return Status::InvalidArgument("compression must be 'none' or 'zstd', not '" + std::string(name) +
                                 "'");
}

Status ValidateVolumeSize(uint64_t size) {
  if (size % 512 != 0) {
    return Status::InvalidArgument("volume size " + std::to_string(size) +
                                   " is not a multiple of 512 bytes");
  }
  if (size > kMaxVolumeBytes) {
    return Status::InvalidArgument("volume size " + std::to_string(size) +
                                   " exceeds the maximum of 1 PiB");
  }
  return Status::OK();
}

Status ValidatePageSize(uint32_t ps) {
  if (ps < kMinPageSize || ps > kMaxPageSize || (ps & (ps - 1)) != 0) {
    return Status::InvalidArgument("page size " + std::to_string(ps) +
                                   " must be a power of two from 4096 to 65536 bytes");
  }
  return Status::OK();
}

namespace {

// The name of enum value `v` in `names` (indexed by value), and back.
template <typename E, size_t N>
std::string_view NameOf(E v, const std::string_view (&names)[N]) {
  const size_t i = static_cast<size_t>(v);
  return i < N ? names[i] : "unknown";
}
template <typename E, size_t N>
Result<E> Parse(std::string_view name, const std::string_view (&names)[N], const char* what) {
  std::string allowed;
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
    allowed += (i == 0 ? "'" : i + 1 == N ? " or '" : ", '") + std::string(names[i]) + "'";
  }
  return Status::InvalidArgument(std::string(what) + " must be " + allowed + ", not '" +
                                 std::string(name) + "'");
}

constexpr std::string_view kVolumeStatusNames[] = {"available", "deleted", "importing"};
constexpr std::string_view kSnapshotTypeNames[] = {"manual", "automated"};
constexpr std::string_view kSnapshotStatusNames[] = {"available", "creating", "deleted"};

}  // namespace

std::string_view VolumeStatusName(VolumeStatus s) { return NameOf(s, kVolumeStatusNames); }
Result<VolumeStatus> ParseVolumeStatus(std::string_view name) {
  return Parse<VolumeStatus>(name, kVolumeStatusNames, "volume status");
}
std::string_view SnapshotTypeName(SnapshotType t) { return NameOf(t, kSnapshotTypeNames); }
Result<SnapshotType> ParseSnapshotType(std::string_view name) {
  return Parse<SnapshotType>(name, kSnapshotTypeNames, "snapshot type");
}
std::string_view SnapshotStatusName(SnapshotStatus s) { return NameOf(s, kSnapshotStatusNames); }
Result<SnapshotStatus> ParseSnapshotStatus(std::string_view name) {
  return Parse<SnapshotStatus>(name, kSnapshotStatusNames, "snapshot status");
}

}  // namespace clonefs::store
