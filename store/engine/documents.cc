// Documents (Store::LoadDocument/SaveDocument): opaque blobs kept under their own MetaDb key
// prefix (keys::DocumentKey), so that they travel with the rest of the store's metadata.
#include "store/engine/store_impl.h"

namespace clonefs::store {
namespace {

constexpr size_t kMaxDocumentName = 64;

Status ValidateDocumentName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxDocumentName;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.');
  }
  if (ok) return Status::OK();
  return Status::InvalidArgument("document name '" + std::string(name) +
                                 "' must be 1 to 64 letters, digits, '-', '_' or '.'");
}

}  // namespace

Result<std::string> StoreImpl::LoadDocument(std::string_view name) {
  CLONEFS_RETURN_IF_ERROR(ValidateDocumentName(name));
  CLONEFS_ASSIGN_OR_RETURN(std::optional<std::string> bytes, db_->Get(keys::DocumentKey(name)));
  if (!bytes.has_value()) return Status::NotFound("document '" + std::string(name) + "'");
  return std::move(*bytes);
}

// One synced single-key batch: atomic, and durable (with every earlier write) when it returns.
Status StoreImpl::SaveDocument(std::string_view name, std::string_view bytes) {
  CLONEFS_RETURN_IF_ERROR(ValidateDocumentName(name));
  MetaBatch b;
  b.Put(keys::DocumentKey(name), std::string(bytes));
  return db_->Write(b, /*sync=*/true);
}

}  // namespace clonefs::store
