// Identifier and option validation shared by every entry point (CLI, socket, FUSE create).
#include <cctype>

#include "store/types.h"

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

std::string_view CompressionName(Compression c) {
  return c == Compression::kZstd ? "zstd" : "none";
}

Result<Compression> ParseCompression(std::string_view name) {
  if (name == "none") return Compression::kNone;
  if (name == "zstd") return Compression::kZstd;
  return Status::InvalidArgument("compression must be 'none' or 'zstd', not '" +
                                 std::string(name) + "'");
}

}  // namespace clonefs::store
