// Volume rename: one catalog record rewritten and the name index moved, as `mv` moves a name.
#include <spdlog/spdlog.h>

#include "base/error_names.h"
#include "store/engine/store_impl.h"

namespace clonefs::store {

Result<VolumeInfo> StoreImpl::RenameVolume(const std::string& name, const std::string& new_name) {
  CLONEFS_RETURN_IF_ERROR(ValidateStoreName(new_name, "volume"));
  if (AccountOfStoreName(name) != AccountOfStoreName(new_name)) {
    return Status::InvalidArgument("volume '" + name + "' cannot be renamed to '" + new_name +
                                   "': a rename keeps the volume in its account");
  }
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(name));
  const VolumeInfo before = InfoOf(*vol);
  if (new_name == name) return before;
  VolumeInfo updated;
  {
    // Exclusive: handle I/O reads info.name in its messages; every other writer of the
    // record (resize, growth, snapshot, clone, rekey, tags, delete) holds it too.
    std::unique_lock<std::shared_mutex> io(vol->io_mu);
    std::lock_guard<std::mutex> l(catalog_mu_);
    if (vol->deleted) return errors::VolumeNotFound(name);
    if (catalog_.Volume(new_name) != nullptr) return errors::VolumeAlreadyExists(new_name);
    updated = vol->info;
    updated.name = new_name;
    CLONEFS_RETURN_IF_ERROR(PersistVolume(updated));
    vol->info.name = new_name;
    catalog_.RenameVolume(name, new_name);
  }
  spdlog::info("volume {} (id {}) renamed to {}", name, updated.id, new_name);
  Notify(before, /*deleted=*/false);  // the mount forgets the old name
  Notify(updated, /*deleted=*/false);
  return updated;
}

}  // namespace clonefs::store
