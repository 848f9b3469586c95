// KeyStore's tags: kept in each key's record of keystore.json, under the document's MAC.
#include "base/tags.h"
#include "crypto/key_store.h"
#include "crypto/key_store_internal.h"

namespace clonefs::crypto {

using internal::Access;
using internal::KeyRecord;

Status KeyStore::TagKey(const std::string& account, std::string_view ref,
                        const tags::TagList& tags) {
  std::lock_guard<std::mutex> lock(mu_);
  return UpdateKey(account, ref, Access::kOwner, [&](KeyRecord& key) -> Status {
    CLONEFS_ASSIGN_OR_RETURN(key.tags, tags::AddTags(key.tags, tags));
    return Status::OK();
  });
}

Status KeyStore::UntagKey(const std::string& account, std::string_view ref,
                          const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  return UpdateKey(account, ref, Access::kOwner, [&](KeyRecord& key) -> Status {
    CLONEFS_ASSIGN_OR_RETURN(key.tags, tags::RemoveTags(key.tags, keys));
    return Status::OK();
  });
}

Result<tags::TagList> KeyStore::ListKeyTags(const std::string& account, std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  CLONEFS_ASSIGN_OR_RETURN(size_t i, FindAccessible(account, ref, Access::kOwner));
  return state_->records[i].tags;
}

}  // namespace clonefs::crypto
